"""Fine-tuning one subnet: extracted as a static network, trained further on its own, stored beside the supernet.

The student is the subnet exactly as an export hands it out (extracted, BN
re-estimated on the validation's calibration images), trained with those BN
statistics frozen (:func:`ofa_dash.nn.bn.freeze_bn_statistics`: batch
statistics cost the subnet accuracy at once). The loss is cross-entropy with
label smoothing, plus, when the KD weight is above 0, the KD term on the soft
targets of a teacher: the supernet's largest subnet, prepared the same way,
in eval mode without gradients, as in :mod:`ofa_dash.train`. SGD with
Nesterov momentum, a cosine learning rate over all steps, train.py's
augmentation. The rate and the KD weight default to the recipe's
``finetune`` section (its supernet phases' rates diverge with frozen
statistics; ``docs/notes/finetune.md``).

Every random draw (data order, crops, dropout) is seeded by (seed, epoch,
step), and a checkpoint holds the full-precision model and optimizer state,
so an interrupted run (SIGTERM, Ctrl-C, ``--time-limit``, a job's cancel)
resumed with ``--resume`` ends with bit-identical weights.

Top-1 on the test split is measured before and after, both after the same BN
re-estimation exports and validation use. The result lands in
``precomputed/<space>/finetuned/<arch id>/`` (``weights.pt``,
``finetune.json``; paths owned by :class:`ofa_dash.workspace.SpaceFolder`),
where ``subnets.prepare(..., weights="finetuned")`` finds it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ofa_dash.calibration import Calibration, from_dataset
from ofa_dash.checkpoints import load_subnet_weights, load_tagged, save_subnet_weights
from ofa_dash.data import Dataset, Split, augment, check_classes, iterate_batches, to_tensor_batch
from ofa_dash.evaluate import evaluate_model, recalibrate_subnet
from ofa_dash.files import atomic_torch_save, atomic_write_json, file_sha256
from ofa_dash.nn.bn import freeze_bn_statistics
from ofa_dash.progress import progress_bar
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.subnets import LoadedSupernet, finetuned_folder, load_supernet, prepare
from ofa_dash.train import Recipe, StopOnSignal, hardware_description, hash_seed, resolve_device, training_loss

RECORD_FORMAT = "ofa-dash-finetune"
RECORD_VERSION = 1
CHECKPOINT_FORMAT = "ofa-dash-finetune-checkpoint"
CHECKPOINT_VERSION = 1
AUGMENTATION = "random crop (zero padding 4) and horizontal flip, as in training"
SCHEDULE = "cosine from lr to 0 over all steps, no warm-up"
BATCH_NORM = "statistics frozen at the re-estimated ones (BN layers in eval mode); scale and shift trained"


@dataclass
class FinetuneConfig:
    space: SearchSpace
    arch: Arch
    epochs: int
    recipe: Recipe  # batch size, weight decay, momentum, label smoothing, seed, eval images; lr and KD weight from its "finetune" section
    lr: float | None = None  # overrides the recipe's (its "finetune" section's, else its last phase's)
    kd_weight: float | None = None  # overrides the recipe's (likewise); 0 trains on the labels alone (no teacher is run: ~4x cheaper a step)
    batch_size: int | None = None  # overrides the recipe's
    device: str = "cpu"  # cpu, cuda or auto
    resume: bool = False
    time_limit_min: float | None = None  # stop cleanly (checkpointed) after this many minutes
    max_steps_per_epoch: int | None = None  # tiny runs for tests
    cancel: Callable[[], bool] | None = None  # asked after every step; True stops the run (checkpointed), as SIGTERM does
    progress: Callable[[str, int, int], None] | None = None  # (stage, done, total): "measuring top-1 ..." before and after, "fine-tuning" steps
    supernet: str | Path | LoadedSupernet | None = None  # default: the space's shipped supernet

    def kd_weight_used(self) -> float:
        return float(self.kd_weight if self.kd_weight is not None else self.recipe.finetune.get("kd_weight", self.recipe.kd_weight))

    def lr_used(self) -> float:
        return float(self.lr if self.lr is not None else self.recipe.finetune.get("lr", self.recipe.phases[-1].lr))

    def hyperparameters(self) -> dict:
        """Everything the run's weights depend on besides the data, the supernet and the seed (part of the record and the checkpoint check)."""
        r = self.recipe
        return {
            "recipe": r.name,
            "lr": self.lr_used(),
            "batch_size": int(self.batch_size or r.batch_size),
            "optimizer": "SGD, Nesterov momentum",
            "momentum": r.momentum,
            "weight_decay": r.weight_decay,
            "schedule": SCHEDULE,
            "label_smoothing": r.label_smoothing,
            "kd_weight": self.kd_weight_used(),
            "teacher": "the supernet's largest subnet (BN re-estimated), eval mode, no gradients" if self.kd_weight_used() > 0 else "none",
            "batch_norm": BATCH_NORM,
            "augmentation": AUGMENTATION,
            "max_steps_per_epoch": self.max_steps_per_epoch,
        }


def check_config(cfg: FinetuneConfig, data: Dataset) -> None:
    """Refuse bad input before anything is loaded or written."""
    if isinstance(cfg.epochs, bool) or not isinstance(cfg.epochs, int) or cfg.epochs <= 0:
        raise ValueError(f"--epochs must be a whole number of at least 1, not {cfg.epochs!r}")
    hp = cfg.hyperparameters()
    if not hp["lr"] > 0:
        raise ValueError(f"--lr must be above 0, not {hp['lr']}")
    if not hp["kd_weight"] >= 0:
        raise ValueError(f"--kd-weight must be 0 or more, not {hp['kd_weight']}")
    if hp["batch_size"] <= 0:
        raise ValueError(f"--batch-size must be at least 1, not {hp['batch_size']}")
    cfg.space.validate(cfg.arch)
    check_classes(data, cfg.space)
    if not isinstance(data.train, Split):
        raise ValueError(
            f"fine-tuning trains on decoded images in memory (CIFAR-10); {data.source} is decoded batch by batch for validation and export only, "
            "and fine-tuning on it is not supported yet"
        )
    train_split, _ = data.split_holdout()
    if len(train_split) < hp["batch_size"]:
        raise ValueError(f"the training split holds {len(train_split)} images, fewer than one batch of {hp['batch_size']}; give a smaller --batch-size")
    if len(data.test) == 0:
        raise ValueError(f"the dataset {data.source} has no test images to measure top-1 on")


def finetune(cfg: FinetuneConfig, data: Dataset) -> dict:
    """Fine-tune ``cfg.arch``; returns the record written to ``finetune.json`` (plus ``folder``, where it lies), or ``{"stopped": why, ...}`` when interrupted (checkpointed)."""
    check_config(cfg, data)
    loaded = cfg.supernet if isinstance(cfg.supernet, LoadedSupernet) else load_supernet(cfg.space, cfg.supernet)
    if loaded.net.space != cfg.space:
        raise ValueError(f"supernet {str(loaded.path)!r} is for space {loaded.net.space.name!r}, not {cfg.space.name!r}")
    folder = finetuned_folder(loaded)
    ckpt_path = folder.finetune_checkpoint(cfg.arch.id)
    if ckpt_path.is_file() and not cfg.resume:
        raise ValueError(f"an interrupted fine-tune of {cfg.arch.id!r} left {str(ckpt_path)!r}; pass --resume to continue it, or delete it to start over")
    device = resolve_device(cfg.device)
    ck = _load_checkpoint(ckpt_path, cfg, loaded, data) if cfg.resume and ckpt_path.is_file() else None
    if cfg.resume and ck is None:
        print(f"--resume: no interrupted fine-tune of {cfg.arch.id} to continue; starting from the beginning")
    stop_signal = StopOnSignal()
    try:
        return _finetune(cfg, data, loaded, device, ck, stop_signal)
    finally:
        stop_signal.restore()


def _finetune(cfg: FinetuneConfig, data: Dataset, loaded: LoadedSupernet, device: torch.device, ck: dict | None, stop_signal: StopOnSignal) -> dict:
    space, arch, recipe, hp = cfg.space, cfg.arch, cfg.recipe, cfg.hyperparameters()
    session_start = time.time()
    deadline = session_start + cfg.time_limit_min * 60 if cfg.time_limit_min else None
    folder = finetuned_folder(loaded)
    ckpt_path = folder.finetune_checkpoint(arch.id)
    calibration = from_dataset(data)
    train_split, holdout = data.split_holdout()
    batch = hp["batch_size"]
    steps_per_epoch = len(train_split) // batch
    if cfg.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps_per_epoch)
    total_steps = cfg.epochs * steps_per_epoch

    report = cfg.progress or (lambda stage, done, total: None)
    report("measuring top-1 on the test split", 0, 0)
    before = prepare(space, arch, loaded, data)  # exactly what an export of the supernet's weights holds
    if ck is None:
        top1_before = float(evaluate_model(before.net, space, arch.r, data.test, space.n_classes).top1)
        state = {"epoch": 0, "step": 0, "loss_sum": 0.0, "images": 0, "curve": [], "train_seconds": 0.0, "wall_seconds": 0.0, "sessions": 0}
        state["top1_before"] = top1_before
    else:
        state = {k: ck[k] for k in ("epoch", "step", "loss_sum", "images", "curve", "train_seconds", "wall_seconds", "sessions", "top1_before")}
        print(f"resuming the fine-tune of {arch.id} at epoch {state['epoch'] + 1}, step {state['step']}")
    state["sessions"] += 1

    net = copy.deepcopy(before.net).to(device=device, memory_format=torch.channels_last)
    kd_weight = hp["kd_weight"]
    teacher = None  # with no distillation no teacher is built or run
    if kd_weight > 0:
        teacher = prepare(space, space.largest(), loaded, data).net.to(device=device, memory_format=torch.channels_last).eval().requires_grad_(False)
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=hp["lr"],
        momentum=recipe.momentum,
        nesterov=True,
    )
    if ck is not None:
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
    params = list(net.parameters())
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    teacher_r = space.largest().r
    net.train()
    freeze_bn_statistics(net)

    def checkpoint() -> None:
        wall = state["wall_seconds"] + time.time() - session_start
        blob = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **_identity(cfg, loaded, data), **{**state, "wall_seconds": wall}}
        atomic_torch_save({**blob, "model": net.state_dict(), "optimizer": opt.state_dict()}, ckpt_path)

    stopped = None
    bar = progress_bar(total=total_steps, initial=state["epoch"] * steps_per_epoch + state["step"], desc=f"finetune {arch.id}", unit="step")
    last_ckpt = time.time()
    for epoch in range(state["epoch"], cfg.epochs):
        epoch_seed = [recipe.seed, epoch]
        batches = iterate_batches(train_split, batch, shuffle=True, seed=hash_seed(epoch_seed), drop_last=True)
        for step, (xb, yb) in enumerate(batches):
            if step >= steps_per_epoch:
                break
            if step < state["step"]:
                continue
            t0 = time.time()
            step_seed = hash_seed([*epoch_seed, step])
            gen = torch.Generator().manual_seed(step_seed)
            torch.manual_seed(step_seed)  # dropout draws from the global generator
            images = augment(torch.from_numpy(xb).to(device), gen)
            y = torch.from_numpy(yb).to(device)
            lr = _cosine(hp["lr"], epoch * steps_per_epoch + step, total_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            with amp:
                logits = net(to_tensor_batch(images, space.mean, space.std, arch.r)).float()
            soft = None
            if teacher is not None:
                with torch.no_grad(), amp:
                    soft = F.softmax(teacher(to_tensor_batch(images, space.mean, space.std, teacher_r)).float(), dim=1)
            loss = training_loss(logits, y, recipe, soft, kd_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            state["loss_sum"] += loss.item() * len(yb)
            state["images"] += len(yb)
            state["step"] = step + 1
            state["train_seconds"] += time.time() - t0
            bar.update(1)
            report("fine-tuning", epoch * steps_per_epoch + step + 1, total_steps)
            bar.set_postfix(epoch=f"{epoch + 1}/{cfg.epochs}", loss=f"{loss.item():.3f}")
            if stop_signal.raised:
                stopped = "signal"
            elif cfg.cancel is not None and cfg.cancel():
                stopped = "cancelled"
            elif deadline is not None and time.time() > deadline:
                stopped = "time limit"
            if stopped or time.time() - last_ckpt > recipe.checkpoint_minutes * 60:
                checkpoint()
                last_ckpt = time.time()
            if stopped:
                break
        if stopped:
            break
        state["curve"].append(
            {
                "epoch": epoch + 1,
                "loss": float(state["loss_sum"] / max(state["images"], 1)),
                "lr": float(opt.param_groups[0]["lr"]),
                "train_seconds": state["train_seconds"],
                "top1_holdout": _holdout_top1(net, space, arch, calibration, holdout, recipe.eval_images),
            }
        )
        bar.write(f"epoch {epoch + 1}/{cfg.epochs}: loss {state['curve'][-1]['loss']:.4f}, holdout top-1 {state['curve'][-1]['top1_holdout']:.2f} %")
        state.update(epoch=epoch + 1, step=0, loss_sum=0.0, images=0)
        checkpoint()
        last_ckpt = time.time()
    bar.close()
    if stopped:
        print(f"{stopped}: fine-tune of {arch.id} stopped at epoch {state['epoch'] + 1}, step {state['step']}; checkpoint at {ckpt_path}; rerun with --resume")
        return {"stopped": stopped, "arch_id": arch.id, "epoch": state["epoch"], "step": state["step"], "checkpoint": str(ckpt_path)}

    report("measuring top-1 on the test split", 0, 0)
    weights_path = folder.finetuned_weights(arch.id)
    identity = {
        "space": space.name,
        "arch_id": arch.id,
        "supernet_version": loaded.version,
        "supernet_sha256": loaded.sha256,
        "epochs": cfg.epochs,
        "seed": recipe.seed,
    }
    save_subnet_weights(net.cpu().eval(), weights_path, space, arch, identity)
    # "after" is measured on the file read back, recalibrated as subnets.prepare(weights="finetuned") does for an export
    stored, _ = load_subnet_weights(weights_path, space, arch)
    after = recalibrate_subnet(stored, space, arch, calibration.images, len(calibration))
    result = evaluate_model(after, space, arch.r, data.test, space.n_classes)
    record = {
        "format": RECORD_FORMAT,
        "version": RECORD_VERSION,
        "space": space.name,
        "arch_id": arch.id,
        "arch": arch.to_dict(),
        "supernet_version": loaded.version,
        "supernet_sha256": loaded.sha256,
        "epochs": cfg.epochs,
        "steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "hyperparameters": hp,
        "seed": recipe.seed,
        "top1_before": state["top1_before"],
        "top1_after": float(result.top1),
        "test_images": int(result.n_images),
        "bn_recalibration": calibration.describe(),
        "data": data.source,
        "data_fingerprint": data.fingerprint,
        "device": str(device),
        "hardware": hardware_description(),
        "train_minutes": state["train_seconds"] / 60,
        "wall_minutes": (state["wall_seconds"] + time.time() - session_start) / 60,
        "sessions": state["sessions"],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "curve": state["curve"],
    }
    record["weights_sha256"] = file_sha256(weights_path)
    atomic_write_json(folder.finetune_record(arch.id), record)
    ckpt_path.unlink(missing_ok=True)
    report("done", 1, 1)
    return {**record, "folder": str(folder.finetuned(arch.id))}


def _cosine(lr: float, step: int, total: int) -> float:
    return 0.5 * lr * (1.0 + math.cos(math.pi * min(step / max(total, 1), 1.0)))


@torch.no_grad()
def _holdout_top1(net: torch.nn.Module, space: SearchSpace, arch: Arch, calibration: Calibration, holdout: Split, n_images: int) -> float:
    """Top-1 (%) on a fixed seeded sample of holdout images, of a BN-recalibrated copy (the training weights stay untouched)."""
    if len(holdout) == 0:
        return float("nan")
    probe = recalibrate_subnet(copy.deepcopy(net), space, arch, calibration.images, len(calibration))
    idx = np.sort(np.random.default_rng(1).permutation(len(holdout))[: min(n_images, len(holdout))])
    return float(evaluate_model(probe, space, arch.r, holdout.subset(idx), space.n_classes).top1)


def _identity(cfg: FinetuneConfig, loaded: LoadedSupernet, data: Dataset) -> dict:
    """What a checkpoint must share with the run that resumes it."""
    return {
        "data_fingerprint": data.fingerprint,
        "space": cfg.space.name,
        "arch_id": cfg.arch.id,
        "epochs": cfg.epochs,
        "seed": cfg.recipe.seed,
        "hyperparameters": cfg.hyperparameters(),
        "supernet_sha256": loaded.sha256,
    }


def _load_checkpoint(path: Path, cfg: FinetuneConfig, loaded: LoadedSupernet, data: Dataset) -> dict:
    ck = load_tagged(path, "fine-tune checkpoint (delete it to start over)")
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT or ck.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a version-{CHECKPOINT_VERSION} fine-tune checkpoint; delete it to start over")
    want = _identity(cfg, loaded, data)
    differ = [k for k, v in want.items() if ck.get(k) != v]
    if differ:
        got = ", ".join(f"{k} {ck.get(k)!r} (now {want[k]!r})" for k in differ)
        raise ValueError(f"{path} was written by a different fine-tune: {got}; resume with the same arguments, or delete it to start over")
    return ck
