"""``measure``: true holdout top-1 of many subnets (resumable), the predictor's training data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ofa_dash.commands.common import add_weights_arguments, emit, supernet_file
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch and pyarrow wait until this command runs
    from ofa_dash.measure import MeasureConfig, run_measurement

    space = get_space(args.space)
    archs = tuple(space.parse_arch(a) for a in args.arch.split(",") if a.strip()) if args.arch else None
    if args.n is None and not archs:
        raise ValueError("say what to measure: --n N (the seeded plan) or --arch ID[,ID...] (those subnets)")
    cfg = MeasureConfig(
        space=space,
        n=len(archs) if archs else args.n,
        archs=archs,
        data_dir=Path(args.data),
        supernet_path=supernet_file(args, space),
        out_path=Path(args.out or Workspace.default().space(space).measured),
        seed=args.seed,
        n_calib=args.calib_images,
        cache_dir=Path(args.cache) if args.cache else None,
        engine=args.engine,
        threads=args.threads,
        workers=args.workers,
        device=args.device,
    )
    summary = run_measurement(cfg)
    if summary.rank == 0:  # under torchrun, rank 0 has merged every rank's share and reports the totals
        emit(summary.to_dict(), args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "measure",
        help="measure holdout top-1 of random and anchor subnets (resumable; appends to a Parquet file; under torchrun each rank measures its share)",
    )
    p.add_argument("--space", default="cifar10")
    p.add_argument(
        "--n",
        "--subnets",
        dest="n",
        type=int,
        help="subnets in the plan: largest, smallest, uniform ones, then seeded random ones (under torchrun write --subnets: torchrun reads --n as its own)",
    )
    p.add_argument(
        "--arch",
        help="measure exactly these subnets instead (comma-separated ids, `largest`, `smallest`): a shortlist's holdout top-1 added to the predictor's data",
    )
    p.add_argument("--data", required=True, help="dataset root (see README); the holdout split of its training set is used")
    add_weights_arguments(p)
    p.add_argument("--out", help="Parquet file to append to (default precomputed/SPACE/measured.parquet)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random part of the plan")
    p.add_argument("--calib-images", type=int, default=2000, help="training images for BN recalibration")
    p.add_argument("--engine", choices=["ort", "torch"], default="ort", help="evaluate with ONNX Runtime (default, faster) or PyTorch eager")
    p.add_argument("--threads", type=int, help="PyTorch / ONNX Runtime threads (default: the cores the load average leaves free)")
    p.add_argument("--workers", type=int, default=1, help="processes measuring at once (each single-threaded unless --threads)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda to measure on a GPU (with --engine torch)")
    p.add_argument("--cache", help="decoded-dataset cache folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
