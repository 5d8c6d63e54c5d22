"""``download-cifar10``: fetch the official CIFAR-10 python archive into DIR (what ``--data DIR`` then reads)."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit


def run(args: argparse.Namespace) -> int:
    from ofa_dash.data import download_cifar10  # deferred: the CLI parses its arguments without PyTorch

    path = download_cifar10(args.dir)
    emit({"dir": args.dir, "archive": str(path)}, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("download-cifar10", help="fetch the official CIFAR-10 archive (163 MB, MD5-checked) for --data DIR")
    p.add_argument("dir", help="destination folder (created if missing)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
