"""``fit-predictor``: fit the space's accuracy predictor on its measured subnets and save it.

``--calibrate-only`` keeps a saved predictor's weights and (re)calibrates only its accuracy
interval on its own held-out subnets (:func:`ofa_dash.predictors.fit.recalibrate`): how a file
fitted before intervals gets one without changing a single prediction.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ofa_dash.commands.common import emit
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace

TARGET_RMSE = 0.6
TARGET_TAU = 0.85


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch, scikit-learn and pyarrow wait until this command runs
    import torch

    from ofa_dash.predictors import save_predictor
    from ofa_dash.predictors.fit import FitConfig, fit_predictor
    from ofa_dash.predictors.measured import read_measured

    space = get_space(args.space)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not 0 < args.level < 100:
        raise ValueError(f"--level must be between 0 and 100 (percent), got {args.level}")
    folder = Workspace.default().space(space)
    measured_path = Path(args.measured or folder.measured)
    out = Path(args.out or folder.predictor)
    if args.calibrate_only:
        return calibrate_only(space, measured_path, out, args)
    cfg = FitConfig(
        seed=args.seed,
        test_fraction=args.test_fraction,
        folds=args.folds,
        candidates=tuple(c.strip() for c in args.candidates.split(",") if c.strip()),
        interval_level=args.level,
    )
    predictor, meta = fit_predictor(space, read_measured(measured_path, space), cfg)
    save_predictor(predictor, out)
    meets = meta["rmse"] <= TARGET_RMSE and meta["kendall_tau"] >= TARGET_TAU
    if not meets:
        print(
            f"warning: held-out RMSE {meta['rmse']:.3f} / Kendall tau {meta['kendall_tau']:.3f} miss the targets (<= {TARGET_RMSE}, >= {TARGET_TAU})",
            file=sys.stderr,
        )
    result = {
        "out": str(out),
        "model": meta["model_name"],
        "rmse": meta["rmse"],
        "kendall_tau": meta["kendall_tau"],
        "n_measured": meta["n_measured"],
        "n_train": meta["n_train"],
        "n_test": meta["n_test"],
        "supernet_version": meta["supernet_version"],
        "meets_targets": meets,
        "seconds": meta["fit_seconds"],
        "interval": meta["interval"],
        "comparison": meta["comparison"],
    }
    if args.rescore:
        from ofa_dash.rescore import rescore_runs  # deferred: like the imports above, only when asked

        result["rescored"] = rescore_runs(Workspace.default().root, space.name, predictor)
    if args.json:
        emit(result, True)
    else:
        for k, v in result.items():
            if k not in ("comparison", "rescored"):
                print(f"{k}: {v}")
        for r in result.get("rescored", []):
            print(f"re-scored {r['run_id']}: largest change {r['max_change']:.3f} points, {r['fell_off']} subnet(s) fell off its front")
        print("comparison (held-out 20 %; selection by CV inside the 80 %):")
        for r in meta["comparison"]:
            mark = "*" if r["selected"] else " "
            print(f" {mark} {r['model']:6s} rmse {r['rmse']:.3f}  tau {r['kendall_tau']:.3f}  (cv tau {r['cv_kendall_tau']:.3f}, cv rmse {r['cv_rmse']:.3f})")
    return 0


def calibrate_only(space, measured_path: Path, out: Path, args: argparse.Namespace) -> int:
    """Add (or redo) the interval of the predictor saved at ``out``: same weights, same predictions, new ``meta["interval"]``."""
    # deferred: like run(), torch, scikit-learn and pyarrow wait until this command runs
    from ofa_dash.predictors import load_fitted_predictor, save_predictor
    from ofa_dash.predictors.fit import recalibrate
    from ofa_dash.predictors.measured import read_measured

    predictor = recalibrate(load_fitted_predictor(out, space), read_measured(measured_path, space), args.level)
    save_predictor(predictor, out)
    emit({"out": str(out), "interval": predictor.interval, "weights": "unchanged"}, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("fit-predictor", help="fit the accuracy predictor on measured subnets (80/20 split; MLP vs simple alternatives)")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--measured", help="measured-subnet Parquet file (default precomputed/SPACE/measured.parquet)")
    p.add_argument("--out", help="where to save the predictor (default precomputed/SPACE/predictor.pt)")
    p.add_argument("--seed", type=int, default=0, help="seed of the 80/20 split, the CV folds and the fits")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds inside the training part (model selection)")
    p.add_argument("--candidates", default="mlp,ridge,gbrt", help="comma-separated models to compare: mlp, ridge, gbrt")
    p.add_argument("--level", type=float, default=80.0, help="percent of held-out subnets the accuracy interval should contain (default 80)")
    p.add_argument(
        "--calibrate-only",
        action="store_true",
        help="keep the saved predictor (--out) and only (re)calibrate its accuracy interval on its held-out subnets",
    )
    p.add_argument(
        "--rescore",
        action="store_true",
        help="then re-score the stored runs' accuracy objective with the new predictor (originals kept; same as the rescore command)",
    )
    p.add_argument("--threads", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
