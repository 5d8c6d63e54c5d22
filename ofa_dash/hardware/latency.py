"""Latency lookup tables: layer keys derived from the space, and a vectorised estimate.

A table maps a layer key (OFA's naming, e.g.
``expanded_conv-input:10x10x136-output:10x10x136-expand:408-kernel:3-stride:1-idskip:1-se:1-hs:1``)
to milliseconds. The same key scheme serves OFA's published Note10 tables and
the tables this project profiles, so one loader and one estimator serve all
devices. On load, a table is compiled into dense arrays (resolution x slot x
kernel x expand), and estimating a population is one gather and a masked sum.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ofa_dash.space import N_SLOTS, SearchSpace


class MissingLayerError(KeyError):
    """A table lacks the entry for a layer the space needs."""

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- keys
def stem_key(space: SearchSpace, r: int) -> str:
    s = space.stem_size(r)
    return f"Conv-input:{r}x{r}x3-output:{s}x{s}x{space.stem_channels}"


def block_key(f: int, g: int, cin: int, cout: int, mid: int, k: int, stride: int, residual: bool, se: bool, act: str) -> str:
    return (
        f"expanded_conv-input:{f}x{f}x{cin}-output:{g}x{g}x{cout}-expand:{mid}-kernel:{k}-stride:{stride}"
        f"-idskip:{int(residual)}-se:{int(se)}-hs:{int(act == 'hswish')}"
    )


def first_block_key(space: SearchSpace, r: int) -> str:
    s = space.stem_size(r)
    c, fb = space.stem_channels, space.first_block_channels
    return block_key(s, s, c, fb, c, 3, 1, c == fb, False, space.first_block_act)


def head_keys(space: SearchSpace, r: int) -> list[str]:
    h = space.final_size(r)
    last, fe, fd = space.stages[-1].channels, space.final_expand, space.feature_dim
    return [
        f"Conv_1-input:{h}x{h}x{last}-output:{h}x{h}x{fe}",
        f"AvgPool2D-input:{h}x{h}x{fe}-output:1x1x{fe}",
        f"Conv_2-input:1x1x{fe}-output:1x1x{fd}",
        f"Logits-input:1x1x{fd}-output:{space.n_classes}",
    ]


def fixed_keys(space: SearchSpace, r: int) -> list[str]:
    """Keys of the layers every subnet at resolution ``r`` runs (stem, first block, head)."""
    return [stem_key(space, r), first_block_key(space, r), *head_keys(space, r)]


def slot_key(space: SearchSpace, r: int, slot_index: int, k: int, e: int) -> str:
    slot = space.slots[slot_index]
    f, g = space.slot_sizes(r)[slot_index]
    mid = space.mid_channels(slot.in_channels, e)
    return block_key(f, g, slot.in_channels, slot.out_channels, mid, k, slot.stride, slot.residual, slot.se, slot.act)


@lru_cache(maxsize=32)
def keys_at(space: SearchSpace, r: int) -> tuple[str, ...]:
    """Every distinct layer key at resolution ``r`` (what a profiler must time there).

    Tables are kept per resolution because some keys (the 1x1 head layers)
    read the same at every resolution while their measured times differ.
    """
    keys: dict[str, None] = dict.fromkeys(fixed_keys(space, r))
    for i in range(N_SLOTS):
        for k in space.kernel_choices:
            for e in space.expand_choices:
                keys[slot_key(space, r, i, k, e)] = None
    return tuple(keys)


# --------------------------------------------------------------------------- table
@dataclass
class LatencyTable:
    """One device's table for one space, compiled for vectorised estimates.

    ``calibration`` is an optional affine correction ``(scale, offset_ms)``
    fitted on whole-subnet measurements (layer sums miss fusion and per-call
    overheads); ``estimate`` applies it.
    """

    space: SearchSpace
    name: str
    entries: dict[int, dict[str, float]]  # resolution -> layer key -> ms
    meta: dict = field(default_factory=dict)
    calibration: tuple[float, float] = (1.0, 0.0)
    slot_ms: np.ndarray = field(init=False, repr=False)
    fixed_ms: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        K, E, R = len(self.space.kernel_choices), len(self.space.expand_choices), len(self.space.resolutions)
        self.slot_ms = np.zeros((R, N_SLOTS, K, E))
        self.fixed_ms = np.zeros(R)
        for ri, r in enumerate(self.space.resolutions):
            self.fixed_ms[ri] = sum(self._get(r, key) for key in fixed_keys(self.space, r))
            for i in range(N_SLOTS):
                for ki, k in enumerate(self.space.kernel_choices):
                    for ei, e in enumerate(self.space.expand_choices):
                        self.slot_ms[ri, i, ki, ei] = self._get(r, slot_key(self.space, r, i, k, e))

    def _get(self, r: int, key: str) -> float:
        try:
            return float(self.entries[r][key])
        except KeyError:
            raise MissingLayerError(f"device {self.name!r} has no latency entry for layer {key!r} at resolution {r} (space {self.space.name!r})") from None

    def layer_sum(self, genomes: np.ndarray) -> np.ndarray:
        """Sum of table entries (ms), before calibration."""
        g = self.space.check_genome(genomes)
        active = self.space.values(g)["active"]
        ridx = g[:, -1]
        slots = np.arange(N_SLOTS)[None, :]
        per_slot = self.slot_ms[ridx[:, None], slots, g[:, :N_SLOTS], g[:, N_SLOTS : 2 * N_SLOTS]]
        return (per_slot * active).sum(1) + self.fixed_ms[ridx]

    def estimate(self, genomes: np.ndarray) -> np.ndarray:
        """Estimated end-to-end latency in ms for every genome row."""
        scale, offset = self.calibration
        return self.layer_sum(genomes) * scale + offset


# --------------------------------------------------------------------------- OFA's Note10 tables
NOTE10_DIR = "note10"


def load_note10(space: SearchSpace, official_dir: str | os.PathLike) -> LatencyTable:
    """OFA's published Samsung Note10 tables (``note10/{r}_lookup_table.yaml``) as device ``note10``."""
    import yaml

    folder = Path(official_dir) / NOTE10_DIR
    entries: dict[int, dict[str, float]] = {}
    for r in space.resolutions:
        path = folder / f"{r}_lookup_table.yaml"
        if not path.is_file():
            raise FileNotFoundError(
                f"Note10 table {str(path)!r} not found; --official DIR must hold note10/<r>_lookup_table.yaml for r in {list(space.resolutions)}"
            )
        try:
            data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            entries[r] = {k: float(v["mean"]) for k, v in data.items()}
        except Exception as exc:
            raise ValueError(f"{path} is not an OFA latency table ({type(exc).__name__}: {exc})") from None
    meta = {
        "device": "note10",
        "runtime": "TFLite (published by the OFA authors)",
        "hardware": "Samsung Galaxy Note10",
        "batch_size": 1,
        "source": "OFA's published Note10 lookup tables",
    }
    return LatencyTable(space, "note10", entries, meta)
