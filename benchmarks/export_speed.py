"""How long export takes (targets: onnx under 5 s, bundle under 30 s with int8 calibration), with parity and int8 figures.

Usage: python benchmarks/export_speed.py [--supernet PATH] [--data DIR] [--cache DIR] [--archs largest,smallest] [--eval-images N] [--threads N]

For each subnet: ``export --format onnx`` cold (BN recalibration included)
and warm (recalibrated subnet cached, as after a live validation), then
``--format bundle`` (fp32 + int8 ONNX, int8 calibration, accuracy of both on
``--eval-images`` test images, 1-thread latency of both, model card, zip).
Prints parity (ONNX Runtime vs PyTorch on real test images), int8 top-1 drop
and speed-up. ``--eval-images 0`` evaluates on all 10,000 test images.

Without ``precomputed/cifar10/supernet.pt`` a randomly initialised stand-in
is timed (same work; accuracies meaningless). The 1-minute load average is
printed: timings on a shared CPU are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--supernet", help="default: precomputed/cifar10/supernet.pt, else a random stand-in")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cifar10-jpeg"))
    p.add_argument("--cache", help="decoded-dataset cache folder")
    p.add_argument("--archs", default="largest,smallest", help="comma-separated: largest, smallest, ids or JSON")
    p.add_argument("--eval-images", type=int, default=2000, help="test images for fp32/int8 accuracy (0: all)")
    p.add_argument("--threads", type=int, help="default: auto_threads() (the idle cores)")
    args = p.parse_args()

    from ofa_dash.data import default_cache_dir, load_dataset

    work = Path(tempfile.mkdtemp(prefix="ofa-dash-bench-"))
    args.cache = args.cache or str(default_cache_dir())
    os.environ["OFA_DASH_CACHE"] = str(work / "cache")  # recalibrated subnets start cold

    # ofa_dash is imported only now, on purpose: after OFA_DASH_CACHE points at the cold cache
    from validate_speed import stand_in_supernet

    from ofa_dash.export import export
    from ofa_dash.runtime.ort import auto_threads, torch_threads
    from ofa_dash.space import get_space
    from ofa_dash.subnets import default_supernet_path, load_supernet, prepare

    space = get_space("cifar10")
    supernet = Path(args.supernet) if args.supernet else default_supernet_path(space)
    if not supernet.is_file():
        print(f"{supernet} not found: timing a randomly initialised stand-in (same work, accuracy meaningless)")
        supernet = stand_in_supernet(work)
    threads = args.threads or auto_threads()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; threads: {threads}")
    data = load_dataset(args.data, cache_dir=args.cache)
    loaded = load_supernet(space, supernet)
    print(f"supernet: {loaded.version}; data: {data.source}")
    with torch_threads(threads):
        for name in args.archs.split(","):
            arch = space.parse_arch(name)
            for run in ("cold", "warm"):
                t = time.perf_counter()
                prepared = prepare(space, arch, loaded, data)
                prep = time.perf_counter() - t
                res = export(prepared, "onnx", work / f"{arch.id}.onnx", data)
                par = res["parity"]
                print(
                    f"{name} ({arch.id}) onnx, {run}: {prep + res['seconds']:.1f} s (prepare {prep:.1f} + export/verify {res['seconds']:.1f}); "
                    f"parity on {par['inputs']}: max |diff| {par['max_abs_diff']:.2e}, top-1 agreement {par['top1_agreement']:.1f} %"
                )
            t = time.perf_counter()
            prepared = prepare(space, arch, loaded, data)
            res = export(prepared, "bundle", work / f"{arch.id}.zip", data, eval_images=args.eval_images)
            total = time.perf_counter() - t
            acc, lat = res["accuracy"], res["latency"]
            print(
                f"{name} ({arch.id}) bundle (warm): {total:.1f} s, {res['bytes'] / 1e6:.1f} MB; "
                f"top-1 fp32 {acc['fp32']['top1']:.2f} % / int8 {acc['int8']['top1']:.2f} % (drop {acc['top1_drop']:.2f} points, {acc['fp32']['images']}); "
                f"latency fp32 {lat['fp32']['median_ms']:.3f} ms / int8 {lat['int8']['median_ms']:.3f} ms (x{lat['speedup']:.2f}); "
                f"int8/fp32 top-1 agreement {res['int8_agreement_with_fp32']['top1_agreement']:.1f} %"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
