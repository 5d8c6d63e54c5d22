"""The all-devices run against the dedicated runs, per device (issue 21: >= 0.99), with and without its local search.

Usage: python benchmarks/all_devices_quality.py [--space ofa-mbv3-w1.2|cifar10] [--official ../shared/ofa-official]
       [--devices note10,cpu-ort] [--seed 1] [--out FILE]

Runs, in this process: the default NSGA-II (1,000 x 100) on (error, latency)
for each device, then AGE-MOEA (200 x 1,000, as ``scripts/precompute_runs.py``
ships it) over the error and every device's latency twice: with its default
final local search and with ``local_search="none"`` (the run shipped before
issue 21's third round). For each AGE-MOEA run and device it prints the
hypervolume of the non-dominated (error, that device's latency) subset of the
run's archive over the dedicated run's, at the dedicated run's reference
point, and wall and CPU seconds with the load average. Nothing is stored in
``precomputed/``; the figures go to ``benchmarks/results/all_devices_quality_<space>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.search import RunSpec, build_objectives, run_search  # noqa: E402
from ofa_dash.search.objectives import device_names_for  # noqa: E402
from ofa_dash.search.run import pair_subset_hv  # noqa: E402
from ofa_dash.space import get_space  # noqa: E402

MANY = {"default (final local search)": {}, "local_search=none": {"local_search": "none"}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="ofa-mbv3-w1.2")
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--devices", default=None, help="comma-separated (default: every device of the space)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args()

    space = get_space(args.space)
    devices = args.devices.split(",") if args.devices else device_names_for(space, args.official, None)
    names = ("error", *(f"latency:{d}" for d in devices))
    objectives = build_objectives(space, names, official_dir=args.official)
    load_start = os.getloadavg()
    out = {"space": args.space, "seed": args.seed, "devices": devices, "dedicated": {}, "all_devices": {}}
    for d in devices:
        sub = objectives.subset(("error", f"latency:{d}"))
        r = run_search(RunSpec(space.name, "nsga2", sub.names, pop_size=100, n_gen=1000, seed=args.seed), objectives=sub)
        out["dedicated"][d] = {"hv": r.hv, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds}
        print(f"dedicated NSGA-II {d}: hv {r.hv:.4f}, {r.seconds:.1f} s (CPU {r.cpu_seconds:.1f} s), load {os.getloadavg()[0]:.1f}", flush=True)
    for label, params in MANY.items():
        r = run_search(RunSpec(space.name, "agemoea", names, pop_size=200, n_gen=1000, seed=args.seed, params=params), objectives=objectives)
        per = {}
        for j, d in enumerate(devices, start=1):
            hv, _, _ = pair_subset_hv(r.archive_F, objectives, j)
            per[d] = {"hv": hv, "ratio": hv / out["dedicated"][d]["hv"]}
        out["all_devices"][label] = {"per_device": per, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds, "n_evals": r.n_evals}
        cells = ", ".join(f"{d} {v['hv']:.4f} ({v['ratio']:.4f})" for d, v in per.items())
        print(f"AGE-MOEA, {label}: {cells}; {r.n_evals:,} evals, {r.seconds:.1f} s (CPU {r.cpu_seconds:.1f} s), load {os.getloadavg()[0]:.1f}", flush=True)
    out["load_average_start"], out["load_average_end"] = load_start, os.getloadavg()
    path = Path(args.out or ROOT / "benchmarks" / "results" / f"all_devices_quality_{args.space}.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"load average {load_start} -> {os.getloadavg()}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
