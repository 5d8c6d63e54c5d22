"""``finetune``: train one subnet further as a static network, stored beside the supernet."""

from __future__ import annotations

import argparse
import os

from ofa_dash.commands.common import add_weights_arguments, emit, supernet_file
from ofa_dash.space import get_space


def run(args: argparse.Namespace) -> int:
    # deferred: every command module is imported to build the parser; torch waits until this command runs
    from ofa_dash.datasets import load_for_space
    from ofa_dash.finetune import FinetuneConfig, check_config, finetune
    from ofa_dash.train import Recipe

    space = get_space(args.space)
    arch = space.parse_arch(args.arch)
    if args.epochs <= 0:
        raise ValueError(f"--epochs must be at least 1, not {args.epochs}")
    recipe = Recipe.load(args.recipe)
    supernet = supernet_file(args, space)  # a missing supernet is said before the data is decoded
    data_root = args.data or os.environ.get("OFA_DASH_DATA")
    if not data_root:
        raise ValueError("give --data DIR (the dataset root; see README) or set OFA_DASH_DATA")
    if args.threads:
        import torch  # deferred: see above

        torch.set_num_threads(args.threads)
    data = load_for_space(space, data_root, cache_dir=args.cache)
    cfg = FinetuneConfig(
        space=space,
        arch=arch,
        epochs=args.epochs,
        recipe=recipe,
        lr=args.lr,
        kd_weight=args.kd_weight,
        batch_size=args.batch_size,
        device=args.device,
        resume=args.resume,
        time_limit_min=args.time_limit,
        max_steps_per_epoch=args.max_steps,
        supernet=supernet,
    )
    check_config(cfg, data)
    result = finetune(cfg, data)
    if args.json:
        emit(result, True)
    elif "stopped" in result:
        emit({"stopped": result["stopped"], "at": f"epoch {result['epoch'] + 1}, step {result['step']}", "checkpoint": result["checkpoint"]}, False)
    else:
        emit(
            {
                "arch": result["arch_id"],
                "top1_before": f"{result['top1_before']:.2f} % on {result['test_images']} test images",
                "top1_after": f"{result['top1_after']:.2f} %",
                "epochs": result["epochs"],
                "minutes": f"{result['wall_minutes']:.1f}",
                "written": f"{result['folder']} (weights.pt, finetune.json)",
                "export": f"python -m ofa_dash export --space {space.name} --arch {result['arch_id']}{_weights_flags(args)} --weights finetuned --format onnx --out FILE",
            },
            False,
        )
    return 0


def _weights_flags(args: argparse.Namespace) -> str:
    """The --supernet / --official this run was given: the export must load the same supernet to find its fine-tuned weights."""
    return "".join(f" --{flag} {value}" for flag, value in (("supernet", args.supernet), ("official", args.official)) if value)


def register(sub) -> None:
    f = sub.add_parser("finetune", help="fine-tune one subnet (a static network, BN statistics frozen), resumable")
    f.add_argument("--space", default="cifar10")
    f.add_argument("--arch", required=True, help="largest, smallest, a subnet id, or an arch JSON object")
    add_weights_arguments(f)
    f.add_argument("--epochs", type=int, required=True, help="epochs over the training split (less the fixed holdout)")
    f.add_argument("--data", help="dataset root (default: OFA_DASH_DATA)")
    f.add_argument(
        "--recipe",
        default="cpu",
        help="recipe for batch size, weight decay, label smoothing, seed, and lr and KD weight (its 'finetune' section): cpu, gpu, tiny or a JSON path",
    )
    f.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's 'finetune' lr, else its last phase's)")
    f.add_argument("--kd-weight", type=float, help="weight of the distillation term (default: the recipe's; 0: labels only, no teacher run)")
    f.add_argument("--batch-size", type=int, help="batch size (default: the recipe's)")
    f.add_argument("--device", default="cpu", help="cpu, cuda or auto (CUDA when PyTorch sees a GPU; bf16 autocast there)")
    f.add_argument("--resume", action="store_true", help="continue an interrupted fine-tune of this subnet from its checkpoint")
    f.add_argument("--time-limit", type=float, help="stop cleanly after this many minutes (checkpointed; continue with --resume)")
    f.add_argument("--threads", type=int, help="PyTorch threads")
    f.add_argument("--max-steps", type=int, help=argparse.SUPPRESS)
    f.add_argument("--cache", help="decoded-dataset cache folder")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=run)
