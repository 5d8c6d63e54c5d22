"""``export``: a subnet as ONNX, int8 ONNX, TorchScript + state-dict, a deployable zip bundle, or an OpenVINO IR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ofa_dash.calibration import resolve as resolve_calibration
from ofa_dash.commands.common import add_subnet_arguments, emit, supernet_file
from ofa_dash.datasets import load_for_space
from ofa_dash.export import EVAL_IMAGES, FORMATS, check_destination, export
from ofa_dash.export.common import refuse_overwrite
from ofa_dash.runtime.ort import auto_threads, torch_threads
from ofa_dash.space import get_space
from ofa_dash.subnets import WEIGHTS_CHOICES, prepare
from ofa_dash.validation import best_measurement


def _predicted(text: str | None) -> dict | None:
    """``--predicted``: the ``predict`` command's JSON object, inline or in a file."""
    if not text:
        return None
    raw = Path(text).read_text() if not text.lstrip().startswith("{") and Path(text).is_file() else text
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--predicted must be a JSON object (the output of `predict --json`) or a file holding one: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("--predicted must be a JSON object")
    return value


def run(args: argparse.Namespace) -> int:
    space = get_space(args.space)
    arch = space.parse_arch(args.arch)
    if args.format not in FORMATS:
        raise ValueError(f"unknown export format {args.format!r}; choose one of {list(FORMATS)}")
    spec = FORMATS[args.format]
    spec.check_available()  # a missing runtime package is the first thing to say
    out = check_destination(args.out)
    refuse_overwrite(spec.outputs(out), args.force)
    predicted = _predicted(args.predicted)
    supernet = supernet_file(args, space)  # a missing checkpoint is the first thing to say
    if args.no_calibration and args.data:
        raise ValueError("--no-calibration and --data contradict each other: give one")
    data = load_for_space(space, args.data, cache_dir=args.cache) if args.data else None
    calibration = None if args.no_calibration else resolve_calibration(space, data)
    if args.no_calibration:
        print(
            "warning: --no-calibration: BN statistics are NOT re-estimated for this subnet (labelled bn_recalibrated: false); "
            "its accuracy may be far below the validated one",
            file=sys.stderr,
        )
    elif data is None:
        print(f"no --data: BN statistics re-estimated on the shipped calibration sample: {calibration.describe()}", file=sys.stderr)
    with torch_threads(args.threads or auto_threads()):
        prepared = prepare(space, arch, supernet, data, calibration=calibration, weights=args.weights)
        measured = best_measurement(space.name, prepared.provenance.supernet_version, arch.id, args.store) if args.format == "bundle" else None
        result = export(prepared, args.format, args.out, data, predicted=predicted, measured=measured, eval_images=args.eval_images)
    if args.json:
        emit(result, True)
    else:
        summary = {"arch": result["arch"], "format": result["format"], "written": result.get("path") or result.get("paths")}
        if "parity" in result and "max_abs_diff" in result["parity"]:
            summary["parity"] = f"max |diff| {result['parity']['max_abs_diff']:.2e}, top-1 agreement {result['parity']['top1_agreement']:.1f} %"
        if "accuracy" in result:
            acc = result["accuracy"]
            summary["top1"] = f"fp32 {acc['fp32']['top1']:.2f} %, int8 {acc['int8']['top1']:.2f} % on {acc['fp32']['images']}"
        if "latency" in result:
            lat = result["latency"]
            summary["latency_ms"] = f"fp32 {lat['fp32']['median_ms']:.3f}, int8 {lat['int8']['median_ms']:.3f} (x{lat['speedup']:.2f})"
        if result.get("int8_vs_fp32"):
            summary["int8_vs_fp32"] = result["int8_vs_fp32"]["summary"]
        prov = result["provenance"]
        summary["bn_recalibrated"] = f"yes, on {prov['calibration']}" if prov["bn_recalibrated"] else "no (--no-calibration)"
        summary["weights"] = finetune_words(prov)
        summary["seconds"] = f"{result['seconds']:.1f}"
        emit(summary, False)
    return 0


def finetune_words(prov: dict) -> str:
    """The weights an export holds, in one line (fine-tuned ones with their epochs and before/after top-1)."""
    ft = prov.get("finetune")
    if prov.get("weights") != "finetuned" or not ft:
        return f"the supernet's ({prov['supernet_version']})"
    return f"fine-tuned for {ft['epochs']} epochs from the supernet's ({prov['supernet_version']}); test top-1 {ft['top1_before']:.2f} % -> {ft['top1_after']:.2f} % on {ft['test_images']} images"


def format_help() -> str:
    """``--format``'s help: the registry's names, "a, b, c or d"."""
    names = list(FORMATS)
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


def register(sub) -> None:
    e = sub.add_parser("export", help=f"export a subnet ({', '.join(FORMATS)}), verified after writing")
    add_subnet_arguments(e)
    e.add_argument("--format", required=True, help=format_help())
    e.add_argument(
        "--out", required=True, help="output file (torchscript also writes NAME.state.pt and NAME.json beside it; openvino: NAME.xml, with NAME.bin beside it)"
    )
    e.add_argument(
        "--data",
        help="dataset root of the space's kind (the official spaces: an ImageNet-style folder with train/ and val/): BN recalibration, "
        "parity on real test images, int8 calibration and accuracy "
        "(default: BN and int8 calibrated on the space's shipped calibration sample, the same images; no test accuracy)",
    )
    e.add_argument(
        "--no-calibration",
        action="store_true",
        help="write the model without re-estimating BN statistics (labelled bn_recalibrated: false; accuracy may be far lower)",
    )
    e.add_argument(
        "--weights",
        choices=WEIGHTS_CHOICES,
        default="supernet",
        help="supernet: the subnet as extracted from the supernet (default); finetuned: its weights from `finetune` (an error when there are none)",
    )
    e.add_argument("--eval-images", type=int, default=EVAL_IMAGES, help="test images for reported accuracies (0: all)")
    e.add_argument("--predicted", help="predicted figures for the model card: `predict --json` output, inline or a file")
    e.add_argument("--store", help="store root holding live-validation records (default precomputed/)")
    e.add_argument("--threads", type=int, help="PyTorch / ONNX Runtime threads (default: the idle cores; latency always uses 1)")
    e.add_argument("--cache", help="decoded-dataset cache folder")
    e.add_argument("--force", action="store_true", help="replace --out if it exists (never a file under the precomputed root)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=run)
