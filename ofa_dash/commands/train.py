"""``train``: progressive shrinking (resumable, torchrun-aware)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ofa_dash.space import get_space
from ofa_dash.workspace import Workspace


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch wait until this command runs
    from ofa_dash.data import load_dataset
    from ofa_dash.train import Recipe, TrainConfig, maybe_init_distributed, train

    space = get_space(args.space)
    recipe = Recipe.load(args.recipe)
    maybe_init_distributed()
    data = load_dataset(args.data, cache_dir=args.cache)
    cfg = TrainConfig(
        space=space,
        recipe=recipe,
        out_dir=Path(args.out or Workspace.default().space(space).path),
        work_dir=Path(args.work),
        phases=args.phases.split(",") if args.phases else None,
        resume=args.resume,
        time_limit_min=args.time_limit,
        threads=args.threads,
        max_steps_per_epoch=args.max_steps,
        device=args.device,
    )
    manifest = train(cfg, data)
    if args.json:
        print(json.dumps({"phases_done": manifest["phases_done"], "minutes": manifest.get("minutes")}))
    return 0


def register(sub) -> None:
    t = sub.add_parser("train", help="progressive shrinking (resumable, torchrun-aware)")
    t.add_argument("--space", default="cifar10")
    t.add_argument("--data", required=True, help="dataset root (see README)")
    t.add_argument("--recipe", default="cpu", help="shipped recipe name (cpu, gpu, tiny) or a JSON path")
    t.add_argument("--out", help="where supernet.pt, teacher.pt and the log are published (default precomputed/SPACE)")
    t.add_argument("--work", default="runs/train", help="checkpoint folder for --resume")
    t.add_argument("--phases", help="comma-separated phase names to run (default: all remaining)")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --work")
    t.add_argument("--time-limit", type=float, help="stop cleanly after this many minutes (checkpointed)")
    t.add_argument("--threads", type=int)
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (CUDA when PyTorch sees a GPU; bf16 autocast there)")
    t.add_argument("--max-steps", type=int, help=argparse.SUPPRESS)
    t.add_argument("--cache", help="decoded-dataset cache folder")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run)
