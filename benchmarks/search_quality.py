"""Search quality per seed (issue 21): the default NSGA-II against the previous default, side by side.

Usage: python benchmarks/search_quality.py [--space ofa-mbv3-w1.2|cifar10] [--seeds 1,...,10]
       [--official ../shared/ofa-official] [--gens 1000] [--pop 100] [--best-known FILE] [--out FILE]

For each seed, runs NSGA-II with the project's default (local search, see
docs/notes/search.md) and with the previous default (``local_search="none"``:
1,000 generations of plain NSGA-II) one right after the other in this
process, and prints per seed: hypervolume of each run's final set, its
percentage of the best known front, wall and CPU seconds, and the ratio of
the new default's time to the previous default's. The best known front is
the union of ``--best-known`` (a JSON list of objective vectors, updated when
this run finds better points) and every archive of this invocation. Nothing
is stored in ``precomputed/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.search import RunSpec, build_objectives, run_search  # noqa: E402
from ofa_dash.search.archive import Hypervolume, nondominated  # noqa: E402
from ofa_dash.space import get_space  # noqa: E402

OBJECTIVES = {"ofa-mbv3-w1.2": ("latency:note10", "error"), "cifar10": ("error", "latency:cpu-ort")}
CONFIGS = {"default": {}, "previous default": {"local_search": "none"}}


def load_front(path: Path, n_obj: int) -> np.ndarray:
    """Objective vectors from a JSON list (nothing executed); an absent file is an empty front."""
    if not path.is_file():
        return np.zeros((0, n_obj))
    F = np.asarray(json.loads(path.read_text())["F"], dtype=float)
    if F.ndim != 2 or F.shape[1] != n_obj or not np.isfinite(F).all():
        raise SystemExit(f"{path}: expected a list of {n_obj}-value objective vectors")
    return F


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="ofa-mbv3-w1.2", choices=list(OBJECTIVES))
    p.add_argument("--seeds", default=",".join(str(s) for s in range(1, 11)))
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--gens", type=int, default=1000)
    p.add_argument("--pop", type=int, default=100)
    p.add_argument("--best-known", default=None, help="JSON front to compare with and update (default benchmarks/results/best_known_<space>.json)")
    p.add_argument("--out", default=None, help="per-seed figures as JSON (default benchmarks/results/search_quality_<space>.json)")
    args = p.parse_args()

    space = get_space(args.space)
    names = OBJECTIVES[args.space]
    objectives = build_objectives(space, names, official_dir=args.official)
    best_path = Path(args.best_known or ROOT / "benchmarks" / "results" / f"best_known_{args.space}.json")
    out_path = Path(args.out or ROOT / "benchmarks" / "results" / f"search_quality_{args.space}.json")
    known = [load_front(best_path, len(names))]
    rows = []
    load_start = os.getloadavg()
    for seed in (int(s) for s in args.seeds.split(",")):
        for config, params in CONFIGS.items():
            r = run_search(RunSpec(args.space, "nsga2", names, pop_size=args.pop, n_gen=args.gens, seed=seed, params=params), objectives=objectives)
            known.append(r.archive_F)
            rows.append(
                {
                    "seed": seed,
                    "config": config,
                    "hv": r.hv_final,
                    "hv_archive": r.hv,
                    "seconds": r.seconds,
                    "cpu_seconds": r.cpu_seconds,
                    "n_evals": r.n_evals,
                    "ref_point": r.ref_point,
                }
            )
            print(
                f"seed {seed} {config:>16}: hv {r.hv_final:.2f}, {r.n_evals:,} evals, {r.seconds:.1f} s (CPU {r.cpu_seconds:.1f} s), load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    F = np.concatenate(known)
    F = F[nondominated(F)]
    hv = Hypervolume(np.asarray(rows[0]["ref_point"]))
    best = hv(F)
    best_path.parent.mkdir(parents=True, exist_ok=True)
    best_path.write_text(json.dumps({"space": args.space, "objectives": list(names), "ref_point": rows[0]["ref_point"], "hv": best, "F": F.tolist()}) + "\n")
    print(f"\nbest known hypervolume {best:.2f} ({len(F)} points; {best_path})")
    print("| seed | default HV | % of best | s (CPU s) | previous default HV | % of best | s (CPU s) | time ratio wall (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    by = {(r["seed"], r["config"]): r for r in rows}
    for r in rows:
        r["pct_of_best"] = 100.0 * r["hv"] / best
    for seed in dict.fromkeys(r["seed"] for r in rows):
        a, b = by[(seed, "default")], by[(seed, "previous default")]
        print(
            f"| {seed} | {a['hv']:.2f} | {a['pct_of_best']:.2f} | {a['seconds']:.1f} ({a['cpu_seconds']:.1f}) | {b['hv']:.2f} | {b['pct_of_best']:.2f} "
            f"| {b['seconds']:.1f} ({b['cpu_seconds']:.1f}) | {a['seconds'] / b['seconds']:.2f} ({a['cpu_seconds'] / b['cpu_seconds']:.2f}) |"
        )
    for config in CONFIGS:
        mine = [r for r in rows if r["config"] == config]
        print(
            f"{config}: min {min(r['pct_of_best'] for r in mine):.2f} % of best, mean HV {statistics.fmean(r['hv'] for r in mine):.2f}, "
            f"total {sum(r['seconds'] for r in mine):.1f} s (CPU {sum(r['cpu_seconds'] for r in mine):.1f} s)"
        )
    out_path.write_text(
        json.dumps({"space": args.space, "best_known_hv": best, "load_average_start": load_start, "load_average_end": os.getloadavg(), "runs": rows}, indent=1)
        + "\n"
    )
    print(f"load average {load_start} -> {os.getloadavg()}; wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
