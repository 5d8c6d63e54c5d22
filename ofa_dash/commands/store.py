"""``store``: look after the result store (``store rebuild`` rewrites a space's run manifest from its run folders)."""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit


def run_rebuild(args: argparse.Namespace) -> int:
    from ofa_dash.store import RunStore  # deferred: the CLI parses its arguments without pandas

    store = RunStore(args.store)
    count, problems = store.rebuild_manifest(args.space)
    emit({"space": args.space, "runs": count, "skipped": problems, "manifest": str(store.runs_dir(args.space) / "manifest.json")}, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("store", help="look after the result store (rebuild a run manifest)")
    actions = p.add_subparsers(dest="action", required=True)
    r = actions.add_parser("rebuild", help="rewrite a space's run manifest from the valid run folders (after a search was killed while saving)")
    r.add_argument("--space", default="cifar10")
    r.add_argument("--store", default=None, help="store root (default: OFA_DASH_PRECOMPUTED or precomputed/)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_rebuild)
