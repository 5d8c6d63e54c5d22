"""``profile``: build a device latency table on this machine (layers, whole subnets, correction, quality)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ofa_dash.commands.common import emit, profile_summary
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace

QUALITY_MIN_VALIDATION = 50  # the quality bar is judged on at least this many held-out subnets


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch and ONNX Runtime wait until this command runs
    from ofa_dash.hardware.profile_format import save_profile
    from ofa_dash.hardware.profiler import ProfileConfig, profile_device
    from ofa_dash.hardware.runtimes import default_calibration_subnets, make_runtime

    space = get_space(args.space)
    if args.refit:
        return _refit(args, space)
    if not args.runtime:
        raise ValueError("--runtime is required (or pass --refit to refit an existing profile)")
    config = ProfileConfig(
        runtime=args.runtime,
        name=args.name,
        n_calibration=args.n_calibration if args.n_calibration is not None else default_calibration_subnets(args.runtime),
        n_validation=args.n_validation,
        batch_size=args.batch_size,
        threads=args.threads,
        seed=args.seed,
    )
    if args.repeats is not None:
        config = config.with_repeats(args.repeats)
    out = Path(args.out) if args.out else Workspace.default().space(space).profile(args.name)
    if out.exists() and not args.force:
        raise ValueError(f"{out} already exists; pass --force to replace it (or choose another --name / --out)")
    runtime = make_runtime(args.runtime, args.threads, args.batch_size)  # fails now, not after minutes, when e.g. CUDA is absent
    profile = profile_device(space, config, runtime=runtime, show_progress=not args.quiet)
    save_profile(profile, out)
    q = profile.quality
    result = {**profile_summary(profile, args.runtime, out), "machine": profile.meta["machine"], "minutes": profile.meta["minutes"]}
    if q["n_validation"] < QUALITY_MIN_VALIDATION:
        result["note"] = f"only {q['n_validation']} validation subnets; the quality bar is judged on >= {QUALITY_MIN_VALIDATION}"
    emit(result, args.json)
    return 0


def _refit(args: argparse.Namespace, space) -> int:
    # deferred: every command module is imported to build the parser; torch and ONNX Runtime wait until this command runs
    from ofa_dash.hardware.profile_build import refit_correction
    from ofa_dash.hardware.profile_format import load_profile, save_profile

    path = Path(args.out) if args.out else Workspace.default().space(space).profile(args.name)
    before = load_profile(path, space)  # a missing or broken file fails here, before anything is written
    after = refit_correction(before, space)
    save_profile(after, path)
    emit(
        {
            "name": after.name,
            "path": str(path),
            "correction_before": before.correction.to_dict(),
            "correction": after.correction.to_dict(),
            "mape_before": before.quality["mape"],
            "mape": after.quality["mape"],
            "kendall_tau": after.quality["kendall_tau"],
        },
        args.json,
    )
    return 0


def register(sub) -> None:
    # deferred: every command module is imported to build the parser; torch and ONNX Runtime wait until this command runs
    from ofa_dash.hardware.profile_format import RUNTIMES

    p = sub.add_parser("profile", help="build a device latency table on this machine")
    p.add_argument("--space", default="cifar10")
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="ort (ONNX Runtime fp32), ort-int8 (static int8), torch (eager CPU), cuda, openvino (OpenVINO CPU plugin, fp32; needs the openvino package)",
    )
    p.add_argument("--name", required=True, help="device name (a-z, 0-9, . _ -); becomes precomputed/SPACE/devices/NAME.json")
    p.add_argument(
        "--n-calibration",
        type=int,
        default=None,
        help="random subnets timed end to end to fit the correction (default 40; ort, ort-int8 and openvino 120, for the per-stage corrections)",
    )
    p.add_argument("--n-validation", type=int, default=60, help="further random subnets, used only to report Kendall tau and MAPE")
    p.add_argument("--repeats", type=int, help="cap on timed runs per layer and per subnet (default 400 / 2000, fewer for costly ones)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (1 for the shipped CPU profiles)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random subnets and weights")
    p.add_argument("--out", help="output file (default precomputed/SPACE/devices/NAME.json)")
    p.add_argument("--force", action="store_true", help="replace an existing profile")
    p.add_argument("--refit", action="store_true", help="time nothing: fit NAME's correction again on its stored calibration subnets and rewrite it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
