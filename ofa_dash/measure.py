"""The measured-subnet dataset: true holdout top-1 of many subnets, the accuracy predictor's training data.

Each subnet is extracted from the supernet, its BN statistics are re-estimated
on 2,000 training images, and it is evaluated on the 5,000-image holdout split
(never the test set, which stays for the final, user-facing validation).

The file (Parquet, one row per subnet) is appended to and rewritten atomically
every few subnets, so an interrupted run loses little and a rerun skips every
subnet already measured. Which subnets are measured follows a fixed plan per
seed (anchors first, then seeded random draws), and the plan for N subnets is
a prefix of the plan for more: ``--n 1000`` then ``--n 2000`` extends the set.

Under ``torchrun`` (several processes, GPUs or machines) each rank measures a
disjoint share of the plan (every ``world``-th subnet from its rank on, so the
shares do not depend on what is already measured), writes its own part file
beside the output, and rank 0 merges the parts into the one Parquet file
(atomically) once every rank is done. Parts left by an interrupted sharded run
are merged first by the next run, sharded or not.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from ofa_dash import evaluate
from ofa_dash.checkpoints import load_weights, weights_version
from ofa_dash.data import check_classes
from ofa_dash.datasets import load_for_space
from ofa_dash.files import file_sha256
from ofa_dash.hardware import count
from ofa_dash.predictors.measured import MEASURED_COLUMNS, read_measured, write_measured
from ofa_dash.progress import progress_bar
from ofa_dash.runtime.ort import auto_threads, torch_threads
from ofa_dash.space import GENOME_LENGTH, Arch, SearchSpace, get_space
from ofa_dash.train import dist_info, maybe_init_distributed, resolve_device

ENGINES = ("ort", "torch")
_RANDOM_CHUNK = 1024  # draws per chunk; fixed so the plan for n is a prefix of the plan for n' > n


@dataclass(frozen=True)
class MeasureConfig:
    """One ``measure`` run; defaults follow OFA's evaluation protocol (2,000 BN-calibration images)."""

    space: SearchSpace
    n: int  # subnets in the plan (anchors included); already-measured ones are skipped
    data_dir: Path
    supernet_path: Path
    out_path: Path
    seed: int = 0
    n_calib: int = 2000
    flush_every: int = 10  # subnets between atomic rewrites of the file
    flush_seconds: float = 120.0  # ... or this long, whichever comes first
    cache_dir: Path | None = None
    engine: str = "ort"  # "ort": the exported ONNX graph in ONNX Runtime (~3x faster here, same top-1); "torch": PyTorch eager
    threads: int | None = None  # default: the cores the load average leaves free (ofa_dash.runtime.ort.auto_threads)
    workers: int = 1  # processes measuring at once (each with ``threads`` threads); small subnets use one core better than two
    device: str = "cpu"  # "cuda": PyTorch on the GPU (engine "torch", one process)
    archs: tuple[Arch, ...] | None = None  # measure exactly these (a shortlist for the predictor) instead of the seeded plan
    dataset: object | None = None  # the dataset at ``data_dir`` already loaded (the dashboard's shared copy); read from disk when None


@dataclass
class MeasureSummary:
    out: Path
    planned: int
    skipped: int  # already in the file
    measured: int  # new rows this run
    rows: int  # rows in the file now
    seconds: float
    supernet_version: str
    rank: int = 0  # under torchrun: this process's rank; only rank 0's summary holds the merged totals
    world: int = 1

    @property
    def seconds_per_subnet(self) -> float | None:
        return self.seconds / self.measured if self.measured else None

    def to_dict(self) -> dict:
        return {
            "out": str(self.out),
            "planned": self.planned,
            "skipped": self.skipped,
            "measured": self.measured,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
            "seconds_per_subnet": None if self.seconds_per_subnet is None else round(self.seconds_per_subnet, 3),
            "supernet_version": self.supernet_version,
            "ranks": self.world,
        }


# --------------------------------------------------------------------------- plan
def anchor_archs(space: SearchSpace) -> list[Arch]:
    """Largest, smallest, then every uniform (kernel, expand, depth) subnet at the largest resolution.

    Why: they span the accuracy range and pin the predictor's extremes, which random draws
    (mostly mid-sized) rarely reach.
    """
    anchors = [space.largest(), space.smallest()]
    anchors += [space.uniform(k, e, d) for k in space.kernel_choices for e in space.expand_choices for d in space.depth_choices]
    return _unique(anchors)


def measurement_plan(space: SearchSpace, n: int, seed: int = 0) -> list[Arch]:
    """The first ``n`` distinct subnets (by id) of the seeded plan: anchors, then uniform random draws."""
    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    plan = anchor_archs(space)[:n]
    seen = {a.id for a in plan}
    rng = np.random.default_rng(seed)
    while len(plan) < n:
        for arch in space.decode(rng.integers(0, space.genome_upper, size=(_RANDOM_CHUNK, GENOME_LENGTH))):
            if len(plan) == n:
                break
            if arch.id not in seen:
                seen.add(arch.id)
                plan.append(arch)
    return plan


def _unique(archs: list[Arch]) -> list[Arch]:
    seen: set[str] = set()
    out = []
    for a in archs:
        if a.id not in seen:
            seen.add(a.id)
            out.append(a)
    return out


# --------------------------------------------------------------------------- file
def supernet_version(meta: dict, path: Path) -> str:
    """The weights' version from their metadata; for unversioned weights, a content hash (so mixing is caught)."""
    return weights_version(meta, "" if meta.get("supernet_version") else file_sha256(path))


# --------------------------------------------------------------------------- shards
def part_path(out: Path, rank: int, world: int) -> Path:
    """Where rank ``rank`` of ``world`` writes its share of a sharded measurement."""
    return out.with_name(f"{out.stem}.part-{rank}-of-{world}{out.suffix}")


def part_files(out: Path) -> list[Path]:
    """Part files of sharded runs next to ``out`` (finished or interrupted), in a fixed order."""
    return sorted(out.parent.glob(f"{out.stem}.part-*-of-*{out.suffix}")) if out.parent.is_dir() else []


def merge_parts(out: Path, space: SearchSpace) -> int:
    """Fold every part file into ``out`` (one row per subnet, the file's own rows first), then remove the parts; the rows in ``out``.

    Refuses, changing nothing, when the parts and the file hold different supernet versions.
    """
    parts = part_files(out)
    if not parts:
        return len(read_measured(out, space)) if out.exists() else 0
    frames = [read_measured(p, space) for p in ([out] if out.exists() else []) + parts]
    merged = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    versions = sorted(set(merged["supernet_version"])) if len(merged) else []
    if len(versions) > 1:
        raise ValueError(f"{out} and its part files {[p.name for p in parts]} hold supernet versions {versions}; move the parts of the other version away")
    merged = merged.drop_duplicates("id", keep="first").reset_index(drop=True)
    write_measured(merged, out)
    for p in parts:
        p.unlink(missing_ok=True)
    return len(merged)


def _barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


# --------------------------------------------------------------------------- run
def run_measurement(cfg: MeasureConfig) -> MeasureSummary:
    """Measure the plan's subnets that the file lacks; every input is checked before anything is written."""
    start = time.perf_counter()
    space = cfg.space
    if cfg.engine not in ENGINES:
        raise ValueError(f"unknown evaluation engine {cfg.engine!r}; choose from {list(ENGINES)}")
    if cfg.device != "cpu" and (cfg.engine != "torch" or cfg.workers > 1):
        raise ValueError(f"--device {cfg.device} measures with PyTorch in one process: use --engine torch and --workers 1")
    maybe_init_distributed()
    rank, world = dist_info()
    if world > 1 and cfg.workers > 1:
        raise ValueError("under torchrun every rank is one measuring process: leave --workers at 1")
    plan = list(dict.fromkeys(cfg.archs)) if cfg.archs else measurement_plan(space, cfg.n, cfg.seed)
    supernet, meta = load_weights(cfg.supernet_path, space)
    if cfg.device != "cpu":
        device = resolve_device(cfg.device)
        if world > 1 and device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count())
        supernet = supernet.to(device)
    version = supernet_version(meta, Path(cfg.supernet_path))
    if rank == 0:
        merge_parts(cfg.out_path, space)  # what an interrupted sharded run left, before anyone reads the file
    _barrier(world)
    existing = read_measured(cfg.out_path, space) if cfg.out_path.exists() else pd.DataFrame(columns=list(MEASURED_COLUMNS))
    old_versions = sorted(set(existing["supernet_version"])) if len(existing) else []
    if old_versions and old_versions != [version]:
        raise ValueError(
            f"{cfg.out_path} holds subnets measured with supernet version(s) {old_versions}, but {cfg.supernet_path} is {version!r}; "
            f"measure into a new --out (or move the old file away) so accuracies of different weights never mix"
        )
    if cfg.dataset is None:
        data = load_for_space(space, cfg.data_dir, cache_dir=cfg.cache_dir)
    else:
        data = cfg.dataset
        check_classes(data, space)  # what load_for_space checks on a dataset it reads itself
    calib, holdout = data.split_holdout()

    done = set(existing["id"])
    todo = [a for a in plan[rank::world] if a.id not in done]
    summary = MeasureSummary(cfg.out_path, len(plan), len(plan) - len([a for a in plan if a.id not in done]), 0, len(existing), 0.0, version, rank, world)
    # one process writes the file itself; under torchrun each rank writes its part and rank 0 merges them at the end
    target = cfg.out_path if world == 1 else part_path(cfg.out_path, rank, world)
    written = existing if world == 1 else pd.DataFrame(columns=list(MEASURED_COLUMNS))
    try:
        if todo:
            threads = cfg.threads or (1 if cfg.workers > 1 or world > 1 else auto_threads())  # ranks share the machine's cores
            _measure_into(cfg, todo, supernet, calib, holdout, version, target, written, summary, threads, f" (rank {rank} of {world})" if world > 1 else "")
    finally:
        _barrier(world)
        if world > 1 and rank == 0:
            rows = merge_parts(cfg.out_path, space)
            summary.measured, summary.rows = rows - len(existing), rows
    summary.seconds = time.perf_counter() - start
    return summary


def _measure_into(
    cfg: MeasureConfig,
    todo: list[Arch],
    supernet,
    calib,
    holdout,
    version: str,
    target: Path,
    existing: pd.DataFrame,
    summary: MeasureSummary,
    threads: int,
    who: str,
) -> None:
    """Measure ``todo``, rewriting ``target`` (``existing`` plus the new rows) every few subnets and on the way out."""
    space = cfg.space

    genomes = space.encode(todo)
    counts = count(space, genomes)
    rows: list[dict] = []
    last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal existing, rows, last_flush
        if rows:
            new = pd.DataFrame(rows, columns=list(MEASURED_COLUMNS))
            existing = new if not len(existing) else pd.concat([existing, new], ignore_index=True)
            write_measured(existing, target)
            summary.measured += len(rows)
            summary.rows = len(existing)
            rows = []
        last_flush = time.perf_counter()

    try:
        with torch_threads(threads), progress_bar(total=len(todo), desc=f"measuring {space.name} subnets{who}", unit="subnet") as bar:
            for i, result, seconds in _measured(cfg, todo, supernet, calib, holdout, threads):
                arch = todo[i]
                rows.append(
                    {
                        "id": arch.id,
                        "genome": genomes[i].tolist(),
                        "arch": arch.to_json(),
                        "space": space.name,
                        "top1_holdout": float(result.top1),
                        "top5_holdout": float(result.top5),
                        "n_holdout": int(result.n_images),
                        "n_calib": int(min(cfg.n_calib, len(calib))),
                        "macs": int(counts["macs"][i]),
                        "params": int(counts["params"][i]),
                        "peak_mem": int(counts["peak_mem"][i]),
                        "supernet_version": version,
                        "seed": int(cfg.seed),
                        "seconds": seconds,
                        "engine": cfg.engine if cfg.device == "cpu" else f"{cfg.engine}-{cfg.device}",
                        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    }
                )
                bar.update(1)
                bar.set_postfix(top1=f"{result.top1:.2f}")
                if len(rows) >= cfg.flush_every or time.perf_counter() - last_flush > cfg.flush_seconds:
                    flush()
    finally:
        flush()  # on success, error or Ctrl-C alike: keep every finished subnet


def _measured(cfg: MeasureConfig, todo: list[Arch], supernet, calib, holdout, threads: int):
    """Yield ``(index into todo, EvalResult, seconds)`` as subnets finish, in this process or in ``cfg.workers`` processes."""
    if cfg.workers <= 1:
        for i, arch in enumerate(todo):
            t0 = time.perf_counter()
            yield i, measure_subnet(supernet, arch, calib, holdout, cfg.n_calib, cfg.engine, threads), time.perf_counter() - t0
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch started its thread pools can deadlock
    init = (str(cfg.supernet_path), cfg.space.name, str(cfg.data_dir), None if cfg.cache_dir is None else str(cfg.cache_dir), cfg.n_calib, cfg.engine, threads)
    with ctx.Pool(cfg.workers, initializer=_worker_init, initargs=init) as pool:
        yield from pool.imap_unordered(_worker_measure, [(i, a.to_json()) for i, a in enumerate(todo)])


_WORKER: dict = {}


def _worker_init(supernet_path: str, space_name: str, data_dir: str, cache_dir: str | None, n_calib: int, engine: str, threads: int) -> None:
    torch.set_num_threads(threads)
    space = get_space(space_name)
    supernet, _ = load_weights(Path(supernet_path), space)
    calib, holdout = load_for_space(space, Path(data_dir), cache_dir=None if cache_dir is None else Path(cache_dir)).split_holdout()
    _WORKER.update(supernet=supernet, space=space, calib=calib, holdout=holdout, n_calib=n_calib, engine=engine, threads=threads)


def _worker_measure(task: tuple[int, str]):
    i, arch_json = task
    w = _WORKER
    t0 = time.perf_counter()
    result = measure_subnet(w["supernet"], Arch.from_json(arch_json), w["calib"], w["holdout"], w["n_calib"], w["engine"], w["threads"])
    return i, result, time.perf_counter() - t0


def measure_subnet(supernet, arch: Arch, calib, holdout, n_calib: int, engine: str = "ort", threads: int = 1):
    """BN-recalibrated holdout accuracy of one subnet (an ``EvalResult``).

    Recalibration runs in PyTorch (training-mode BN); evaluation runs either in
    PyTorch or, faster, on the exported ONNX graph in ONNX Runtime (BN folded
    into the convolutions), which is also the graph a user would download.
    """
    space = supernet.space
    net = evaluate.prepare_subnet(supernet, arch, calib, n_calib)
    if engine == "torch":
        return evaluate.evaluate_model(net, space, arch.r, holdout, space.n_classes, 500)
    return evaluate.score_onnx(net, space, arch.r, holdout, threads).result
