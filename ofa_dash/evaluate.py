"""Measuring a subnet: extract, recalibrate BN, evaluate (with progress and cancellation).

BN recalibration runs in PyTorch (training-mode BN has no ONNX Runtime
equivalent worth its cost); evaluation takes any classifier, and live
validation (:mod:`ofa_dash.validation`) hands it the *exported* ONNX graph
run by ONNX Runtime. That is both faster (BN folded into the
convolutions, ~4x PyTorch eager here) and the stronger proof: the accuracy
reported is that of the very graph a user downloads, and the latency is
measured on it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ofa_dash.data import ImageSplit
from ofa_dash.nn import Supernet, recalibrate_bn
from ofa_dash.progress import Cancelled
from ofa_dash.runtime.onnx import onnx_bytes
from ofa_dash.runtime.ort import OrtClassifier
from ofa_dash.space import Arch, SearchSpace

BN_CALIB_IMAGES = 2000
# Batches of 100 recalibrate the largest cifar10 subnet ~1.5x faster than 250 on
# this CPU (smaller activations stay closer to the caches); statistics are
# averaged over batches either way.
CALIB_BATCH = 100


@dataclass
class EvalResult:
    top1: float
    top5: float
    n_images: int
    seconds: float
    per_class: list[float] = field(default_factory=list)  # top-1 per class, percent
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted


def calibration_indices(n_available: int, n_images: int = BN_CALIB_IMAGES, seed: int = 0) -> np.ndarray:
    """Indices of the fixed, seeded sample of training images used for BN recalibration."""
    return np.sort(np.random.default_rng(seed).permutation(n_available)[:n_images])


def calibration_batches(space: SearchSpace, calib: ImageSplit, resolution: int, n_images: int = BN_CALIB_IMAGES, batch_size: int = CALIB_BATCH, seed: int = 0):
    """A fixed, seeded sample of training images, as model-ready batches (each split applies its dataset's preprocessing)."""
    idx = calibration_indices(len(calib), n_images, seed)
    for x, _ in calib.subset(idx).batches(batch_size, space.mean, space.std, resolution):
        yield x


@torch.no_grad()
def prepare_subnet(supernet: Supernet, arch: Arch, calib: ImageSplit, n_calib: int = BN_CALIB_IMAGES, batch_size: int | None = None) -> torch.nn.Module:
    """Extracted static subnet with BN statistics re-estimated on ``n_calib`` training images.

    ``batch_size`` defaults to ``CALIB_BATCH``; the statistics shift by a few
    hundredths of a point with it, so measured datasets keep the default.
    """
    net = supernet.extract(arch).to(device=model_device(supernet), memory_format=torch.channels_last)
    return recalibrate_subnet(net, supernet.space, arch, calib, n_calib, batch_size)


@torch.no_grad()
def recalibrate_subnet(
    net: torch.nn.Module, space: SearchSpace, arch: Arch, calib: ImageSplit, n_calib: int = BN_CALIB_IMAGES, batch_size: int | None = None
) -> torch.nn.Module:
    """Re-estimate ``net``'s BN statistics in place on the same seeded ``n_calib`` images as :func:`prepare_subnet`; returns it in eval mode.

    What a static subnet from elsewhere (e.g. fine-tuned weights) goes through so it is measured and exported like an extracted one.
    """
    device = model_device(net)
    chunks = calibration_batches(space, calib, arch.r, n_calib, batch_size or CALIB_BATCH)
    batches = (x.to(device, non_blocking=True) for x in chunks)
    recalibrate_bn(net, batches, max_images=n_calib)
    return net.eval()


def model_device(net: torch.nn.Module) -> torch.device:
    """Where ``net``'s weights live (CPU for modules without parameters, such as ONNX Runtime wrappers)."""
    first = next(iter(net.parameters()), None) if isinstance(net, torch.nn.Module) else None
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def evaluate_model(
    net: torch.nn.Module,
    space: SearchSpace,
    resolution: int,
    data: ImageSplit,
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
    device = model_device(net)
    for x, y in data.batches(batch_size, space.mean, space.std, resolution, device):
        if cancel is not None and cancel():
            raise Cancelled(f"evaluation cancelled after {done} images")
        logits = net(x)
        k = min(5, logits.shape[1])
        best = logits.topk(k, dim=1).indices.cpu().numpy()
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


@dataclass
class OnnxScore:
    """A subnet scored through its exported ONNX graph: the result, the graph, and the threads ONNX Runtime used."""

    result: EvalResult
    model: bytes
    threads: int
    export_seconds: float
    evaluate_seconds: float


def score_onnx(
    net: torch.nn.Module,
    space: SearchSpace,
    resolution: int,
    data: ImageSplit,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> OnnxScore:
    """Export ``net`` (BN folded) and evaluate that very graph in ONNX Runtime.

    The accuracy is that of the file a user downloads, and it is ~4x faster
    than PyTorch eager here; measuring subnets and live validation both score this way.
    """
    start = time.perf_counter()
    model = onnx_bytes(net, resolution)
    classifier = OrtClassifier(model, threads)
    exported = time.perf_counter()
    result = evaluate_model(classifier, space, resolution, data, space.n_classes, EVAL_BATCH, progress, cancel)
    return OnnxScore(result, model, classifier.threads, exported - start, time.perf_counter() - exported)


def evaluate_subnet(
    supernet: Supernet,
    arch: Arch,
    calib: ImageSplit,
    data: ImageSplit,
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


# --------------------------------------------------------------------------- live validation
EVAL_BATCH = 64  # ONNX Runtime on this CPU: small batches keep activations in cache


def balanced_subset(labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of ``n`` images taken class by class in turn (the first images of each class, in order).

    Deterministic and class-balanced, so quick validations (``--limit``) of
    different subnets see the same images and every class.
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    per_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    rank = np.empty(len(labels), dtype=np.int64)
    for idx in per_class:
        rank[idx] = np.arange(len(idx))
    order = np.lexsort((labels, rank))  # round-robin: rank 0 of every class, then rank 1, ...
    return np.sort(order[:n])
