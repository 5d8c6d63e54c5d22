"""``python -m ofa_dash``: every pipeline step as a command (the dashboard calls the same functions)."""

from __future__ import annotations

import argparse
import sys

from ofa_dash.commands import register_all


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ofa_dash", description=__doc__)
    register_all(p.add_subparsers(dest="command", required=True))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
