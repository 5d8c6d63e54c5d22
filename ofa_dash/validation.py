"""Live validation: one subnet of the trained supernet, measured on the test split and timed on this machine.

This is the orchestration above evaluation: it takes a turn in the
validation queue (one at a time per process), prepares the subnet
(:func:`ofa_dash.subnets.prepare`), evaluates it with ONNX Runtime,
times it, and records the result in the store's measurements, where
:func:`best_measurement` finds it again. The CLI's ``validate``, the
dashboard's Validate button and the accuracy benchmark all call
:func:`validate_subnet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ofa_dash.data import Dataset
from ofa_dash.datasets import load_for_space
from ofa_dash.evaluate import BN_CALIB_IMAGES, EVAL_BATCH, balanced_subset, evaluate_model, score_onnx
from ofa_dash.export.int8 import int8_calibration
from ofa_dash.progress import Cancelled
from ofa_dash.runtime.ort import OrtClassifier, auto_threads, measured_label, torch_threads
from ofa_dash.runtime.ort import measure_latency as time_latency  # validate_subnet's measure_latency flag shadows the name
from ofa_dash.runtime.quantize import DEFAULT_INT8, quantize_onnx
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.store import RunStore
from ofa_dash.subnets import prepare
from ofa_dash.validation_queue import VALIDATION_QUEUE
from ofa_dash.workspace import Workspace

# Above this many classes a result keeps no confusion matrix (ImageNet's would be 1,000 x 1,000 in every stored record)
CONFUSION_MAX_CLASSES = 100


@dataclass
class ValidationResult:
    """Live validation of one subnet: measured accuracy on test images and latency on this machine."""

    space: str
    arch: Arch
    top1: float
    top5: float
    n_images: int
    subset: str  # "test (all 10000 images)" or "test, balanced subset of N"
    per_class: dict[str, float | None]
    confusion: list[list[int]]
    latency: dict | None  # LatencyStats.to_dict(): ONNX Runtime, 1 thread, batch 1, several rounds, busy or not
    seconds: float  # from the turn starting to the result (data loading included, queue wait not)
    wait_seconds: float
    stage_seconds: dict[str, float]
    supernet_version: str
    supernet_sha256: str | None
    data: str
    data_fingerprint: str
    calib_images: int
    eval_threads: int
    measured_at: str
    recorded_to: str | None = None
    int8: dict | None = None  # with int8=True: top1 / top5 of the int8 model on the same images, and how it was quantized

    def to_dict(self) -> dict:
        """The CLI's JSON object (DESIGN.md contract: arch, top1, top5, n_images, latency_ms, seconds)."""
        lat = self.latency or {}
        return {
            "arch": self.arch.id,
            "top1": self.top1,
            "top5": self.top5,
            "n_images": self.n_images,
            "latency_ms": lat.get("median_ms"),
            "latency_iqr_ms": lat.get("iqr_ms"),
            "latency_repeats": lat.get("repeats"),
            "latency_source": f"measured: {lat['runtime']}, {lat['threads']} thread, batch {lat['batch_size']}, {lat['device']}" if lat else None,
            # how far to trust the latency: rounds, the machine's load while timing, and whether it was too busy
            "latency_label": measured_label(lat) if lat else None,
            "latency_rounds": lat.get("rounds"),
            "latency_round_medians_ms": lat.get("round_medians_ms"),
            "latency_machine": lat.get("machine"),
            "latency_load_1min": lat.get("load_1min"),
            "latency_idle_cores": lat.get("idle_cores"),
            "latency_busy": lat.get("busy") if lat else None,
            "latency_busy_reason": lat.get("busy_reason"),
            "seconds": self.seconds,
            "space": self.space,
            "arch_json": self.arch.to_dict(),
            "subset": self.subset,
            "supernet_version": self.supernet_version,
            "supernet_sha256": self.supernet_sha256,
            "data": self.data,
            "data_fingerprint": self.data_fingerprint,
            "calib_images": self.calib_images,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "stage_seconds": self.stage_seconds,
            "wait_seconds": self.wait_seconds,
            "eval_threads": self.eval_threads,
            "measured_at": self.measured_at,
            "recorded_to": self.recorded_to,
            # the int8 model of the same subnet on the same images: a measured pair for the int8 drop model (predictors.int8_drop)
            **({"top1_int8": self.int8["top1"], "top5_int8": self.int8["top5"], "int8_quantization": self.int8["quantization"]} if self.int8 else {}),
        }


def validate_subnet(
    space: SearchSpace,
    arch: Arch,
    supernet_path=None,
    data_root=None,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    *,
    threads: int | None = None,  # PyTorch and ONNX Runtime threads for recalibration and evaluation (default: auto_threads())
    measure_latency: bool = True,
    record: bool = True,
    store_root=None,
    cache_dir=None,
    on_wait: Callable[[dict | None], None] | None = None,
    queue=None,
    n_calib: int = BN_CALIB_IMAGES,
    int8: bool = False,
) -> ValidationResult:
    """Extract ``arch``, recalibrate BN, evaluate it on the test split and time it; one validation at a time.

    ``supernet_path``: a checkpoint, or None for ``precomputed/<space>/supernet.pt``
    (or a ``LoadedSupernet`` already in memory). ``data_root``: a dataset root
    or a loaded :class:`~ofa_dash.data.Dataset`. ``limit``: evaluate a fixed,
    class-balanced subset of that many test images instead of all.
    ``progress(stage, done, total)`` is called with stages ``"waiting"``,
    ``"recalibrating"``, ``"evaluating"``, ``"timing"``; ``cancel()`` returning
    True stops the run with :class:`Cancelled` (nothing is recorded).
    ``on_wait(holder)`` is called once if another validation holds the turn.
    The result is appended to the store's measured results (``RunStore.record_measurement``:
    keyed by space, supernet version and subnet id) unless ``record`` is False;
    ``store_root`` overrides ``precomputed/``. ``int8``: also quantize the exported graph
    (the int8 export's settings and calibration draw) and score it on the same images,
    stored as ``top1_int8`` / ``top5_int8`` in the same record (stage ``"evaluating int8"``).
    """
    if data_root is None:
        raise ValueError("live validation needs a dataset root (--data DIR) for BN recalibration and test images")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be a positive number of images, got {limit}")
    space.validate(arch)
    queue = queue or VALIDATION_QUEUE
    report = progress or (lambda stage, done, total: None)
    asked = time.perf_counter()

    def waiting(holder):
        report("waiting", 0, 0)
        if on_wait is not None:
            on_wait(holder)

    with queue.turn(what=f"validating {space.name} subnet {arch.id}", on_wait=waiting, cancel=cancel):
        start = time.perf_counter()
        stages: dict[str, float] = {}
        threads = threads or auto_threads()
        with torch_threads(threads):
            result = _validate_in_turn(space, arch, supernet_path, data_root, limit, report, cancel, threads, measure_latency, cache_dir, n_calib, stages, int8)
        result.wait_seconds = start - asked
        result.seconds = time.perf_counter() - start
    if record:
        store = RunStore(store_root)
        entry = {k: v for k, v in result.to_dict().items() if k != "recorded_to"}
        store.record_measurement(space.name, {**entry, "kind": "live-validation"})
        result.recorded_to = str(Workspace(store.root).space(space).measurements)
    return result


def best_measurement(space: str, supernet_version: str, arch_id: str, store_root=None) -> dict | None:
    """The stored live validation of this subnet and supernet on the most test images (latest on ties), or None."""
    df = RunStore(store_root).best_measurements(space, supernet_version)
    df = df[df["arch"] == arch_id] if len(df) else df
    if not len(df):
        return None
    return {k: v for k, v in df.iloc[0].to_dict().items() if not (isinstance(v, float) and np.isnan(v))}


def _validate_in_turn(space, arch, supernet_path, data_root, limit, report, cancel, threads, with_latency, cache_dir, n_calib, stages, int8=False):
    def lap(name: str, t0: float) -> float:
        now = time.perf_counter()
        stages[name] = now - t0
        return now

    t = time.perf_counter()
    data = data_root if isinstance(data_root, Dataset) else load_for_space(space, data_root, cache_dir=cache_dir)
    t = lap("load_data", t)
    if cancel is not None and cancel():
        raise Cancelled("validation cancelled before recalibration")
    report("recalibrating", 0, n_calib)
    prepared = prepare(space, arch, supernet_path, data, n_calib)
    report("recalibrating", prepared.provenance.calib_images, n_calib)
    t = lap("recalibrate", t)
    test, name = data.test, data.test_name
    subset = f"{name} (all {len(test)} images)"
    if limit is not None and limit < len(test):
        test = test.subset(balanced_subset(test.labels, limit))
        subset = f"{name}, fixed class-balanced subset of {limit} of {len(data.test)} images"
    score = score_onnx(prepared.net, space, arch.r, test, threads, lambda d, n: report("evaluating", d, n), cancel)
    res, model = score.result, score.model
    stages.update(export_onnx=score.export_seconds, evaluate=score.evaluate_seconds)
    t = time.perf_counter()
    int8_result = None
    if int8:
        int8_result = _score_int8(prepared, model, test, threads, lambda d, n: report("evaluating int8", d, n), cancel)
        t = lap("evaluate_int8", t)
    latency = None
    if with_latency:
        if cancel is not None and cancel():
            raise Cancelled("validation cancelled before timing")
        report("timing", 0, 1)
        latency = time_latency(model, threads=1, batch_size=1).to_dict()
        report("timing", 1, 1)
        lap("latency", t)
    names = _class_names(space, data.classes)
    return ValidationResult(
        space=space.name,
        arch=arch,
        top1=float(res.top1),
        top5=float(res.top5),
        n_images=res.n_images,
        subset=subset,
        per_class=_per_class(names, res.per_class, len(data.classes)),
        confusion=res.confusion if len(data.classes) <= CONFUSION_MAX_CLASSES else [],
        latency=latency,
        seconds=0.0,
        wait_seconds=0.0,
        stage_seconds=stages,
        supernet_version=prepared.provenance.supernet_version,
        supernet_sha256=prepared.provenance.supernet_sha256,
        data=data.source,
        data_fingerprint=data.fingerprint,
        calib_images=prepared.provenance.calib_images,
        eval_threads=score.threads,
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        int8=int8_result,
    )


def _score_int8(prepared, fp32_model: bytes, test, threads: int, progress, cancel) -> dict:
    """Quantize the scored fp32 graph as the int8 export does (same settings, same calibration draw) and score it on ``test``."""
    if cancel is not None and cancel():
        raise Cancelled("validation cancelled before the int8 pass")
    batches, calibration = int8_calibration(prepared)
    model = quantize_onnx(fp32_model, batches, DEFAULT_INT8)
    res = evaluate_model(OrtClassifier(model, threads), prepared.space, prepared.arch.r, test, prepared.space.n_classes, EVAL_BATCH, progress, cancel)
    return {"top1": float(res.top1), "top5": float(res.top5), "quantization": f"{DEFAULT_INT8.describe()}; calibrated on {calibration}"}


def _per_class(names: list[str], top1: list[float], n_classes: int) -> dict[str, float | None]:
    """Top-1 per class name; beyond ``CONFUSION_MAX_CLASSES`` classes only those evaluated (a --limit run of ImageNet sees few of 1,000)."""
    values = {names[i]: (None if np.isnan(v) else float(v)) for i, v in enumerate(top1) if i < n_classes}
    return values if n_classes <= CONFUSION_MAX_CLASSES else {k: v for k, v in values.items() if v is not None}


def _class_names(space: SearchSpace, data_classes) -> list[str]:
    names = list(data_classes)
    for i in range(len(names), space.n_classes):
        names.append(space.class_names[i] if i < len(space.class_names) else str(i))
    return names
