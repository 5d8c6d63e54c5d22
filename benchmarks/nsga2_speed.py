"""How long one NSGA-II run of 1,000 generations with population 100 takes (target: at most 3 s).

Usage: python benchmarks/nsga2_speed.py [--official ../shared/ofa-official] [--repeat 3] [--gens 1000] [--pop 100] [--compare-pymoo]

The run is the product's: OFA's predictor and Note10 tables on ofa-mbv3-w1.2,
the archive of every non-dominated subnet and its hypervolume after every
generation included (loading the predictor and tables is not). Prints the
wall time and this process's CPU time of every repeat, and the load average:
on a shared CPU the wall time is pessimistic, the CPU time much less so.
``--compare-pymoo`` also times pymoo's own NSGA2 class with the same operators.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.search import RunSpec, build_objectives, run_search  # noqa: E402
from ofa_dash.space import get_space  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--gens", type=int, default=1000)
    p.add_argument("--pop", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--compare-pymoo", action="store_true")
    args = p.parse_args()

    space = get_space("ofa-mbv3-w1.2")
    objectives = build_objectives(space, ("latency:note10", "error"), official_dir=args.official)
    print(f"CPU: {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    for algorithm in ["nsga2", *(["nsga2-pymoo"] if args.compare_pymoo else [])]:
        walls, cpus = [], []
        for i in range(args.repeat):
            r = run_search(RunSpec(space.name, algorithm, objectives.names, pop_size=args.pop, n_gen=args.gens, seed=args.seed), objectives=objectives)
            walls.append(r.seconds)
            cpus.append(r.cpu_seconds)
            print(
                f"{algorithm} run {i + 1}: {r.seconds:.2f} s wall, {r.cpu_seconds:.2f} s CPU, {r.n_evals} evaluations, hv {r.hv_final:.2f}, load {os.getloadavg()[0]:.2f}"
            )
        print(
            f"{algorithm}: {args.gens} generations x {args.pop}: best {min(walls):.2f} s wall (median {statistics.median(walls):.2f} s), "
            f"best {min(cpus):.2f} s CPU; target <= 3 s; published OFA² run: 37 s"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
