"""Validation throughput on ImageNet-sized JPEGs (images/s), for the w1.0 space's largest and smallest subnets at 224 px.

Usage: python benchmarks/imagenet_validate_speed.py [--val N] [--threads N] [--official DIR]

Writes a synthetic ImageNet-style folder to a temporary directory (1,000 class
folders; ``--val`` JPEGs of 500x375 px, ImageNet's typical size, spread over
the first classes, and as many training images), then prints:

- the data pipeline alone: JPEG decode + OFA's evaluation preprocessing
  (resize to 256, centre crop 224, normalise) in images/s;
- ``validate_subnet`` for the largest and the smallest subnet at 224 px: BN
  recalibration on the training images, ONNX export, ONNX Runtime evaluation of
  every val image; the evaluation stage's images/s and the whole call's seconds.

Without OFA's checkpoint (``--official DIR`` holding ofa_mbv3_d234_e346_k357_w1.0)
seeded random weights in the published layout stand in: the work, hence the
time, is the same; the accuracy is not meaningful. The 1-minute load average is
printed: figures on a shared CPU are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--val", type=int, default=256, help="val (and training) images to write")
    p.add_argument("--threads", type=int, help="PyTorch / ONNX Runtime threads (default: auto)")
    p.add_argument("--official", help="folder holding OFA's w1.0 checkpoint (default: seeded random weights)")
    args = p.parse_args()

    import torch

    from ofa_dash.checkpoints import ofa_published_state
    from ofa_dash.datasets import load_for_space
    from ofa_dash.nn import Supernet
    from ofa_dash.space import get_space
    from ofa_dash.subnets import load_supernet
    from ofa_dash.testing.imagenet import make_imagenet_folder
    from ofa_dash.validation import validate_subnet

    space = get_space("ofa-mbv3-w1.0")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        per_class = 16
        filled = max(1, args.val // per_class)
        t = time.perf_counter()
        make_imagenet_folder(tmp / "imagenet", filled=filled, per_class_train=per_class, per_class_val=per_class, size=(500, 375))
        print(
            f"synthetic folder: {filled * per_class} val + {filled * per_class} train JPEGs of 500x375 px, 1000 class folders ({time.perf_counter() - t:.1f} s to write)"
        )
        if args.official:
            weights = Path(args.official) / space.published_weights
            source = str(weights)
        else:
            torch.manual_seed(0)
            weights = tmp / space.published_weights
            torch.save({"state_dict": ofa_published_state(Supernet(space))}, weights)
            source = "seeded random weights in the published layout"
        data = load_for_space(space, tmp / "imagenet")
        t = time.perf_counter()
        n = sum(len(y) for _, y in data.test.batches(64, space.mean, space.std, 224))
        pipe = n / (time.perf_counter() - t)
        print(f"decode + preprocess (224 px, {data.test.threads} decode threads): {pipe:.1f} images/s over {n} images")
        loaded = load_supernet(space, weights)
        os.environ.setdefault("OFA_DASH_CACHE", str(tmp / "cache"))  # a cold recalibration cache
        for name in ("largest", "smallest"):
            arch = replace(space.parse_arch(name), r=224)
            res = validate_subnet(space, arch, loaded, data, threads=args.threads, measure_latency=False, record=False)
            ev = res.stage_seconds.get("evaluate", float("nan"))
            print(
                f"{name:8s} {arch.id} @224: evaluation {res.n_images / ev:.1f} images/s ({res.n_images} val images in {ev:.1f} s, "
                f"{res.eval_threads} ORT threads); whole validation {res.seconds:.1f} s (BN recalibration on {res.calib_images} images "
                f"{res.stage_seconds.get('recalibrate', float('nan')):.1f} s)"
            )
        print(f"weights: {source}; load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
