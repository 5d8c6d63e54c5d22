"""``download-data``: fetch a dataset the product knows into DIR (what ``--data DIR`` then reads)."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit

DATASETS = ("cifar10",)


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch waits until this command runs
    from ofa_dash.data import download_cifar10

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}; available: {list(DATASETS)}")
    path = download_cifar10(args.dir)
    emit({"dataset": args.dataset, "dir": args.dir, "archive": str(path)}, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("download-data", help="fetch a dataset (cifar10: the official 163 MB archive, MD5-checked) for --data DIR")
    p.add_argument("dataset", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("dir", help="destination folder (created if missing)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
