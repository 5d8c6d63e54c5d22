"""``ladder``: K subnets of the stored Pareto front spread over one device's latency range, as a folder of verified ONNX models.

The front is the Fronts page's (predicted top-1 against latency on the device,
over the chosen stored runs); the folder holds the models, ``ladder.json`` and
a standard-library ``pick.py`` (``python pick.py 0.5``: the most accurate model
within 0.5 ms).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ofa_dash.calibration import resolve as resolve_calibration
from ofa_dash.commands.common import emit, supernet_file
from ofa_dash.datasets import load_for_space
from ofa_dash.export.common import refuse_overwrite
from ofa_dash.ladder.build import MANIFEST, PICKER, build_ladder, check_ladder_destination
from ofa_dash.ladder.rungs import LadderColumns, select_rungs
from ofa_dash.runtime.ort import auto_threads, torch_threads
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace, default_root


def run(args: argparse.Namespace) -> int:
    from ofa_dash.ui.catalogue import LATENCY_PREFIX, build_catalogue  # deferred: the front needs pymoo; the CLI starts on GPU images without it
    from ofa_dash.ui.ladder_view import device_source, ladder_front  # deferred: imports ui.catalogue (pymoo)

    space = get_space(args.space)
    out = check_ladder_destination(args.out, args.force)
    root = Path(args.store) if args.store else default_root()
    for served in {Workspace(root), Workspace.default()}:
        refuse_overwrite([out], force=True, protected=served)  # never inside a precomputed root the dashboard serves
    supernet = supernet_file(args, space)  # a missing checkpoint is the first thing to say
    run_ids = [r.strip() for r in args.runs.split(",") if r.strip()] if args.runs else None
    cat = build_catalogue(root, space.name, run_ids, official=args.official, sets=("archive",))
    for line in cat.problems:
        print(f"warning: {line}", file=sys.stderr)
    if not len(cat.points):
        raise ValueError(f"no stored search runs for {space.name} under {str(root)!r}; run `python -m ofa_dash search` first")
    rungs = select_rungs(ladder_front(cat, args.device), LadderColumns(LATENCY_PREFIX + args.device), args.k)
    data = load_for_space(space, args.data, cache_dir=args.cache) if args.data else None
    calibration = resolve_calibration(space, data, root)  # refuses (nothing written) when there are no images
    if data is None:
        print("no --data: BN statistics re-estimated on the shipped calibration sample", file=sys.stderr)

    def progress(done: int, total: int, arch_id: str) -> None:
        if arch_id and not args.json:
            print(f"[{done + 1}/{total}] exporting {arch_id}", file=sys.stderr)

    with torch_threads(args.threads or auto_threads()):
        manifest = build_ladder(
            space,
            rungs,
            LadderColumns(LATENCY_PREFIX + args.device),
            args.device,
            device_source(cat, args.device),
            out,
            data,
            supernet,
            args.force,
            progress,
            calibration=calibration,
        )
    if args.json:
        emit({"out": str(out), "manifest": MANIFEST, "picker": PICKER, **manifest}, True)
    else:
        rows = {
            m[
                "file"
            ]: f"top-1 {m['objectives']['top1']['value']:.2f} %, {m['objectives']['latency_ms']['value']:.3f} ms, parity max |diff| {m['verification']['parity']['max_abs_diff']:.1e}"
            for m in manifest["models"]
        }
        emit({"written": str(out), **rows, "latency": manifest["latency_source"], "try": f"python {out / PICKER} <budget_ms>"}, False)
    return 0


def register(sub) -> None:
    p = sub.add_parser("ladder", help="export K front subnets spread over a device's latency range, with a manifest and a picker")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--device", required=True, help="the device whose latency spreads the ladder (a table of the catalogue)")
    p.add_argument("--k", type=int, default=4, help="how many models (default 4)")
    p.add_argument("--out", required=True, help="output folder (created; an existing non-empty one needs --force)")
    p.add_argument("--runs", help="comma-separated run ids (default: every stored run of the space)")
    p.add_argument("--data", help="dataset root for BN recalibration and parity (default: the space's shipped calibration sample)")
    p.add_argument("--supernet", help="supernet checkpoint (default precomputed/SPACE/supernet.pt)")
    p.add_argument("--store", help="store root holding the runs (default: OFA_DASH_PRECOMPUTED or precomputed/)")
    p.add_argument(
        "--official",
        help="folder laid out like ../shared/ofa-official (OFA's predictor and Note10 tables; for the official spaces also their checkpoint, DIR/<published name>)",
    )
    p.add_argument("--threads", type=int, help="PyTorch / ONNX Runtime threads (default: the idle cores)")
    p.add_argument("--cache", help="decoded-dataset cache folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
