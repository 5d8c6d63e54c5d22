"""Measuring a subnet: extract, recalibrate BN, evaluate (with progress and cancellation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ofa_dash.data import Split, iterate_batches, to_tensor_batch
from ofa_dash.nn import Supernet, recalibrate_bn
from ofa_dash.space import Arch, SearchSpace

BN_CALIB_IMAGES = 2000


class Cancelled(Exception):
    """Raised when the ``cancel`` callback asks evaluation to stop."""


@dataclass
class EvalResult:
    top1: float
    top5: float
    n_images: int
    seconds: float
    per_class: list[float] = field(default_factory=list)  # top-1 per class, percent
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted


def calibration_batches(space: SearchSpace, calib: Split, resolution: int, n_images: int = BN_CALIB_IMAGES, batch_size: int = 250, seed: int = 0):
    """A fixed, seeded sample of training images, as model-ready batches."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(calib))[:n_images])
    for x, _ in iterate_batches(calib.subset(idx), batch_size):
        yield to_tensor_batch(x, space.mean, space.std, resolution)


@torch.no_grad()
def prepare_subnet(supernet: Supernet, arch: Arch, calib: Split, n_calib: int = BN_CALIB_IMAGES) -> torch.nn.Module:
    """Extracted static subnet with BN statistics re-estimated on ``n_calib`` training images."""
    net = supernet.extract(arch).to(memory_format=torch.channels_last)
    recalibrate_bn(net, calibration_batches(supernet.space, calib, arch.r, n_calib), max_images=n_calib)
    return net.eval()


@torch.no_grad()
def evaluate_model(
    net: torch.nn.Module,
    space: SearchSpace,
    resolution: int,
    data: Split,
    n_classes: int,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> EvalResult:
    """Top-1/top-5, per-class accuracy and confusion matrix of ``net`` on ``data``."""
    start = time.perf_counter()
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    top5 = 0
    done = 0
    for x, y in iterate_batches(data, batch_size):
        if cancel is not None and cancel():
            raise Cancelled(f"evaluation cancelled after {done} images")
        logits = net(to_tensor_batch(x, space.mean, space.std, resolution))
        k = min(5, logits.shape[1])
        best = logits.topk(k, dim=1).indices.numpy()
        np.add.at(confusion, (y, best[:, 0]), 1)
        top5 += int((best == y[:, None]).any(1).sum())
        done += len(y)
        if progress is not None:
            progress(done, len(data))
    n = int(confusion.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(confusion.sum(1) > 0, 100.0 * np.diag(confusion) / confusion.sum(1), np.nan)
    return EvalResult(
        top1=100.0 * np.trace(confusion) / max(n, 1),
        top5=100.0 * top5 / max(n, 1),
        n_images=n,
        seconds=time.perf_counter() - start,
        per_class=[float(v) for v in per_class],
        confusion=confusion.tolist(),
    )


def evaluate_subnet(
    supernet: Supernet,
    arch: Arch,
    calib: Split,
    data: Split,
    n_calib: int = BN_CALIB_IMAGES,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> EvalResult:
    """Extract ``arch``, recalibrate BN on ``calib`` and evaluate on ``data`` (timing includes both)."""
    start = time.perf_counter()
    net = prepare_subnet(supernet, arch, calib, n_calib)
    result = evaluate_model(net, supernet.space, arch.r, data, supernet.space.n_classes, batch_size, progress, cancel)
    result.seconds = time.perf_counter() - start
    return result
