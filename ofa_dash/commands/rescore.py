"""``rescore``: recompute the stored runs' accuracy objective with the current predictor (after ``fit-predictor``).

The runs' own files are not rewritten: the new figures go beside each run with the
predictor that made them (``ofa_dash.rescore``), and the dashboard's fronts use them.
"""

from __future__ import annotations

import argparse

from ofa_dash.commands.common import emit
from ofa_dash.space import get_space


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch and pandas wait until this command runs
    from ofa_dash.predictors import load_predictor
    from ofa_dash.rescore import rescore_runs

    space = get_space(args.space)
    predictor = load_predictor(space, official_dir=args.official, precomputed_dir=args.precomputed)
    results = rescore_runs(args.precomputed, space.name, predictor, args.run or None)
    if args.json:
        emit({"space": space.name, "predictor": results[0]["predictor"] if results else None, "runs": results}, True)
    else:
        if not results:
            print(f"no stored {space.name} run has an error objective: nothing to re-score")
        for r in results:
            print(f"{r['run_id']}: {r['rows']} rows re-scored (largest change {r['max_change']:.3f} points); {r['fell_off']} subnet(s) fell off its front")
    return 0


def register(sub) -> None:
    p = sub.add_parser("rescore", help="re-score stored runs' accuracy with the current predictor (originals kept)")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--run", action="append", help="a run id (repeat for several; default: every run with an error objective)")
    p.add_argument("--official", help="folder laid out like ofa-official/ (spaces that use OFA's predictor)")
    p.add_argument("--precomputed", default=None, help="artifact root (default: OFA_DASH_PRECOMPUTED or the shipped precomputed/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
