"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def emit(obj: dict, as_json: bool) -> None:
    """Print exactly one JSON object (``--json``) or readable ``key: value`` lines."""
    if as_json:
        print(json.dumps(obj))
    else:
        for k, v in obj.items():
            print(f"{k}: {v}")


def profile_summary(profile, runtime: str, out: Path) -> dict:
    """What ``profile`` and ``profile-browser`` print about a saved device profile (one contract: name, quality, correction, range)."""
    q = profile.quality
    return {
        "name": profile.name,
        "space": profile.space,
        "runtime": runtime,
        "path": str(out),
        "kendall_tau": q["kendall_tau"],
        "mape": q["mape"],
        "n_validation": q["n_validation"],
        "correction": profile.correction.to_dict(),  # kind, scale, offset_ms, and the per-stage terms where fitted
        "range_ms": profile.range_ms(),
        "n_layers": profile.meta["n_layers_timed"],
        "hardware": profile.meta["hardware"],
    }


def add_subnet_arguments(parser) -> None:
    """--space, --arch, --supernet and --official: which subnet of which weights (validate and export share them)."""
    parser.add_argument("--space", default="cifar10")
    parser.add_argument("--arch", required=True, help="largest, smallest, a subnet id, or an arch JSON object")
    add_weights_arguments(parser)


def add_weights_arguments(parser) -> None:
    """--supernet FILE and --official DIR: where the supernet weights are (every command that needs weights)."""
    parser.add_argument(
        "--supernet", help="supernet checkpoint: an ofa-dash file or OFA's published one (default: see --official, then precomputed/SPACE/supernet.pt)"
    )
    parser.add_argument(
        "--official",
        help="folder of OFA's published files (default: OFA_DASH_OFFICIAL); the official spaces' supernet is DIR/<published name>, "
        "e.g. DIR/ofa_mbv3_d234_e346_k357_w1.0, fetched by `download-official DIR --weights NAME`",
    )


def supernet_file(args: argparse.Namespace, space) -> Path:
    """The supernet weights file ``args`` point at (``--supernet``, ``--official``, ``OFA_DASH_OFFICIAL``, precomputed), or a clear error."""
    from ofa_dash.subnets import resolve_supernet_path  # deferred: subnets imports torch; the parser is built without it

    return resolve_supernet_path(space, args.supernet, args.official)
