"""``download-official``: fetch OFA's published predictor and Note10 tables, or (``--weights``) its supernet checkpoints, into DIR."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit
from ofa_dash.space import PUBLISHED_WEIGHTS


def run(args: argparse.Namespace) -> int:
    # deferred: the predictors package imports torch
    from ofa_dash.predictors.official import OFFICIAL_FILES, download_official, weights_files

    files = weights_files(args.weights) if args.weights else OFFICIAL_FILES
    status = download_official(args.dir, base_url=args.base_url, files=files, force=args.force)
    emit({"dir": args.dir, "files": status}, args.json)
    return 0


def register(sub) -> None:
    from ofa_dash.predictors.official import OFFICIAL_BASE_URL  # deferred: the predictors package imports torch

    p = sub.add_parser(
        "download-official",
        help="fetch OFA's acc_predictor.pth and Note10 tables, or with --weights a published supernet checkpoint (use the folder with --official DIR)",
    )
    p.add_argument("dir", help="destination folder (created if missing)")
    p.add_argument(
        "--weights",
        choices=[*PUBLISHED_WEIGHTS, "all"],
        help="fetch OFA's published supernet checkpoint NAME (or all of them) into DIR/NAME instead of the predictor and tables; "
        "each is checked by loading it into its space's supernet",
    )
    p.add_argument(
        "--base-url", default=OFFICIAL_BASE_URL, help="mirror of https://raw.githubusercontent.com/han-cai/files/master/ofa/ (checkpoints: BASE/ofa_nets/NAME)"
    )
    p.add_argument("--force", action="store_true", help="fetch again even when a valid copy is present (it is replaced only by a checked one)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
