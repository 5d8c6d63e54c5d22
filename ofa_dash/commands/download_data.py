"""``download-data``: fetch a dataset the product knows into DIR (what ``--data DIR`` then reads)."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit

DATASETS = ("cifar10",)


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch waits until this command runs
    from ofa_dash.data import CIFAR10_CHECKSUM, CIFAR10_URL, download_cifar10

    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}; available: {list(DATASETS)}")
    url, checksum = args.url or CIFAR10_URL, args.checksum or CIFAR10_CHECKSUM
    path = download_cifar10(args.dir, url=url, checksum=checksum)
    emit({"dataset": args.dataset, "dir": args.dir, "archive": str(path), "url": url, "checksum": checksum}, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("download-data", help="fetch a dataset (cifar10: the official 163 MB archive, checksum-verified, atomic) for --data DIR")
    p.add_argument("dataset", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("dir", help="destination folder (created if missing)")
    p.add_argument("--url", help="where to fetch the archive from, e.g. a mirror (default: the official CIFAR-10 URL)")
    p.add_argument(
        "--checksum",
        help="expected checksum as ALGORITHM:HEX (md5, sha1, sha256 or sha512); default: the official archive's MD5. A download that does not match is deleted",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
