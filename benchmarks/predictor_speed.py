"""How long the accuracy predictors take for a population of 100,000 genomes (target: under 1 s).

Usage: python benchmarks/predictor_speed.py [--n 100000] [--official ../shared/ofa-official] [--repeat 5]

Prints one line per predictor: the best and median wall time of ``predict`` over
``--repeat`` runs, and the split between building the one-hot features and the
forward pass. The flagship's shipped predictor is timed when
``precomputed/cifar10/predictor.pt`` exists; otherwise a predictor of the
default shape (3 x 128-unit MLP ensemble compiled to one Sequential, the same
arithmetic) stands in for it, plus the ridge and tree alternatives. The CPU
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
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ofa_dash.predictors import FittedPredictor, build_mlp, feature_spec, load_official_predictor, n_onehot_features, predictor_path
from ofa_dash.predictors import load_fitted_predictor as load_fitted
from ofa_dash.predictors.fit import FitConfig, MlpSpec, _MlpEnsemble, _model_spec, fit_gbrt
from ofa_dash.space import get_space

ROOT = Path(__file__).resolve().parent.parent


def stand_in(space, kind: str) -> FittedPredictor:
    """A predictor with the shape ``fit-predictor`` produces, for timing only (weights are random)."""
    torch.manual_seed(0)
    f = n_onehot_features(space)
    if kind == "mlp":
        spec = MlpSpec()
        model = _MlpEnsemble(f, spec).compile(90.0, 2.0)
    elif kind == "ridge":
        model = build_mlp([f, 1]).eval()
    else:
        rng = np.random.default_rng(0)
        x = (rng.random((800, f)) < 0.3).astype(np.float32)
        model = fit_gbrt(x, x[:, :10].sum(1) + rng.normal(0, 0.1, 800), 0, FitConfig().gbrt_trees, FitConfig().gbrt_depth)
    meta = {"model_name": f"{kind} (stand-in)", "model": _model_spec(model), "features": feature_spec(space)}
    return FittedPredictor(space, model, meta)


def time_it(predictor, g: np.ndarray, repeat: int) -> dict:
    predictor.predict(g[:1000])  # warm-up (allocator, thread pool)
    totals, feats = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = predictor.predict(g)
        totals.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        predictor.features(g)
        feats.append(time.perf_counter() - t0)
    assert out.shape == (len(g),) and np.isfinite(out).all()
    return {"best": min(totals), "median": statistics.median(totals), "features": statistics.median(feats)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--official", default=str(ROOT.parent / "shared" / "ofa-official"))
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")

    runs = []
    cifar = get_space("cifar10")
    shipped = predictor_path(cifar)
    if shipped.is_file():
        runs.append(("cifar10 shipped predictor.pt", load_fitted(shipped, cifar), cifar))
    for kind in ("mlp", "ridge", "gbrt"):
        runs.append((f"cifar10 {kind} (stand-in shape)", stand_in(cifar, kind), cifar))
    ofa = get_space("ofa-mbv3-w1.2")
    if (Path(args.official) / "acc_predictor.pth").is_file():
        runs.append(("ofa-mbv3-w1.2 OFA published MLP", load_official_predictor(ofa, args.official), ofa))
    else:
        print(f"(no {args.official}/acc_predictor.pth: OFA's predictor skipped)")

    for label, predictor, space in runs:
        g = space.sample_genomes(args.n, seed=0)
        r = time_it(predictor, g, args.repeat)
        verdict = "ok" if r["best"] < 1.0 else "over 1 s"
        print(f"{label:40s} {args.n:,} genomes: best {r['best']:.3f} s, median {r['median']:.3f} s (features {r['features']:.3f} s)  [{verdict}]")


if __name__ == "__main__":
    main()
