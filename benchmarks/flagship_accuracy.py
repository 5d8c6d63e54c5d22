"""Test-split accuracy of the shipped cifar10 supernet (issue 3's targets): largest, smallest, median of 20 random.

Usage: python benchmarks/flagship_accuracy.py [--supernet PATH] [--data DIR] [--cache DIR] [--n-random 20] [--seed 0]
       [--out benchmarks/results/flagship_accuracy.json]

Every subnet is extracted, its BN statistics re-estimated on 2,000 training
images, and evaluated on all 10,000 test images (no fine-tuning), exactly as
``python -m ofa_dash validate`` does. The random subnets are drawn with a
fixed seed, so a rerun measures the same ones. Nothing is recorded in the
store; the figures are printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.data import load_dataset  # noqa: E402
from ofa_dash.hardware import count  # noqa: E402
from ofa_dash.space import DRAFT_SPACES, get_space  # noqa: E402
from ofa_dash.validation import validate_subnet  # noqa: E402

TARGETS = {"largest": 92.0, "smallest": 85.0, "median_random": 89.0}  # the flagship issue's bars


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="cifar10", help="cifar10, or cifar10-v2 for the flagship in training")
    ap.add_argument("--supernet", help="default: precomputed/SPACE/supernet.pt (training/cifar10-v2/supernet.pt for cifar10-v2)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared/datasets/cifar10-jpeg"))
    ap.add_argument("--cache")
    ap.add_argument("--n-random", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/flagship_accuracy.json"))
    args = ap.parse_args()

    space = get_space(args.space)
    if args.supernet is None:
        args.supernet = str(ROOT / ("training" if space.name in DRAFT_SPACES else "precomputed") / space.name / "supernet.pt")
    data = load_dataset(Path(args.data), cache_dir=Path(args.cache) if args.cache else None)
    named = [("largest", space.largest()), ("smallest", space.smallest())]
    named += [(f"random-{i + 1}", a) for i, a in enumerate(space.sample(args.n_random, seed=args.seed))]
    rows = []
    versions = set()
    start = time.perf_counter()
    for label, arch in named:
        t0 = time.perf_counter()
        res = validate_subnet(space, arch, args.supernet, data, threads=args.threads, measure_latency=False, record=False)
        versions.add(res.supernet_version)
        c = count(space, space.encode([arch]))
        rows.append(
            {
                "label": label,
                "id": arch.id,
                "r": arch.r,
                "top1_test": round(res.top1, 2),
                "top5_test": round(res.top5, 2),
                "n_images": res.n_images,
                "macs_m": round(float(c["macs"][0]) / 1e6, 2),
                "params_m": round(float(c["params"][0]) / 1e6, 3),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        r = rows[-1]
        print(
            f"{label:>10}  {r['id']}  r={r['r']}  top-1 {r['top1_test']:6.2f}  top-5 {r['top5_test']:6.2f}  {r['macs_m']:6.2f} M MACs  ({r['seconds']} s)",
            flush=True,
        )
    random_top1 = [r["top1_test"] for r in rows if r["label"].startswith("random")]
    summary = {
        "largest": rows[0]["top1_test"],
        "smallest": rows[1]["top1_test"],
        "median_random": round(statistics.median(random_top1), 2) if random_top1 else None,
        "min_random": min(random_top1, default=None),
        "max_random": max(random_top1, default=None),
        "targets": TARGETS,
    }
    out = {
        "supernet": os.path.relpath(args.supernet, ROOT),
        "supernet_version": versions.pop() if len(versions) == 1 else sorted(versions),
        "n_random": args.n_random,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - start, 1),
        "load_average": os.getloadavg(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "summary": summary,
        "subnets": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
