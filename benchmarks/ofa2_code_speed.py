"""The OFA² authors' search code against ofa-dash's NSGA-II, timed side by side (issue 21: at least 10x).

Usage: python benchmarks/ofa2_code_speed.py --ofa2-python PYTHON [--official ../shared/ofa-official]
       [--seeds 1,2] [--gens 1000]

PYTHON is an interpreter of a separate environment holding the authors' package and
its pymoo (they do not install beside this project's pins), for example:

    python3 -m venv /tmp/ofa2env
    /tmp/ofa2env/bin/pip install torch==2.13.0 pymoo==0.6.0.1 numpy pyyaml tqdm matplotlib
    /tmp/ofa2env/bin/pip install --no-deps ofa2

For each seed, runs in that interpreter the authors' tutorial problem (``OfaProblem``,
``OfaSampling``, their ``AccuracyPredictor`` and Note10 ``LatencyTable``) under pymoo's
NSGA-II with uniform crossover (probability 1.0) and random-choice mutation (per-gene 0.1),
population 100, ``--gens`` generations, one torch thread; then, in this process, the
project's default NSGA-II and the plain run (``local_search="none"``) on the same problem.
Prints each run's wall and CPU seconds, the load average, and the ratios. The
authors' package imports torchvision for its data loaders only; the child process stands
in an empty module for it (torchvision does not install beside this torch). Their
latency tables are read from ``~/.hancai/latency_tools/`` (copied there from
``--official``), the predictor's weights from ``--official`` with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, os, sys, time, types
class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__init__": lambda self, *a, **k: None})
for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.datasets"):
    sys.modules[name] = _Stub(name)
    if "." in name:
        parent, child = name.rsplit(".", 1)
        setattr(sys.modules[parent], child, sys.modules[name])
import numpy as np, torch
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.operators.crossover.ux import UniformCrossover
from pymoo.operators.mutation.rm import ChoiceRandomMutation
from pymoo.optimize import minimize
from ofa2.tutorial.accuracy_predictor import AccuracyPredictor
from ofa2.tutorial.latency_table import LatencyTable
from ofa2.tutorial.multi_objective_optimization import OfaProblem, OfaSampling
official, seeds, gens = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], int(sys.argv[3])
torch.set_num_threads(1)
acc = AccuracyPredictor(pretrained=False, device="cpu")
acc.model.load_state_dict(torch.load(os.path.join(official, "acc_predictor.pth"), map_location="cpu", weights_only=True))
problem = OfaProblem(LatencyTable(device="note10"), acc, 20, 5, {"ks": [3, 5, 7], "e": [3, 4, 6], "d": [2, 3, 4], "r": [160, 176, 192, 208, 224]})
for seed in seeds:
    np.random.seed(seed)
    algorithm = NSGA2(pop_size=100, sampling=OfaSampling(), crossover=UniformCrossover(prob=1.0), mutation=ChoiceRandomMutation(prob_var=0.1))
    t, c = time.perf_counter(), time.process_time()
    res = minimize(problem, algorithm, ("n_gen", gens), seed=seed, verbose=False)
    print(json.dumps({"seed": seed, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c, "front": len(res.F), "load": os.getloadavg()[0]}), flush=True)
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ofa2-python", required=True, help="interpreter of an environment with ofa2 and pymoo 0.6.0.1")
    p.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--gens", type=int, default=1000)
    args = p.parse_args()
    official = Path(args.official).resolve()
    tables = sorted((official / "note10").glob("*_lookup_table.yaml"))
    if not (official / "acc_predictor.pth").is_file() or len(tables) != 5:
        raise SystemExit(f"error: {official} needs acc_predictor.pth and note10/<r>_lookup_table.yaml for r = 160..224")
    cache = Path("~/.hancai/latency_tools").expanduser()  # where the authors' LatencyEstimator looks first
    cache.mkdir(parents=True, exist_ok=True)
    for t in tables:
        shutil.copyfile(t, cache / t.name)

    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    proc = subprocess.run(
        [args.ofa2_python, "-c", CHILD, str(official), args.seeds, str(args.gens)], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: the authors' code failed in {args.ofa2_python}:\n{proc.stderr[-2000:]}")
    theirs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    for r in theirs:
        print(f"OFA² authors' code, NSGA-II seed {r['seed']}: {r['seconds']:.1f} s wall ({r['cpu_seconds']:.1f} s CPU), load {r['load']:.1f}", flush=True)

    from ofa_dash.search import RunSpec, build_objectives, run_search
    from ofa_dash.space import get_space

    space = get_space("ofa-mbv3-w1.2")
    objectives = build_objectives(space, ("latency:note10", "error"), official_dir=official)
    ours: dict[str, list] = {"default": [], "plain": []}
    for seed in (int(s) for s in args.seeds.split(",")):
        for label, params in (("default", {}), ("plain", {"local_search": "none"})):
            r = run_search(RunSpec(space.name, "nsga2", objectives.names, pop_size=100, n_gen=args.gens, seed=seed, params=params), objectives=objectives)
            ours[label].append(r.seconds)
            print(f"ofa-dash NSGA-II {label:>7} seed {seed}: {r.seconds:.2f} s wall ({r.cpu_seconds:.2f} s CPU), load {os.getloadavg()[0]:.1f}", flush=True)
    theirs_s = statistics.median(r["seconds"] for r in theirs)
    for label, secs in ours.items():
        print(f"authors' code / ofa-dash {label}: {theirs_s / statistics.median(secs):.1f}x (median wall times)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
