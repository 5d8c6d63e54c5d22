"""Search quality per seed (issue 21): the default NSGA-II against the plain run it replaces, side by side.

Usage: python benchmarks/search_quality.py [--space ofa-mbv3-w1.2|cifar10] [--seeds 1,...,10]
       [--official ../shared/ofa-official] [--gens 1000] [--pop 100] [--reference FILE] [--out FILE]

For each seed, runs NSGA-II with the project's default (local search, see
docs/notes/search.md: the ``capped`` schedule), with the schedules it
replaced (``ls_schedule="tight-screen"`` and ``"screened"``) and with the plain protocol
(``local_search="none"``: 1,000 generations of plain NSGA-II, the time
budget) one right after the other in this process, and prints per seed: hypervolume of each run's final
set, its percentage of the best known front, wall and CPU seconds, and the
ratio of each run's time to the plain run's. The best known hypervolume is
that of the 100x-budget reference (``benchmarks/search_reference.py``, a
small JSON with its exact hypervolume and a thinned front), raised if the
union of its thinned front and this invocation's archives is better (it is
then reported). Nothing is stored in ``precomputed/``.
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
PLAIN = "plain (time budget)"
CONFIGS = {
    "default": {},
    "tight-screen": {"ls_schedule": "tight-screen"},
    "screened": {"ls_schedule": "screened"},
    PLAIN: {"local_search": "none"},
}


def load_reference(path: Path, n_obj: int) -> tuple[float, np.ndarray]:
    """(hypervolume, thinned front) of a reference JSON (nothing executed); absent: (0, empty)."""
    if not path.is_file():
        return 0.0, np.zeros((0, n_obj))
    doc = json.loads(path.read_text())
    F = np.asarray(doc["front_thinned"], dtype=float)
    hv = float(doc["hv"])
    if F.ndim != 2 or F.shape[1] != n_obj or not np.isfinite(F).all() or not np.isfinite(hv):
        raise SystemExit(f"{path}: expected 'hv' and a list of {n_obj}-value objective vectors in 'front_thinned'")
    return hv, F


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="ofa-mbv3-w1.2", choices=list(OBJECTIVES))
    p.add_argument("--seeds", default=",".join(str(s) for s in range(1, 11)))
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--gens", type=int, default=1000)
    p.add_argument("--pop", type=int, default=100)
    p.add_argument("--reference", default=None, help="100x-budget reference JSON (default benchmarks/results/reference_<space>.json)")
    p.add_argument("--out", default=None, help="per-seed figures as JSON (default benchmarks/results/search_quality_<space>.json)")
    args = p.parse_args()

    space = get_space(args.space)
    names = OBJECTIVES[args.space]
    objectives = build_objectives(space, names, official_dir=args.official)
    ref_path = Path(args.reference or ROOT / "benchmarks" / "results" / f"reference_{args.space}.json")
    out_path = Path(args.out or ROOT / "benchmarks" / "results" / f"search_quality_{args.space}.json")
    ref_hv, ref_front = load_reference(ref_path, len(names))
    known = [ref_front]
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
    union_hv = hv(F)
    best = max(ref_hv, union_hv)
    print(f"\nbest known hypervolume {best:.2f} (reference {ref_hv:.2f} from {ref_path}; union with this run's archives {union_hv:.2f})")
    print("| seed | " + " | ".join(f"{c} HV | % of best | s (CPU s)" for c in CONFIGS) + " | default/plain wall (CPU) |")
    print("| --- " * (2 + 3 * len(CONFIGS)) + "|")
    by = {(r["seed"], r["config"]): r for r in rows}
    for r in rows:
        r["pct_of_best"] = 100.0 * r["hv"] / best
    for seed in dict.fromkeys(r["seed"] for r in rows):
        cells = [by[(seed, c)] for c in CONFIGS]
        a, b = by[(seed, "default")], by[(seed, PLAIN)]
        print(
            f"| {seed} | "
            + " | ".join(f"{r['hv']:.2f} | {r['pct_of_best']:.2f} | {r['seconds']:.1f} ({r['cpu_seconds']:.1f})" for r in cells)
            + f" | {a['seconds'] / b['seconds']:.2f} ({a['cpu_seconds'] / b['cpu_seconds']:.2f}) |"
        )
    for config in CONFIGS:
        mine = [r for r in rows if r["config"] == config]
        print(
            f"{config}: min {min(r['pct_of_best'] for r in mine):.2f} % of best, mean HV {statistics.fmean(r['hv'] for r in mine):.2f}, "
            f"total {sum(r['seconds'] for r in mine):.1f} s (CPU {sum(r['cpu_seconds'] for r in mine):.1f} s)"
        )
    out_path.write_text(
        json.dumps(
            {
                "space": args.space,
                "best_known_hv": best,
                "reference_hv": ref_hv,
                "load_average_start": load_start,
                "load_average_end": os.getloadavg(),
                "runs": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"load average {load_start} -> {os.getloadavg()}; wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
