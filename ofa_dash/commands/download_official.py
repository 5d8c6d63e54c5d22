"""``download-official``: fetch OFA's published predictor and Note10 latency tables into DIR."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit


def run(args: argparse.Namespace) -> int:
    from ofa_dash.predictors.official import download_official  # deferred: the predictors package imports torch

    status = download_official(args.dir, base_url=args.base_url, force=args.force)
    emit({"dir": args.dir, "files": status}, args.json)
    return 0


def register(sub) -> None:
    from ofa_dash.predictors.official import OFFICIAL_BASE_URL  # deferred: the predictors package imports torch

    p = sub.add_parser("download-official", help="fetch OFA's acc_predictor.pth and Note10 tables (use the folder with --official DIR)")
    p.add_argument("dir", help="destination folder (created if missing)")
    p.add_argument("--base-url", default=OFFICIAL_BASE_URL, help="mirror of https://raw.githubusercontent.com/han-cai/files/master/ofa/")
    p.add_argument("--force", action="store_true", help="fetch again even when a valid copy is present")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
