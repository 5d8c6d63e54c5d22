"""How long a latency estimate takes for a population of 100,000 genomes on one device (target: under 0.2 s).

Usage: python benchmarks/latency_estimate_speed.py [--space cifar10] [--device NAME] [--n 100000] [--repeat 7] [--official DIR]

Times ``LatencyTable.estimate`` (genome check, one flat gather, a masked sum,
the affine correction) and prints the best and median wall time over
``--repeat`` runs, and the best CPU time. The device is ``--device`` when given, else the first
shipped profile of the space, else OFA's ``note10`` (with ``--official``),
else a table of random entries: the cost does not depend on the values. The
load average is printed too: timings on a shared CPU are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ofa_dash.hardware import get_device, load_devices
from ofa_dash.hardware.latency import LatencyTable, keys_at
from ofa_dash.space import get_space

TARGET_S = 0.2


def pick_table(space, device: str | None, official: str | None) -> LatencyTable:
    if device:
        return get_device(space, device, official)
    devices = load_devices(space, official, strict=False)
    if devices:
        return next(iter(devices.values()))
    rng = np.random.default_rng(0)
    entries = {r: {k: float(rng.uniform(0.01, 1.0)) for k in keys_at(space, r)} for r in space.resolutions}
    return LatencyTable(space, "random-entries", entries, calibration=(1.1, 0.05))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="cifar10")
    p.add_argument("--device")
    p.add_argument("--official")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()

    space = get_space(args.space)
    table = pick_table(space, args.device, args.official)
    genomes = space.sample_genomes(args.n, seed=0)
    table.estimate(genomes[:10])  # first-call costs (imports, caches) are not the steady state
    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        est = table.estimate(genomes)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    best, median = min(times), statistics.median(times)
    print(f"space {space.name}, device {table.name}: {args.n:,} genomes, best {best:.4f} s, median {median:.4f} s wall (target < {TARGET_S} s)")
    print(f"CPU time of this process: best {min(cpu):.4f} s (what a quiet machine's wall time approaches)")
    print(f"estimates span {est.min():.3f} .. {est.max():.3f} ms; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
