"""What fine-tuning buys (issue 19): test top-1 before and after a few CPU epochs for the smallest, a median and the largest subnet.

Usage: python benchmarks/finetune_gain.py [--space cifar10] [--subnets smallest,median,largest] [--epochs 3]
       [--supernet PATH] [--data DIR] [--cache DIR] [--threads 2] [--time-limit MIN] [--resume]
       [--out benchmarks/results/finetune_gain_<space>.json]

Each subnet runs ``python -m ofa_dash finetune``'s function (the extracted
subnet trained further with the ``cpu`` recipe's fine-tuning defaults: lr
0.03, labels only; seeded) and is scored on the whole test split before and after,
both after the same BN re-estimation that validation and export use. The
"median" subnet is the space's middle choice everywhere (kernel, expand,
depth and resolution). Prints, per subnet: MACs, top-1 before and after, the
gain, the per-epoch holdout curve and the minutes it took, with the load
average; the fine-tuned weights land where ``export --weights finetuned``
finds them (``finetuned/<id>/`` beside the supernet). ``--time-limit`` stops
cleanly (checkpointed) and ``--resume`` continues: run it again with
``--resume`` and finished subnets are read back from their records instead of
being trained again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ofa_dash.data import load_dataset  # noqa: E402
from ofa_dash.finetune import FinetuneConfig, finetune  # noqa: E402
from ofa_dash.hardware import count  # noqa: E402
from ofa_dash.space import DRAFT_SPACES, SearchSpace, get_space  # noqa: E402
from ofa_dash.subnets import finetuned_folder, load_supernet  # noqa: E402
from ofa_dash.train import Recipe  # noqa: E402

MUST_GAIN = 2.0  # issue 19: the smallest flagship subnet gains at least 2 test points


def median_subnet(space: SearchSpace):
    """The middle choice of every gene: a subnet halfway through the space in each dimension."""
    mid = lambda values: sorted(values)[(len(values) - 1) // 2]  # noqa: E731
    return space.uniform(mid(space.kernel_choices), mid(space.expand_choices), mid(space.depth_choices), mid(space.resolutions))


NAMED = {"smallest": lambda s: s.smallest(), "median": median_subnet, "largest": lambda s: s.largest()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="cifar10")
    ap.add_argument("--subnets", default="smallest,median,largest", help=f"comma-separated, of {', '.join(NAMED)}")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--recipe", default="cpu")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's 'finetune' lr)")
    ap.add_argument("--kd-weight", type=float, help="distillation weight (default: the recipe's; 0: labels only)")
    ap.add_argument("--supernet", help="default: precomputed/SPACE/supernet.pt (training/cifar10-v2/supernet.pt for cifar10-v2)")
    ap.add_argument("--data", default=os.environ.get("OFA_DASH_DATA") or str(ROOT.parent / "shared/datasets/cifar10-jpeg"))
    ap.add_argument("--cache")
    ap.add_argument("--time-limit", type=float, help="minutes per subnet before it stops, checkpointed")
    ap.add_argument("--resume", action="store_true", help="continue interrupted fine-tunes and reuse finished ones")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    ap.add_argument("--max-steps-per-epoch", type=int, help="tiny runs (checks of this script)")
    ap.add_argument("--out")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    space = get_space(args.space)
    wanted = [n.strip() for n in args.subnets.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in NAMED]
    if unknown:
        raise SystemExit(f"unknown subnet(s) {unknown}; choose from {list(NAMED)}")
    supernet = args.supernet or str(ROOT / ("training" if space.name in DRAFT_SPACES else "precomputed") / space.name / "supernet.pt")
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"finetune_gain_{space.name}.json")
    data = load_dataset(Path(args.data), cache_dir=Path(args.cache) if args.cache else None)
    loaded = load_supernet(space, supernet)
    recipe = Recipe.load(args.recipe)
    load_start = os.getloadavg()
    rows = []
    for name in wanted:
        arch = NAMED[name](space)
        record_path = finetuned_folder(loaded).finetune_record(arch.id)  # where finetune() writes its record
        t0 = time.perf_counter()
        cfg = FinetuneConfig(
            space,
            arch,
            args.epochs,
            recipe,
            lr=args.lr,
            kd_weight=args.kd_weight,
            supernet=loaded,
            resume=args.resume,
            time_limit_min=args.time_limit,
            max_steps_per_epoch=args.max_steps_per_epoch,
        )
        earlier = json.loads(record_path.read_text()) if args.resume and record_path.is_file() else {}
        # reused only when made exactly as this run would make it (the defaults included: the recipe's lr may have changed)
        if earlier.get("epochs") == args.epochs and earlier.get("hyperparameters") == cfg.hyperparameters():
            result = earlier
            print(f"{name}: finished earlier, read from {record_path}", flush=True)
        else:
            result = finetune(cfg, data)
        if "stopped" in result:
            print(f"{name}: stopped ({result['stopped']}); rerun with --resume to continue", flush=True)
            continue
        macs = float(count(space, space.encode([arch]))["macs"][0]) * 1e-6
        row = {
            "subnet": name,
            "arch": arch.id,
            "macs_m": round(macs, 2),
            "top1_before": result["top1_before"],
            "top1_after": result["top1_after"],
            "gain": round(result["top1_after"] - result["top1_before"], 2),
            "epochs": result["epochs"],
            "lr": result.get("hyperparameters", {}).get("lr"),
            "kd_weight": result.get("hyperparameters", {}).get("kd_weight"),
            "curve": result.get("curve"),
            "train_minutes": result.get("train_minutes"),
            "wall_minutes_here": round((time.perf_counter() - t0) / 60, 2),
            "test_images": result.get("test_images"),
        }
        rows.append(row)
        print(
            f"{name}: {row['macs_m']} M MACs, test top-1 {row['top1_before']:.2f} -> {row['top1_after']:.2f} % ({row['gain']:+.2f}), {row['train_minutes']} min",
            flush=True,
        )
    print("\n| subnet | MACs (M) | test top-1 before | after | gain | epochs | minutes |\n| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['subnet']} | {r['macs_m']} | {r['top1_before']:.2f} | {r['top1_after']:.2f} | {r['gain']:+.2f} | {r['epochs']} | {r['train_minutes']} |")
    smallest = next((r for r in rows if r["subnet"] == "smallest"), None)
    if smallest is not None:
        print(f"smallest gains {smallest['gain']:+.2f} points (issue 19 asks for at least +{MUST_GAIN:.0f})")
    doc = {
        "space": space.name,
        "supernet": str(loaded.path),
        "supernet_version": loaded.version,
        "recipe": recipe.name,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"load average {load_start} -> {os.getloadavg()}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
