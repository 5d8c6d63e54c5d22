"""The int8 ONNX format: static quantization calibrated on training images, checked against fp32, accuracy and latency reported."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ofa_dash.data import Dataset, to_tensor_batch
from ofa_dash.evaluate import balanced_subset, calibration_indices, evaluate_model
from ofa_dash.export.common import EVAL_IMAGES, ExportError, check_destination, staged
from ofa_dash.export.onnx import build_onnx
from ofa_dash.export.parity import compare, ort_logits, parity_inputs
from ofa_dash.runtime.onnx import _with_metadata, read_metadata
from ofa_dash.runtime.ort import OrtClassifier, measure_latency, ort_session
from ofa_dash.runtime.quantize import DEFAULT_INT8, Int8Settings, quantize_onnx
from ofa_dash.subnets import PreparedSubnet

INT8_CALIB_IMAGES = 128  # MinMax ranges widen with more images (outliers): 128 kept accuracy best, see docs/notes/export.md


def int8_calibration(prepared: PreparedSubnet, data: Dataset | None, n_images: int = INT8_CALIB_IMAGES, batch_size: int = 64) -> tuple[list[np.ndarray], str]:
    """Training images for activation ranges (a seeded sample of the calibration split), else random inputs."""
    space, r = prepared.space, prepared.arch.r
    if data is not None:
        calib, _ = data.split_holdout()
        idx = calibration_indices(len(calib), n_images, seed=1)
        x = to_tensor_batch(calib.images[idx], space.mean, space.std, r).contiguous().numpy()
        desc = f"{len(idx)} training images ({data.source})"
    else:
        x = np.random.default_rng(0).standard_normal((min(n_images, 64), 3, r, r)).astype(np.float32)
        desc = f"{len(x)} random normal inputs (no dataset given: accuracy of this int8 model is unknown)"
    return [x[i : i + batch_size] for i in range(0, len(x), batch_size)], desc


def accuracy_on_test(model, prepared: PreparedSubnet, data: Dataset, n_images: int = EVAL_IMAGES) -> dict:
    """Top-1/top-5 of an ONNX model (bytes, path or session) on the test split (or a fixed class-balanced subset of it)."""
    test = data.test
    if n_images and n_images < len(test):
        test = test.subset(balanced_subset(test.labels, n_images))
        images = f"fixed class-balanced subset of {len(test)} of {len(data.test)} test images"
    else:
        images = f"all {len(test)} test images"
    res = evaluate_model(OrtClassifier(model), prepared.space, prepared.arch.r, test, prepared.space.n_classes, 64)
    return {"top1": float(res.top1), "top5": float(res.top5), "n_images": res.n_images, "images": images, "data": data.source}


def build_int8(
    prepared: PreparedSubnet,
    fp32: bytes,
    data: Dataset | None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
) -> tuple[bytes, str]:
    batches, calib_desc = int8_calibration(prepared, data, calib_images)
    model = quantize_onnx(fp32, batches, settings)
    quant = {"method": settings.describe(), "settings": settings.to_dict(), "calibration": calib_desc}
    meta = {**read_metadata(fp32), "quantization": json.dumps(quant)}
    doc = f"int8 (static quantization) of ofa-dash subnet {prepared.arch.id}; see metadata_props"
    return _with_metadata(model, meta, doc), calib_desc


def verify_int8(path: Path, fp32_session, x: torch.Tensor, inputs: str) -> tuple[dict, object]:
    """The int8 file passes the checker, runs, and mostly agrees with fp32 (reported, not required to match).

    Returns the agreement figures and the int8 session.
    """
    import onnx  # heavy and optional: imported on use (see ofa_dash.runtime.onnx)

    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:
        raise ExportError(f"the int8 ONNX model fails onnx.checker: {exc}") from None
    session = ort_session(path, threads=torch.get_num_threads())
    logits = ort_logits(session, x)
    if not np.isfinite(logits).all():
        raise ExportError("the int8 ONNX model produced non-finite outputs")
    agreement = compare(ort_logits(fp32_session, x), logits, inputs)
    agreement["reference"] = "the fp32 ONNX model"
    return agreement, session


def int8_report(
    prepared: PreparedSubnet, fp32: bytes, int8: bytes, data: Dataset | None, eval_images: int = EVAL_IMAGES, sessions: tuple | None = None
) -> dict:
    """Accuracy (when data is at hand) and 1-thread batch-1 latency of the int8 model next to fp32.

    ``sessions``: (fp32, int8) sessions already open, reused for accuracy, and
    for latency too when they run on one thread (session start-up is ~0.5 s each).
    """
    s32, s8 = sessions or (fp32, int8)
    report: dict = {}
    if data is not None:
        acc32 = accuracy_on_test(s32, prepared, data, eval_images)
        acc8 = accuracy_on_test(s8, prepared, data, eval_images)
        report["accuracy"] = {"fp32": acc32, "int8": acc8, "top1_drop": acc32["top1"] - acc8["top1"]}
    lat32 = measure_latency(s32 if _threads(s32) == 1 else fp32, threads=1).to_dict()
    lat8 = measure_latency(s8 if _threads(s8) == 1 else int8, threads=1).to_dict()
    report["latency"] = {"fp32": lat32, "int8": lat8, "speedup": lat32["median_ms"] / lat8["median_ms"]}
    return report


def _threads(model) -> int | None:
    return int(model.get_session_options().intra_op_num_threads) if hasattr(model, "get_session_options") else None


def export_onnx_int8(
    prepared: PreparedSubnet,
    out: str | os.PathLike,
    data: Dataset | None = None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
    eval_images: int = EVAL_IMAGES,
    parity_images: int | None = None,
    step: Callable[[str], None] | None = None,
) -> dict:
    """Statically quantized int8 ONNX, calibrated on training images; accuracy and latency reported next to fp32.

    ``step("verify")`` is called as the checks against fp32 (and the report) start.
    """
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    fp32 = build_onnx(prepared)
    int8, calib_desc = build_int8(prepared, fp32, data, settings, calib_images)
    with staged(out) as tmp:
        tmp.write_bytes(int8)
        if step is not None:
            step("verify")
        fp32_session = ort_session(fp32, threads=torch.get_num_threads())
        agreement, int8_session = verify_int8(tmp, fp32_session, x, inputs)
        report = int8_report(prepared, fp32, int8, data, eval_images, (fp32_session, int8_session))
    return {
        "format": "onnx-int8",
        "path": str(out),
        "bytes": len(int8),
        "quantization": {"method": settings.describe(), "calibration": calib_desc},
        "agreement_with_fp32": agreement,
        **report,
        "seconds": time.perf_counter() - start,
    }
