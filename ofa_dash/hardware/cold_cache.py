"""Evicting the core's private caches before a layer run, so a table layer is timed the way a subnet meets it.

A layer timed alone in a loop finds its weights in L1/L2 from the run
before; inside a whole subnet they were last touched a full run ago, and the
rest of the subnet's weights and activations (megabytes for a cifar10
subnet, against a 1 MiB L2 here) have passed through the core since. Under
load on this machine that difference was the largest error left in the
OpenVINO table: whole subnets ranked more by their number of layers than by
the layers' summed times (docs/notes/devices.md). Writing a buffer a few
times the L2 size before each timed run (outside the timing) leaves the
layer's data in the shared L3 at best, as in the subnet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_L2_BYTES = 1 << 20
L2_MULTIPLE = 4  # write this many times the L2 size: enough to push every line of it out


def l2_bytes(sysfs: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """Size of the first CPU's L2 cache from Linux sysfs (``index*/level == 2``), or 1 MiB where it is not there."""
    try:
        for index in sorted(Path(sysfs).glob("index*")):
            if (index / "level").read_text().strip() == "2":
                text = (index / "size").read_text().strip().upper()
                units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
                return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)
    except (OSError, ValueError):
        pass
    return DEFAULT_L2_BYTES


class CacheEvictor:
    """A callable that writes ``L2_MULTIPLE`` times the L2 size of memory (a numpy buffer kept between calls)."""

    def __init__(self, n_bytes: int | None = None) -> None:
        n_bytes = n_bytes if n_bytes is not None else L2_MULTIPLE * l2_bytes()
        if n_bytes < 8:
            raise ValueError(f"a cache evictor needs at least 8 bytes, got {n_bytes}")
        self.buffer = np.zeros(n_bytes // 8, dtype=np.float64)

    @property
    def n_bytes(self) -> int:
        return self.buffer.nbytes

    def __call__(self) -> None:
        self.buffer += 1.0
