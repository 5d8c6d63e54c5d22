"""The best-known front for issue 21's criterion: configurations run with ~100x a default run's budget.

Usage: python benchmarks/search_reference.py [--space ofa-mbv3-w1.2|cifar10] [--official ../shared/ofa-official]
       [--scale 1.0] [--out FILE]

A default run (population 100, 1,000 generations) evaluates ~100,000-250,000
genomes. The reference is the union of the archives of a few configurations
that each spend millions of evaluations, where a default run spends its few
seconds: many iterated hill climbs (spread over weightings of the
objectives, or all on the error), each followed by a Pareto local search of
its archive to convergence, and a last Pareto local search of their union to
convergence. ``--scale`` multiplies every configuration's climbs. The result
is written as a small JSON (benchmarks/results/reference_<space>.json): the
exact hypervolume of the whole union front at the run's reference point, the
evaluations each configuration spent, and the front thinned to at most 300
points for plots (the hypervolume of the thinned front is a lower bound;
``benchmarks/search_quality.py`` compares against ``hv``). Deterministic for
a given seed list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.search import build_objectives  # noqa: E402
from ofa_dash.search.archive import Archive, Hypervolume, nondominated  # noqa: E402
from ofa_dash.search.local import iterated_climb, pareto_local_search  # noqa: E402
from ofa_dash.search.run import reference_point  # noqa: E402
from ofa_dash.space import get_space  # noqa: E402

OBJECTIVES = {"ofa-mbv3-w1.2": ("latency:note10", "error"), "cifar10": ("error", "latency:cpu-ort")}
# name -> (seed, climbs, share of climbs on the error alone, kick rounds, Pareto local search cap)
CONFIGS = {
    "spread climbs, 8 kicks": (101, 1024, 0.25, 8, 3_000_000),
    "error climbs, 12 kicks": (102, 512, 1.0, 12, 3_000_000),
    "error climbs, 40 kicks": (103, 128, 1.0, 40, 3_000_000),
}
PLS_CAP = 4_000_000
THIN = 300


def climb_weights_for(n_obj: int, err: int, n: int, error_share: float, rs: np.random.Generator) -> np.ndarray:
    """``n`` weightings: ``error_share`` of them on the error alone, the rest random mixtures."""
    k = round(n * error_share)
    W = np.zeros((k, n_obj))
    W[:, err] = 1.0
    return np.concatenate([W, rs.dirichlet(np.ones(n_obj), size=n - k)])


def thin(F: np.ndarray, n: int) -> np.ndarray:
    """At most ``n`` points of a 2-objective front, evenly spaced in its sorted order, both ends kept."""
    F = F[np.lexsort(F.T[::-1])]
    if len(F) <= n:
        return F
    return F[np.unique(np.linspace(0, len(F) - 1, n).round().astype(int))]


def build_reference(space, objectives, err: int, configs: dict, scale: float = 1.0, pls_cap: int = PLS_CAP, log=print) -> dict:
    """Run ``configs`` (name -> (seed, climbs, error share, kick rounds, pass cap)) and a last pass over
    their union; returns the union front ``F``, its size and the evaluations each part spent
    (every genome handed to ``objectives``, counted at the call). Deterministic given the configs."""
    n_obj = objectives.n_obj
    union = Archive(space, n_obj)
    entries = []
    for name, (seed, climbs, error_share, kicks, cap) in configs.items():
        rs = np.random.default_rng(seed)
        mine = Archive(space, n_obj)
        count = [0]

        def evaluate(X: np.ndarray, mine: Archive = mine, count: list = count) -> np.ndarray:
            F = objectives(X)
            count[0] += len(X)
            mine.add(X, F)
            mine.update()  # merge at once: millions of queued genomes would not fit in memory
            return F

        t, c = time.perf_counter(), time.process_time()
        n = max(2, round(climbs * scale))
        starts = rs.integers(0, space.genome_upper, size=(n, space.genome_upper.size))
        iterated_climb(space, evaluate, starts, climb_weights_for(n_obj, err, n, error_share, rs), kicks, 4, rs)
        climb_evals = count[0]
        res = pareto_local_search(space, evaluate, mine.X, mine.F, cap)
        mine.update()
        union.add(mine.X, mine.F)
        entry = {
            "name": name, "seed": seed, "climbs": n, "error_share": error_share, "kick_rounds": kicks,
            "climb_evals": climb_evals, "pls_evals": res.n_evals, "pls_converged": res.converged,
            "min_error": float(mine.F[:, err].min()), "F": mine.F,
            "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
        }  # fmt: skip
        entries.append(entry)
        log(f"{name}: {climb_evals:,} climb + {res.n_evals:,} pass evaluations, min error {entry['min_error']:.4f}, load {os.getloadavg()[0]:.1f}")
    union.update()
    res = pareto_local_search(space, objectives, union.X, union.F, pls_cap)
    F = np.concatenate([union.F, res.F])
    F = F[nondominated(F)]
    F = F[np.lexsort(F.T[::-1])]
    total = sum(e["climb_evals"] + e["pls_evals"] for e in entries) + res.n_evals
    return {"F": F, "configs": entries, "final_pass": {"evals": res.n_evals, "converged": res.converged}, "evaluations": total}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="ofa-mbv3-w1.2", choices=list(OBJECTIVES))
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--out", default=None)
    args = p.parse_args()

    space = get_space(args.space)
    names = OBJECTIVES[args.space]
    objectives = build_objectives(space, names, official_dir=args.official)
    ref, _ = reference_point(objectives)
    hv = Hypervolume(ref)
    err = names.index("error")
    t0, c0 = time.perf_counter(), time.process_time()
    built = build_reference(space, objectives, err, CONFIGS, args.scale)
    F = built["F"]
    for e in built["configs"]:
        e["hv"] = hv(e.pop("F"))
    best = hv(F)
    print(f"union: {len(F)} points, hv {best:.4f}, final pass {built['final_pass']}; {built['evaluations']:,} evaluations in all")
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"reference_{args.space}.json")
    doc = {
        "space": args.space,
        "objectives": list(names),
        "ref_point": ref.tolist(),
        "hv": best,
        "n_points": len(F),
        "min_error": float(F[:, err].min()),
        "evaluations": built["evaluations"],
        "final_pass": built["final_pass"],
        "configs": built["configs"],
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "load_average": os.getloadavg(),
        "front_thinned": np.round(thin(F, THIN), 4).tolist(),
    }
    out.write_text(json.dumps(doc) + "\n")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
