"""``validate``: BN recalibration + test accuracy + measured latency of one subnet (live validation)."""

from __future__ import annotations

import argparse
import sys

from ofa_dash.commands.common import add_subnet_arguments, emit, supernet_file
from ofa_dash.progress import progress_bar
from ofa_dash.space import get_space


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch and ONNX Runtime wait until this command runs
    from ofa_dash.validation import validate_subnet

    space = get_space(args.space)
    arch = space.parse_arch(args.arch)
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage in ("evaluating", "evaluating int8"):
            bar = bars.get(stage) or bars.setdefault(stage, progress_bar(total=total, desc=stage, unit="img"))
            bar.update(done - bar.n)
        elif stage == "recalibrating" and done == 0 and stage not in bars:
            bars[stage] = True  # BN re-estimation reports start and end only: say what the first minutes are spent on
            print(f"re-estimating BN statistics on up to {total:,} training images ...", file=sys.stderr)
        elif stage == "waiting" and stage not in bars:
            bars[stage] = True
            print("another validation is running; waiting for it to finish ...", file=sys.stderr)

    try:
        result = validate_subnet(
            space,
            arch,
            supernet_path=supernet_file(args, space),
            data_root=args.data,
            limit=args.limit,
            progress=progress,
            threads=args.threads,
            measure_latency=not args.no_latency,
            record=not args.no_record,
            store_root=args.store,
            cache_dir=args.cache,
            int8=args.int8,
        )
    finally:
        for bar in bars.values():
            if hasattr(bar, "close"):
                bar.close()
    out = result.to_dict()
    if args.json:
        emit(out, True)
    else:
        lat = f"{out['latency_ms']:.3f} ms (IQR {out['latency_iqr_ms']:.3f}), {out['latency_label']}" if out["latency_ms"] is not None else "not measured"
        if out.get("latency_busy"):
            lat += f"; WARNING: the machine was busy while timing ({out['latency_busy_reason']})"
        emit(
            {
                "arch": out["arch"],
                "top1": f"{out['top1']:.2f} %",
                "top5": f"{out['top5']:.2f} %",
                "n_images": f"{out['n_images']} ({out['subset']})",
                **({"top1_int8": f"{out['top1_int8']:.2f} % (int8 model, same images)"} if "top1_int8" in out else {}),
                "latency_ms": lat,
                "seconds": f"{out['seconds']:.1f}",
                "supernet_version": out["supernet_version"],
                "data": out["data"],
                "recorded_to": out["recorded_to"],
            },
            False,
        )
    return 0


def register(sub) -> None:
    v = sub.add_parser("validate", help="BN recalibration + test accuracy + measured latency of one subnet")
    add_subnet_arguments(v)
    v.add_argument(
        "--data",
        required=True,
        help="dataset root of the space's kind: CIFAR-10 (cifar10) or an ImageNet-style folder with train/ and val/ (the official spaces); see README",
    )
    v.add_argument("--limit", type=int, help="evaluate a fixed class-balanced subset of N test (ImageNet: val) images")
    v.add_argument("--threads", type=int, help="ONNX Runtime threads for the accuracy pass (latency always uses 1)")
    v.add_argument(
        "--int8",
        action="store_true",
        help="also quantize the subnet to int8 (the int8 export's settings) and score it on the same images: a measured pair for the int8 drop model",
    )
    v.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    v.add_argument("--no-record", action="store_true", help="do not record the result in the store")
    v.add_argument("--store", help="store root to record into (default precomputed/)")
    v.add_argument("--cache", help="decoded-dataset cache folder")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run)
