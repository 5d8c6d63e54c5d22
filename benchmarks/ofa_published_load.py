"""How long loading OFA's published w1.2 checkpoint and extracting one subnet takes (median of a few).

Usage: python benchmarks/ofa_published_load.py [--space ofa-mbv3-w1.2] [--repeats 5] [--arch largest|smallest|ID|JSON] [--threads 1]

OFA's real weights are not on this machine, so a seeded random supernet is
written in the published layout (``{"state_dict": ...}`` under OFA's tensor
names, fp32, as OFA saves it) to a temporary folder; every repeat then reads
it with ``checkpoints.load_ofa_published`` (``torch.load(weights_only=True)``,
name and shape checks, conversion) and extracts one static subnet. The
machine's load is printed with the figures: on a shared CPU they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="ofa-mbv3-w1.2")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--arch", default="largest", help="largest, smallest, an id or JSON")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args()

    import torch

    from ofa_dash.checkpoints import load_ofa_published, ofa_published_state
    from ofa_dash.nn import Supernet
    from ofa_dash.space import get_space

    torch.set_num_threads(args.threads)
    space = get_space(args.space)
    arch = space.parse_arch(args.arch)
    with tempfile.TemporaryDirectory(prefix="ofa-dash-bench-") as tmp:
        path = Path(tmp) / f"ofa_mbv3_d234_e346_k357_{space.name.rsplit('-', 1)[-1]}"
        torch.manual_seed(0)
        torch.save({"state_dict": ofa_published_state(Supernet(space))}, path)
        print(f"{space.name}: random weights in OFA's published layout, {path.stat().st_size / 2**20:.1f} MiB; subnet {arch.id} at r={arch.r}")
        load_before = os.getloadavg()[0]
        loads, extracts = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            net = load_ofa_published(path, space)
            t1 = time.perf_counter()
            net.extract(arch)
            t2 = time.perf_counter()
            loads.append(t1 - t0)
            extracts.append(t2 - t1)
            del net
    total = [a + b for a, b in zip(loads, extracts, strict=True)]
    print(f"load (read + check + convert): median {statistics.median(loads):.3f} s  (min {min(loads):.3f}, max {max(loads):.3f})")
    print(f"extract one subnet:            median {statistics.median(extracts):.3f} s  (min {min(extracts):.3f}, max {max(extracts):.3f})")
    print(f"load + extract:                median {statistics.median(total):.3f} s over {args.repeats} repeats")
    print(f"machine: {os.cpu_count()} CPUs, load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; torch threads {args.threads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
