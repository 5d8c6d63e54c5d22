"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import json
from pathlib import Path

PRECOMPUTED = Path(__file__).resolve().parent.parent.parent / "precomputed"


def emit(obj: dict, as_json: bool) -> None:
    """Print exactly one JSON object (``--json``) or readable ``key: value`` lines."""
    if as_json:
        print(json.dumps(obj))
    else:
        for k, v in obj.items():
            print(f"{k}: {v}")
