"""Precompute the search runs the dashboard ships for one space, and check "search once for every device".

Usage: python scripts/precompute_runs.py --space cifar10 [--official DIR] [--devices a,b]
       [--seeds 1,2,3] [--pop 100] [--gens 1000] [--algorithms nsga2,smsemoa,spea2]
       [--many-algorithm agemoea] [--many-pop 200] [--many-gens 1000] [--params JSON] [--params-device D]
       [--store precomputed] [--out benchmarks/results/precompute_<space>.json]

For the space, with every available device (``hardware.devices``; note10 joins
with ``--official``):

1. for every device d: each of ``--algorithms`` x ``--seeds`` on (error, latency:d);
2. one all-devices run: (error, latency:d1, ..., latency:dk) with ``--many-algorithm``
   (NSGA-III or AGE-MOEA), compared per device with the dedicated runs: the
   non-dominated subset of its archive in (error, latency:d), its hypervolume at
   the dedicated runs' reference point, and the ratio to each dedicated run's
   hypervolume (target: at least 0.99 of every one, issue 21);
3. one (error, latency:D, params) run with ``--many-algorithm``, D = ``--params-device``
   (default ``cpu-ort`` where the space has it, else the first device). The dashboard opens
   on the device the stored runs searched most often, so this run decides the tie between
   devices that all have the same dedicated runs.

Every run is saved to the store (``precomputed/<space>/runs/``); the figures go
to ``--out`` and are printed as a table. With a single device, step 2 is the
dedicated problem itself and is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.search import RunSpec, build_objectives, run_search  # noqa: E402
from ofa_dash.search.objectives import device_names_for  # noqa: E402
from ofa_dash.search.run import pair_subset_hv  # noqa: E402
from ofa_dash.space import get_space  # noqa: E402
from ofa_dash.store import RunStore  # noqa: E402

RATIO_TARGET = 0.99


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="cifar10")
    p.add_argument("--official", help="folder like ../shared/ofa-official (adds note10 and OFA's predictor where they fit)")
    p.add_argument("--devices", help="comma-separated device names (default: every available one)")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--pop", type=int, default=100)
    p.add_argument("--gens", type=int, default=1000)
    p.add_argument("--algorithms", default="nsga2,smsemoa,spea2")
    p.add_argument("--many-algorithm", default="agemoea", choices=("agemoea", "nsga3", "nsga2"))
    p.add_argument("--many-pop", type=int, default=200)
    p.add_argument("--many-gens", type=int, default=1000)
    p.add_argument("--params-device", help="the latency axis of the (error, latency, params) run (default: cpu-ort, else the first device)")
    p.add_argument("--params", default="{}", help="operator options for every run, as JSON")
    p.add_argument("--store", default=str(ROOT / "precomputed"), help="precomputed/ root: where the predictor and device tables are read and the runs stored")
    p.add_argument("--out", help="summary JSON (default benchmarks/results/precompute_<space>.json)")
    args = p.parse_args()

    space = get_space(args.space)
    seeds = [int(s) for s in args.seeds.split(",")]
    params = json.loads(args.params)
    devices = args.devices.split(",") if args.devices else device_names_for(space, args.official, args.store)
    if not devices:
        raise SystemExit(f"error: no device tables for space {space.name!r}; profile one first (python -m ofa_dash profile ...)")
    store = RunStore(args.store)
    all_names = ("error", *(f"latency:{d}" for d in devices))
    objectives = build_objectives(space, all_names, official_dir=args.official, precomputed_dir=args.store)
    out: dict = {
        "space": space.name,
        "devices": devices,
        "seeds": seeds,
        "pop_size": args.pop,
        "n_gen": args.gens,
        "params": params,
        "dedicated": {},
        "all_devices": None,
    }
    print(f"space {space.name}: devices {devices}; load average {os.getloadavg()[0]:.1f}", flush=True)

    def run(spec: RunSpec, ob) -> object:
        r = run_search(spec, objectives=ob)
        store.save(r)
        print(f"  {spec.algorithm:>8} {','.join(spec.objectives):<40} seed {spec.seed}: hv {r.hv:.4g}, front {r.front_size}, {r.seconds:.1f} s", flush=True)
        return r

    # 1. dedicated two-objective runs
    dedicated: dict[str, list] = {}
    for d in devices:
        ob = objectives.subset(("error", f"latency:{d}"))
        rows = []
        for algorithm in args.algorithms.split(","):
            for seed in seeds:
                r = run(RunSpec(space.name, algorithm, ob.names, pop_size=args.pop, n_gen=args.gens, seed=seed, params=params), ob)
                rows.append(
                    {
                        "algorithm": algorithm,
                        "seed": seed,
                        "hv": r.hv,
                        "hv_final": r.hv_final,
                        "seconds": r.seconds,
                        "run_id": r.run_id,
                        "ref_point": r.ref_point,
                    }
                )
        dedicated[d] = rows
        out["dedicated"][d] = rows

    # 2. one run over every device at once
    if len(devices) > 1:
        spec = RunSpec(space.name, args.many_algorithm, all_names, pop_size=args.many_pop, n_gen=args.many_gens, seed=seeds[0], params=params)
        r = run(spec, objectives)
        per_device = {}
        for j, d in enumerate(devices, start=1):
            hv, ref, F2 = pair_subset_hv(r.archive_F, objectives, j)
            ratios = [hv / row["hv"] for row in dedicated[d] if row["hv"] > 0]
            per_device[d] = {
                "hv": hv,
                "ref_point": ref.tolist(),
                "front_size": len(F2),
                "min_ratio": min(ratios),
                "mean_ratio": statistics.fmean(ratios),
                "ratios": ratios,
            }
        out["all_devices"] = {
            "algorithm": args.many_algorithm,
            "pop_size": args.many_pop,
            "n_gen": args.many_gens,
            "run_id": r.run_id,
            "seconds": r.seconds,
            "per_device": per_device,
        }

    # 3. (error, latency, params)
    params_device = args.params_device or ("cpu-ort" if "cpu-ort" in devices else devices[0])
    ob3 = objectives.subset(("error", f"latency:{params_device}", "params"))
    r3 = run(RunSpec(space.name, args.many_algorithm, ob3.names, pop_size=args.many_pop, n_gen=args.many_gens, seed=seeds[0], params=params), ob3)
    out["error_latency_params"] = {"run_id": r3.run_id, "hv": r3.hv, "front_size": r3.front_size, "seconds": r3.seconds}

    print("\n| device | algorithm | HV (archive), mean over seeds | s per run |")
    print("| --- | --- | --- | --- |")
    for d, rows in dedicated.items():
        for algorithm in dict.fromkeys(row["algorithm"] for row in rows):
            sel = [row for row in rows if row["algorithm"] == algorithm]
            print(f"| {d} | {algorithm} | {statistics.fmean(x['hv'] for x in sel):.4g} | {statistics.fmean(x['seconds'] for x in sel):.1f} |")
    if out["all_devices"]:
        print(f"\nall-devices run ({args.many_algorithm}, pop {args.many_pop}, {args.many_gens} generations): HV of its per-device subset / dedicated run's HV")
        for d, v in out["all_devices"]["per_device"].items():
            flag = "ok" if v["min_ratio"] >= RATIO_TARGET else f"below {RATIO_TARGET:.0%}"
            print(f"  {d}: min {v['min_ratio']:.4f}, mean {v['mean_ratio']:.4f} ({flag})")
    out["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    path = Path(args.out or ROOT / "benchmarks" / "results" / f"precompute_{space.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {path}; runs stored in {store.runs_dir(space.name)}")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
