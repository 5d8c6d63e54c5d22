"""Progressive shrinking with distillation (OFA), resumable, single process or torchrun.

Phases come from a recipe (``ofa_dash/recipes/<name>.json``): the full network
first, then elastic kernel, elastic depth and elastic expand ratio, each phase
widening the choice sets that subnets are sampled from. After the first phase
the full network is frozen as the distillation teacher.

Every random draw (data order, augmentation, subnet and resolution choice)
is seeded by (seed, phase, epoch, step), so ``--resume`` continues exactly,
and all ranks of a distributed run draw the same subnets while reading
disjoint data shards.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ofa_dash.checkpoints import TRAINING_CHECKPOINT_NAME, load_training_checkpoint, load_weights, save_training_checkpoint, save_weights
from ofa_dash.data import Dataset, Split, augment, check_classes, iterate_batches, to_tensor_batch
from ofa_dash.evaluate import evaluate_model, model_device, prepare_subnet
from ofa_dash.files import atomic_write_bytes
from ofa_dash.nn import Supernet
from ofa_dash.progress import progress_bar
from ofa_dash.space import N_SLOTS, N_STAGES, Arch, SearchSpace
from ofa_dash.workspace import SpaceFolder

RECIPE_DIR = Path(__file__).parent / "recipes"
FINETUNE_KEYS = ("lr", "kd_weight")


@dataclass
class Phase:
    name: str
    epochs: float
    lr: float
    kernel: list[int]
    expand: list[int]
    depth: list[int]
    n_subnets: int = 1
    distill: bool = True
    sort_channels: bool = False
    warmup_epochs: float = 0.0
    teacher: bool = False  # publish the full network at the end of this phase as the distillation teacher
    resolution_weights: list[float] | None = None  # sampling weights over space.resolutions (None: uniform)
    ema_decay: float = 0.0  # keep an exponential moving average of the weights; the better of the two is published
    sandwich: bool = True  # with n_subnets >= 2: the phase's largest and smallest every step, then random ones


@dataclass
class Recipe:
    name: str
    batch_size: int
    phases: list[Phase]
    weight_decay: float = 5e-4
    momentum: float = 0.9
    label_smoothing: float = 0.1
    kd_weight: float = 1.0
    seed: int = 0
    eval_images: int = 2000
    checkpoint_minutes: float = 5.0
    # stop a bad design early: {"phase": "full", "epoch": 10, "min_top1_largest": 81.0}
    go_no_go: dict | None = None
    extra: dict = field(default_factory=dict)
    # fine-tuning one extracted subnet (ofa_dash.finetune) with its BN statistics frozen: {"lr": ..., "kd_weight": ...};
    # the supernet phases' rates diverge there (no batch statistics renormalise the activations), so it has its own
    finetune: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.finetune) - set(FINETUNE_KEYS))
        if unknown:
            raise ValueError(f"recipe {self.name!r}: unknown key(s) {unknown} in 'finetune'; allowed: {list(FINETUNE_KEYS)}")
        for key, value in self.finetune.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and (value > 0 if key == "lr" else value >= 0)):
                raise ValueError(f"recipe {self.name!r}: finetune {key!r} must be a number {'above' if key == 'lr' else 'of at least'} 0, not {value!r}")

    @classmethod
    def load(cls, name_or_path: str) -> Recipe:
        path = Path(name_or_path)
        if not path.suffix:
            path = RECIPE_DIR / f"{name_or_path}.json"
        if not path.is_file():
            available = sorted(p.stem for p in RECIPE_DIR.glob("*.json"))
            raise ValueError(f"recipe {name_or_path!r} not found; shipped recipes: {available}, or give a path to a JSON file")
        data = json.loads(path.read_text())
        phases = [Phase(**p) for p in data.pop("phases")]
        return cls(phases=phases, **data)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["phases"] = [dict(p.__dict__) for p in self.phases]
        return d


# --------------------------------------------------------------------------- distributed
def dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def maybe_init_distributed() -> None:
    """Join the process group that ``torchrun`` describes in the environment (gloo on CPU, nccl on GPU)."""
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def _allreduce_gradients(params: list[torch.nn.Parameter], world: int, flag: bool = False) -> bool:
    """Average gradients over ranks in one coalesced all-reduce (unused parameters count as zero).

    ``flag`` rides along as one extra element; the return value is True when
    any rank raised it (how a stop request reaches every rank in the same step).
    """
    if world == 1:
        return flag
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads] + [torch.tensor([float(world) if flag else 0.0], device=grads[0].device)])
    dist.all_reduce(flat)
    flat /= world
    raised = bool(flat[-1].item() > 0)
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
    return raised


def _broadcast_state(net: torch.nn.Module) -> None:
    for t in list(net.parameters()) + list(net.buffers()):
        dist.broadcast(t.data, 0)


# --------------------------------------------------------------------------- sampling
def sample_subnet(space: SearchSpace, phase: Phase, rng: np.random.Generator, r: int) -> Arch:
    return Arch(
        ks=rng.choice(phase.kernel, N_SLOTS).tolist(),
        e=rng.choice(phase.expand, N_SLOTS).tolist(),
        d=rng.choice(phase.depth, N_STAGES).tolist(),
        r=r,
    )


def sample_resolution(space: SearchSpace, phase: Phase, rng: np.random.Generator) -> int:
    weights = phase.resolution_weights
    if weights is not None and len(weights) != len(space.resolutions):
        raise ValueError(f"phase {phase.name!r}: resolution_weights has {len(weights)} values, space {space.name!r} has resolutions {list(space.resolutions)}")
    p = None if weights is None else np.asarray(weights, dtype=float) / float(np.sum(weights))
    return int(rng.choice(space.resolutions, p=p))


def training_loss(logits: torch.Tensor, y: torch.Tensor, recipe: Recipe, soft: torch.Tensor | None = None, kd_weight: float | None = None) -> torch.Tensor:
    """Cross-entropy with the recipe's label smoothing, plus ``kd_weight`` (default: the recipe's) times the
    cross-entropy against a teacher's soft targets when ``soft`` is given: the one loss of supernet
    training and of fine-tuning."""
    loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
    if soft is None:
        return loss
    weight = recipe.kd_weight if kd_weight is None else kd_weight
    return loss + weight * torch.sum(-soft * F.log_softmax(logits, dim=1), dim=1).mean()


def phase_subnets(space: SearchSpace, phase: Phase, rng: np.random.Generator) -> list[Arch]:
    """Subnets trained in one step.

    Sandwich rule (BigNAS): the phase's largest subnet at the largest
    resolution and its smallest at the smallest resolution every step, so the
    two ends of the front are trained directly, then ``n_subnets - 2`` random
    subnets at resolutions drawn with the phase's weights. A phase with one
    choice per gene trains that network at a drawn resolution.
    """
    largest = _phase_extreme(space, phase, max)
    if len(phase.kernel) == len(phase.expand) == len(phase.depth) == 1:
        return [replace(largest, r=sample_resolution(space, phase, rng))]
    if not phase.sandwich:
        return [sample_subnet(space, phase, rng, sample_resolution(space, phase, rng)) for _ in range(phase.n_subnets)]
    archs = [largest, _phase_extreme(space, phase, min)][: max(phase.n_subnets, 1)]
    archs += [sample_subnet(space, phase, rng, sample_resolution(space, phase, rng)) for _ in range(phase.n_subnets - len(archs))]
    return archs


def mid_subnet(space: SearchSpace) -> Arch:
    """A fixed middle subnet (middle choice of every gene), logged in every phase for the learning curves."""
    pick = lambda choices: sorted(choices)[len(choices) // 2]  # noqa: E731
    return Arch(
        ks=[pick(space.kernel_choices)] * N_SLOTS, e=[pick(space.expand_choices)] * N_SLOTS, d=[pick(space.depth_choices)] * N_STAGES, r=pick(space.resolutions)
    )


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def quick_accuracy(net: Supernet, arch: Arch, calib: Split, holdout: Split, n_images: int) -> float:
    """Top-1 (%) of ``arch`` on a fixed random sample of ``n_images`` holdout images, after BN recalibration.

    Both samples are random (seeded), never the first images: the splits are
    ordered by class, so a prefix would hold one or two classes only.
    """
    on_gpu = model_device(net).type == "cuda"  # one batch each: launches, not arithmetic, cost time there
    sub = prepare_subnet(net, arch, calib, n_calib=1000, batch_size=1000 if on_gpu else None)
    idx = np.sort(np.random.default_rng(1).permutation(len(holdout))[: min(n_images, len(holdout))])
    return evaluate_model(sub, net.space, arch.r, holdout.subset(idx), net.space.n_classes, batch_size=len(idx) if on_gpu else 500).top1


# --------------------------------------------------------------------------- training
@dataclass
class TrainConfig:
    space: SearchSpace
    recipe: Recipe
    out_dir: Path  # publishes supernet.pt, teacher.pt, train_log.jsonl, train_manifest.json
    work_dir: Path  # resumable checkpoints
    phases: list[str] | None = None  # run only these phase names (in recipe order)
    resume: bool = False
    time_limit_min: float | None = None  # stop cleanly (checkpointed) after this many minutes
    threads: int | None = None
    max_steps_per_epoch: int | None = None  # tiny runs for tests
    data_source: str = ""
    device: str = "auto"  # "auto": CUDA when available, else CPU


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when PyTorch sees a GPU; asking for CUDA without one is an error, not a silent CPU run."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA GPU here")
    return device


def _lr_at(phase: Phase, progress: float) -> float:
    """Cosine decay over the phase, with optional linear warm-up (``progress`` in epochs)."""
    if phase.warmup_epochs and progress < phase.warmup_epochs:
        return phase.lr * (progress + 1e-3) / phase.warmup_epochs
    span = max(phase.epochs - phase.warmup_epochs, 1e-9)
    t = min(max((progress - phase.warmup_epochs) / span, 0.0), 1.0)
    return 0.5 * phase.lr * (1.0 + math.cos(math.pi * t))


def _published_state(out_dir: Path) -> dict:
    return SpaceFolder(out_dir).read_train_manifest() or {"phases_done": [], "phases": {}}


def train(cfg: TrainConfig, data: Dataset) -> dict:
    """Run the recipe's phases that are not yet published in ``out_dir``; returns the manifest.

    A run stops cleanly (checkpointed, resumable) at ``time_limit_min``, on
    SIGTERM or SIGINT, and at a failed go/no-go check; ``manifest["stopped"]``
    says why it returned early. The caller's signal handlers are back afterwards.
    """
    stop_signal = StopOnSignal()
    try:
        return _train(cfg, data, stop_signal)
    finally:
        stop_signal.restore()


def _train(cfg: TrainConfig, data: Dataset, stop_signal: StopOnSignal) -> dict:
    rank, world = dist_info()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    space, recipe = cfg.space, cfg.recipe
    if data.train.images.shape[1] != 32 and space.name.startswith("cifar10"):
        raise ValueError(f"the {space.name} space expects 32x32 images")
    if recipe.batch_size % world:
        raise ValueError(f"batch size {recipe.batch_size} does not split over {world} processes")
    check_classes(data, space)
    train_split, holdout = data.split_holdout()
    device = resolve_device(cfg.device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
    folder = SpaceFolder(cfg.out_dir)
    manifest = _published_state(cfg.out_dir)
    todo = [i for i, p in enumerate(recipe.phases) if p.name not in manifest["phases_done"] and (cfg.phases is None or p.name in cfg.phases)]
    for i in todo:
        earlier = [p.name for j, p in enumerate(recipe.phases[:i]) if p.name not in manifest["phases_done"] and j not in todo]
        if earlier:
            raise ValueError(f"phase {recipe.phases[i].name!r} needs earlier phases {earlier} first (phases run in recipe order)")
    if not todo:
        if rank == 0:
            print(f"all requested phases are done: {manifest['phases_done']}")
        return manifest

    started = time.time()
    deadline = started + cfg.time_limit_min * 60 if cfg.time_limit_min else None
    torch.manual_seed(recipe.seed)
    net = Supernet(space)
    if manifest["phases_done"]:
        net, _ = load_weights(folder.supernet, space)
    teacher = None
    if folder.teacher.is_file():
        teacher_net, _ = load_weights(folder.teacher, space)
        teacher = teacher_net.extract(space.largest()).to(device=device, memory_format=torch.channels_last).eval()
    net.train()
    net = net.to(device=device, memory_format=torch.channels_last)
    params = [p for p in net.parameters()]
    decay = [p for n, p in net.named_parameters() if p.ndim > 1 and "transforms" not in n]
    no_decay = [p for n, p in net.named_parameters() if not (p.ndim > 1 and "transforms" not in n)]
    ckpt_path = cfg.work_dir / TRAINING_CHECKPOINT_NAME
    log_path = folder.train_log
    batch_per_rank = recipe.batch_size // world

    for phase_index in todo:
        phase = recipe.phases[phase_index]
        opt = torch.optim.SGD(
            [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=phase.lr,
            momentum=recipe.momentum,
            nesterov=True,
        )
        ema = _Ema(net, phase.ema_decay) if phase.ema_decay else None
        start_epoch, start_step, phase_seconds = 0, 0, 0.0
        resumed_stats = (0.0, 0, 0.0)  # loss sum, images and step seconds of the epoch a checkpoint interrupted
        if cfg.resume and ckpt_path.is_file():
            ck = load_training_checkpoint(ckpt_path, space, recipe.name)
            if ck.get("phase") == phase.name:
                net.load_state_dict(ck["model"])
                opt.load_state_dict(ck["optimizer"])
                if ema is not None and ck.get("ema") is not None:
                    ema.load_state_dict(ck["ema"])
                start_epoch, start_step, phase_seconds = ck["epoch"], ck["step"], ck["seconds"]
                resumed_stats = (ck.get("epoch_loss_sum", 0.0), ck.get("epoch_images", 0), ck.get("epoch_step_seconds", 0.0))
                if rank == 0:
                    print(f"resuming phase {phase.name!r} at epoch {start_epoch}, step {start_step}")
        if world > 1:
            _broadcast_state(net)
        if phase.sort_channels and start_epoch == 0 and start_step == 0:
            net.sort_channels()
        if phase.distill and teacher is None:
            raise ValueError(f"phase {phase.name!r} distils from the full network, but no teacher.pt exists yet (run the full-network phase first)")

        shard = train_split.subset(np.arange(rank, len(train_split), world))
        steps_per_epoch = _steps_per_epoch(cfg, len(shard), batch_per_rank)
        n_epochs = math.ceil(phase.epochs)
        total_steps = round(phase.epochs * steps_per_epoch)
        done_steps = start_epoch * steps_per_epoch + start_step
        last_ckpt = time.time()
        bar = progress_bar(total=total_steps, initial=done_steps, desc=f"{phase.name}", unit="step", disable=rank != 0)
        stopped = None
        for epoch in range(start_epoch, n_epochs):
            epoch_seed = [recipe.seed, phase_index, epoch]
            batches = iterate_batches(shard, batch_per_rank, shuffle=True, seed=hash_seed(epoch_seed), drop_last=True)
            loss_sum, n_seen, step_time = resumed_stats if epoch == start_epoch and start_step else (0.0, 0, 0.0)
            t_epoch = time.time()
            for step, (xb, yb) in enumerate(batches):
                if step >= steps_per_epoch or epoch * steps_per_epoch + step >= total_steps:
                    break
                if step < start_step:
                    continue
                t0 = time.time()
                step_seed = hash_seed([*epoch_seed, step])
                gen = torch.Generator().manual_seed(hash_seed([step_seed, rank]))
                torch.manual_seed(step_seed)  # dropout draws from the global generator
                rng = np.random.default_rng(step_seed)  # the same subnets on every rank
                archs = phase_subnets(space, phase, rng)
                images = augment(torch.from_numpy(xb).to(device, non_blocking=True), gen)
                inputs = {r: to_tensor_batch(images, space.mean, space.std, r) for r in sorted({a.r for a in archs} | {max(space.resolutions)})}
                y = torch.from_numpy(yb).to(device, non_blocking=True)
                for g in opt.param_groups:
                    g["lr"] = _lr_at(phase, epoch + step / steps_per_epoch)
                opt.zero_grad(set_to_none=True)
                soft = None
                if phase.distill:
                    with torch.no_grad(), amp:
                        soft = F.softmax(teacher(inputs[max(space.resolutions)]).float(), dim=1)
                step_loss = 0.0
                for arch in archs:
                    net.set_active(arch)
                    with amp:
                        logits = net(inputs[arch.r]).float()
                    loss = training_loss(logits, y, recipe, soft)
                    (loss / len(archs)).backward()
                    step_loss += loss.item() / len(archs)
                now = time.time()
                want_stop = stop_signal.raised or (deadline is not None and now > deadline)
                # every rank learns of a stop in the gradient all-reduce, so all stop after the same step
                want_stop = _allreduce_gradients(params, world, want_stop)
                torch.nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
                if ema is not None:
                    ema.update(net)
                loss_sum += step_loss * len(yb)
                n_seen += len(yb)
                step_time += time.time() - t0
                phase_seconds += time.time() - t0
                bar.update(1)
                bar.set_postfix(epoch=f"{epoch + 1}/{n_epochs}", loss=f"{step_loss:.3f}", img_s=f"{len(yb) * world / max(time.time() - t0, 1e-9):.0f}")
                if time.time() - last_ckpt > recipe.checkpoint_minutes * 60 or want_stop:
                    _checkpoint(ckpt_path, rank, space, recipe, phase, (epoch, step + 1, phase_seconds, loss_sum, n_seen, step_time), net, opt, ema)
                    last_ckpt = time.time()
                if want_stop:
                    stopped = "signal" if stop_signal.raised else "time limit"
                    break
            start_step = 0
            if stopped:
                break
            in_sync = _ranks_in_sync(params, world)
            if world > 1:
                _broadcast_state(net)  # BN statistics differ per data shard; rank 0's are kept
            record = None
            if rank == 0:
                record = {
                    "phase": phase.name,
                    "epoch": epoch + 1,
                    "loss": loss_sum / max(n_seen, 1),
                    "lr": opt.param_groups[0]["lr"],
                    "seconds": time.time() - t_epoch,
                    "train_seconds": step_time,
                    "img_per_s": n_seen * world / max(step_time, 1e-9),
                    "world_size": world,
                    "ranks_in_sync": in_sync,
                }
                with _all_cores():
                    record.update(_epoch_accuracies(net, space, phase, train_split, holdout, recipe.eval_images))
                    if ema is not None:
                        record["top1_largest_ema"] = _ema_accuracy(ema, net, space, train_split, holdout, recipe.eval_images)
                verdict = _go_no_go(recipe, phase, epoch + 1, record)
                if verdict:
                    record["go_no_go"] = verdict
                _append_jsonl(log_path, record)
                bar.write(json.dumps(record))
            _checkpoint(ckpt_path, rank, space, recipe, phase, (epoch + 1, 0, phase_seconds, 0.0, 0, 0.0), net, opt, ema)
            verdict = _shared_flag(world, bool(record and record.get("go_no_go", "").startswith("no-go")))
            if verdict:
                stopped = "no-go"
                break
        bar.close()
        if stopped:
            if rank == 0:
                if stopped == "no-go":
                    print(f"NO-GO: phase {phase.name!r} is below the recipe's go/no-go bar ({recipe.go_no_go}); stopped, checkpoint at {ckpt_path}")
                else:
                    print(f"{stopped} reached in phase {phase.name!r}; checkpoint at {ckpt_path}; rerun with --resume")
            manifest["stopped"] = stopped
            return manifest
        if rank == 0:
            with _all_cores():
                net.eval()
                chosen = None
                if ema is not None:
                    raw_top1 = quick_accuracy(net, space.largest(), train_split, holdout, len(holdout))
                    ema_top1 = _ema_accuracy(ema, net, space, train_split, holdout, len(holdout))
                    chosen = "ema" if ema_top1 > raw_top1 else "raw"
                    if chosen == "ema":
                        ema.copy_to(net)
                manifest["phases_done"].append(phase.name)
                manifest["phases"][phase.name] = {
                    "minutes": phase_seconds / 60,
                    "epochs": phase.epochs,
                    "top1_largest_holdout": quick_accuracy(net, _phase_extreme(space, phase, max), train_split, holdout, len(holdout)),
                    "top1_smallest_holdout": quick_accuracy(net, _phase_extreme(space, phase, min), train_split, holdout, len(holdout)),
                    "world_size": world,
                    "hardware": hardware_description(),
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                }
                if chosen:
                    manifest["phases"][phase.name].update({"weights": chosen, "top1_largest_holdout_raw": raw_top1, "top1_largest_holdout_ema": ema_top1})
                net.train()
            manifest.update(
                {
                    "space": space.name,
                    "recipe": recipe.to_dict(),
                    "data": cfg.data_source or data.source,
                    "minutes": sum(p["minutes"] for p in manifest["phases"].values()),
                    "supernet_version": f"{space.name}-{'+'.join(manifest['phases_done'])}",
                }
            )
            meta = {k: manifest[k] for k in ("space", "phases_done", "supernet_version", "data")}
            save_weights(net, folder.supernet, meta)
            _round_like_published(net)  # go on from exactly what a resumed run would load
            if teacher is None or phase.teacher:
                save_weights(net, folder.teacher, {**meta, "role": "distillation teacher (full network)"})
            atomic_write_bytes(folder.train_manifest, json.dumps(manifest, indent=2).encode())
            ckpt_path.unlink(missing_ok=True)  # the phase is published; its in-phase checkpoint is spent
        if world > 1:
            _broadcast_state(net)  # the published weights (raw or EMA) on every rank
        if teacher is None or phase.teacher:
            teacher = net.extract(space.largest()).to(device=device, memory_format=torch.channels_last).eval()
        if world > 1:
            dist.barrier()
    return manifest


def _checkpoint(path: Path, rank: int, space: SearchSpace, recipe: Recipe, phase: Phase, where: tuple, net, opt, ema) -> None:
    """Rank 0 writes the state; data order, crops and subnets follow from (seed, phase, epoch, step), so none is stored.

    ``where``: epoch, step, phase seconds, and the interrupted epoch's loss sum,
    images and step seconds (so its logged mean loss is the uninterrupted one).
    """
    if rank != 0:
        return
    epoch, step, seconds, loss_sum, images, step_seconds = where
    state = {"phase": phase.name, "epoch": epoch, "step": step, "seconds": seconds, "model": net.state_dict(), "optimizer": opt.state_dict()}
    state.update(epoch_loss_sum=loss_sum, epoch_images=images, epoch_step_seconds=step_seconds)
    save_training_checkpoint(path, space, recipe.name, {**state, "ema": ema.state_dict() if ema is not None else None})


@torch.no_grad()
def _round_like_published(net: Supernet) -> None:
    """Weights are published in fp16; rounding the live ones the same way makes a run that goes on and a run resumed from the published file identical."""
    for t in net.state_dict().values():
        if t.is_floating_point():
            t.copy_(t.half().float())


class StopOnSignal:
    """SIGTERM / SIGINT ask the run to stop after the current step (checkpointed), not to die mid-write."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: dict = {}
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (tests calling train() from a worker)
            pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.raised = True


class _Ema:
    """Exponential moving average of every floating-point tensor of the state (weights and BN statistics)."""

    def __init__(self, net: torch.nn.Module, decay: float):
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in net.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for k, v in net.state_dict().items():
            if k in self.state:
                self.state[k].lerp_(v.detach(), 1.0 - self.decay)

    def state_dict(self) -> dict:
        return self.state

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            self.state[k].copy_(v)

    @torch.no_grad()
    def copy_to(self, net: torch.nn.Module) -> None:
        own = net.state_dict()
        for k, v in self.state.items():
            own[k].copy_(v)


def _ema_accuracy(ema: _Ema, net: Supernet, space: SearchSpace, calib: Split, holdout: Split, n_images: int) -> float:
    """Top-1 of the EMA weights' largest subnet, on a copy so the training weights stay untouched."""
    shadow = Supernet(space)
    shadow.load_state_dict({**net.state_dict(), **ema.state_dict()})
    return quick_accuracy(shadow.to(next(net.parameters()).device).eval(), space.largest(), calib, holdout, n_images)


def _epoch_accuracies(net: Supernet, space: SearchSpace, phase: Phase, calib: Split, holdout: Split, n_images: int) -> dict:
    """Holdout top-1 of the same three subnets in every phase (the learning curves) and of the phase's smallest."""
    net.eval()
    out = {
        "top1_largest": quick_accuracy(net, space.largest(), calib, holdout, n_images),
        "top1_mid": quick_accuracy(net, mid_subnet(space), calib, holdout, n_images),
        "top1_smallest": quick_accuracy(net, space.smallest(), calib, holdout, n_images),
    }
    phase_smallest = _phase_extreme(space, phase, min)
    if phase_smallest != space.smallest():
        out["top1_phase_smallest"] = quick_accuracy(net, phase_smallest, calib, holdout, n_images)
    net.train()
    return out


def _go_no_go(recipe: Recipe, phase: Phase, epoch: int, record: dict) -> str | None:
    rule = recipe.go_no_go
    if not rule or rule.get("phase") != phase.name or int(rule.get("epoch", -1)) != epoch:
        return None
    bar_ = float(rule["min_top1_largest"])
    seen = record["top1_largest"]
    word = "go" if seen >= bar_ else "no-go"
    return f"{word}: largest {seen:.2f} % holdout after {epoch} epochs (bar {bar_:.1f} %)"


@contextlib.contextmanager
def _all_cores():
    """Evaluation runs on rank 0 alone while the other ranks wait, so it may use every core."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(before, os.cpu_count() or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _ranks_in_sync(params: list[torch.nn.Parameter], world: int) -> bool:
    """All ranks hold the same weights (they should: identical gradients); checked once per epoch."""
    if world == 1:
        return True
    total = torch.stack([p.detach().double().sum() for p in params]).sum().reshape(1).cpu()
    gathered = [torch.zeros_like(total) for _ in range(world)]
    dist.all_gather(gathered, total)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def _shared_flag(world: int, flag: bool) -> bool:
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _steps_per_epoch(cfg: TrainConfig, n_images: int, batch: int) -> int:
    steps = n_images // batch
    return min(steps, cfg.max_steps_per_epoch) if cfg.max_steps_per_epoch else steps


def _phase_extreme(space: SearchSpace, phase: Phase, pick) -> Arch:
    return Arch(ks=[pick(phase.kernel)] * N_SLOTS, e=[pick(phase.expand)] * N_SLOTS, d=[pick(phase.depth)] * N_STAGES, r=pick(space.resolutions))


def hash_seed(parts: list[int]) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def hardware_description() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def _append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
