"""``profile-browser``: build a device profile in headless Chromium on this machine (onnxruntime-web, WASM, 1 thread).

The same plan, model files, browser code and builder as the dashboard's
"Profile a browser" page; ``--trial N`` times only N layers and two subnets,
saves nothing, and projects how long the full run would take.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ofa_dash.commands.common import emit, profile_summary
from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch waits until this command runs
    from ofa_dash.data import default_cache_dir
    from ofa_dash.hardware import browser as bp
    from ofa_dash.hardware.browser_headless import run_headless
    from ofa_dash.hardware.profile_build import ProfilePlan, plan_profile
    from ofa_dash.hardware.profile_format import save_profile

    space = get_space(args.space)
    name = args.name or f"chromium-{args.backend}"
    settings = bp.BrowserSettings(name, args.n_calibration, args.n_validation, args.seed, backend=args.backend)
    if args.quick:
        settings = bp.BrowserSettings(name, args.n_calibration, args.n_validation, args.seed, bp.QUICK_POLICY, bp.QUICK_POLICY, args.backend)
    out = Path(args.out) if args.out else Workspace.default().space(space).profile(name)
    if args.trial is None and out.exists() and not args.force:
        raise ValueError(f"{out} already exists; pass --force to replace it (or choose another --name / --out)")
    if args.trial is not None and args.trial < 1:
        raise ValueError(f"--trial must be >= 1 layer, got {args.trial}")
    bp.check_web_files()
    plan = plan_profile(space, settings.n_calibration, settings.n_validation, settings.seed)
    timed_plan = plan
    if args.trial is not None:
        timed_plan = ProfilePlan(plan.space, dict(list(plan.layers.items())[: args.trial]), plan.subnets[:2], plan.seed)
    folder = bp.models_folder(default_cache_dir(), space)
    started = time.time()
    export_seconds: dict = {}
    models = bp.write_plan_models(space, timed_plan, folder, progress=None if args.quiet else _printer("exported"), seconds=export_seconds)
    exported = time.time() - started
    manifest = bp.make_manifest(space, settings, models)
    result = run_headless(manifest, folder, progress=None if args.quiet else _printer("timed"), software_gpu=not args.hardware_gpu)
    total = time.time() - started
    if args.trial is not None:
        emit(
            {
                "space": space.name,
                "trial_layers": len(timed_plan.layers),
                "trial_subnets": len(timed_plan.subnets),
                "layers_in_space": len(plan.layers),
                "subnets_in_full_run": len(plan.subnets),
                "browser_seconds": result["seconds"],
                "export_seconds": exported,
                "projected_full_minutes": bp.project_seconds(result, manifest, len(plan.layers), len(plan.subnets), export_seconds) / 60,
                "backend": args.backend,
                "runtime_version": result.get("runtime_version"),
                "user_agent": result.get("user_agent"),
                "gpu": result.get("gpu"),
                "note": "nothing saved; projection = per-layer and per-subnet browser time of this trial x the full plan's counts, plus model export",
            },
            args.json,
        )
        return 0
    profile = bp.profile_from_result(space, name, manifest, result)
    save_profile(profile, out)
    emit({**profile_summary(profile, args.backend, out), "browser_minutes": result["seconds"] / 60, "minutes": total / 60}, args.json)
    return 0


def _printer(what: str):
    last = [0.0]

    def show(done: int, total: int, label: str) -> None:
        now = time.time()
        if done == total or now - last[0] > 5:
            last[0] = now
            print(f"{what} {done}/{total} ({label})", file=sys.stderr, flush=True)

    return show


def register(sub) -> None:
    p = sub.add_parser("profile-browser", help="build a device latency table in headless Chromium here (onnxruntime-web, WASM, 1 thread)")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--name", help="device name (a-z, 0-9, . _ -; default chromium-BACKEND); becomes precomputed/SPACE/devices/NAME.json")
    p.add_argument("--backend", choices=["wasm", "webgpu"], default="wasm", help="onnxruntime-web backend: wasm (1 thread, the shipped profile) or webgpu")
    p.add_argument(
        "--hardware-gpu", action="store_true", help="webgpu: use the GPU Chromium's Vulkan finds instead of SwiftShader (software, only checks the flow)"
    )
    p.add_argument("--n-calibration", type=int, default=40, help="random subnets timed end to end to fit the correction")
    p.add_argument("--n-validation", type=int, default=60, help="further random subnets, used only to report Kendall tau and MAPE")
    p.add_argument("--seed", type=int, default=0, help="seed of the random subnets and weights")
    p.add_argument("--quick", action="store_true", help="a few timed runs per model: checks the flow in seconds, figures are rough")
    p.add_argument("--trial", type=int, metavar="N", help="time only the first N layers and 2 subnets, save nothing, print the projected full duration")
    p.add_argument("--out", help="output file (default precomputed/SPACE/devices/NAME.json)")
    p.add_argument("--force", action="store_true", help="replace an existing profile")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
