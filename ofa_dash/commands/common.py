"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import json


def emit(obj: dict, as_json: bool) -> None:
    """Print exactly one JSON object (``--json``) or readable ``key: value`` lines."""
    if as_json:
        print(json.dumps(obj))
    else:
        for k, v in obj.items():
            print(f"{k}: {v}")


def add_subnet_arguments(parser) -> None:
    """--space, --arch and --supernet: which subnet of which weights (validate and export share them)."""
    parser.add_argument("--space", default="cifar10")
    parser.add_argument("--arch", required=True, help="largest, smallest, a subnet id, or an arch JSON object")
    parser.add_argument("--supernet", help="supernet checkpoint (default precomputed/SPACE/supernet.pt)")
