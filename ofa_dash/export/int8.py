"""The int8 ONNX format: static quantization calibrated on training images, checked against fp32, accuracy and latency reported."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ofa_dash.data import Dataset, model_inputs
from ofa_dash.evaluate import balanced_subset, calibration_indices, evaluate_model
from ofa_dash.export.common import EVAL_IMAGES, ExportError, check_destination, staged
from ofa_dash.export.onnx import build_onnx
from ofa_dash.export.parity import compare, ort_logits, parity_inputs
from ofa_dash.runtime.onnx import _with_metadata, read_metadata
from ofa_dash.runtime.ort import OrtClassifier, measure_latency, ort_session
from ofa_dash.runtime.quantize import DEFAULT_INT8, Int8Settings, quantize_onnx
from ofa_dash.subnets import PreparedSubnet

DROP_IMAGES = 500  # calibration images the int8 accuracy drop is measured on when no test data is given
INT8_CALIB_IMAGES = 128  # MinMax ranges widen with more images (outliers): 128 kept accuracy best, see docs/notes/export.md


def int8_calibration(prepared: PreparedSubnet, n_images: int = INT8_CALIB_IMAGES, batch_size: int = 64) -> tuple[list[np.ndarray], str]:
    """Training images for activation ranges, else random inputs.

    A seeded draw from the images BN was re-estimated on (``prepared.calibration``),
    so an export from the shipped calibration sample quantizes exactly like one
    from the full dataset.
    """
    space, r = prepared.space, prepared.arch.r
    cal = prepared.calibration
    if cal is not None:
        idx = calibration_indices(len(cal), n_images, seed=1)
        x = model_inputs(cal.images.subset(idx), space.mean, space.std, r).numpy()
        desc = f"{len(idx)} training images ({cal.source}; a seeded draw from the BN calibration images)"
    else:
        x = np.random.default_rng(0).standard_normal((min(n_images, 64), 3, r, r)).astype(np.float32)
        desc = f"{len(x)} random normal inputs (no calibration images: accuracy of this int8 model is unknown)"
    return [x[i : i + batch_size] for i in range(0, len(x), batch_size)], desc


def accuracy_on_test(model, prepared: PreparedSubnet, data: Dataset, n_images: int = EVAL_IMAGES) -> dict:
    """Top-1/top-5 of an ONNX model (bytes, path or session) on the test split (or a fixed class-balanced subset of it)."""
    test = data.test
    if n_images and n_images < len(test):
        test = test.subset(balanced_subset(test.labels, n_images))
        images = f"fixed class-balanced subset of {len(test)} of {len(data.test)} {data.test_name} images"
    else:
        images = f"all {len(test)} {data.test_name} images"
    res = evaluate_model(OrtClassifier(model), prepared.space, prepared.arch.r, test, prepared.space.n_classes, 64)
    return {"top1": float(res.top1), "top5": float(res.top5), "n_images": res.n_images, "images": images, "data": data.source}


def build_int8(
    prepared: PreparedSubnet,
    fp32: bytes,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
) -> tuple[bytes, str]:
    batches, calib_desc = int8_calibration(prepared, calib_images)
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
    """Accuracy (when data is at hand) and 1-thread batch-1 latency of the int8 model next to fp32, and what they add up to.

    ``sessions``: (fp32, int8) sessions already open, reused for accuracy, and
    for latency too when they run on one thread (session start-up is ~0.5 s each).
    Without test data the accuracy drop is measured on the BN calibration images
    (training images: a drop, not an accuracy) and kept out of ``accuracy``.
    """
    s32, s8 = sessions or (fp32, int8)
    report: dict = {}
    drop = None
    if data is not None:
        acc32 = accuracy_on_test(s32, prepared, data, eval_images)
        acc8 = accuracy_on_test(s8, prepared, data, eval_images)
        report["accuracy"] = {"fp32": acc32, "int8": acc8, "top1_drop": acc32["top1"] - acc8["top1"]}
        drop = {"fp32": acc32["top1"], "int8": acc8["top1"], "images": f"{acc32['images']} ({acc32['data']})"}
    elif prepared.calibration is not None:
        drop = _drop_on_calibration_images(prepared, s32, s8)
    lat32 = measure_latency(s32 if _threads(s32) == 1 else fp32, threads=1).to_dict()
    lat8 = measure_latency(s8 if _threads(s8) == 1 else int8, threads=1).to_dict()
    report["latency"] = {"fp32": lat32, "int8": lat8, "speedup": lat32["median_ms"] / lat8["median_ms"]}
    report["int8_vs_fp32"] = int8_verdict(drop, lat32, lat8)
    return report


def _drop_on_calibration_images(prepared: PreparedSubnet, s32, s8, n_images: int = DROP_IMAGES) -> dict:
    cal = prepared.calibration
    images = cal.images.subset(balanced_subset(cal.images.labels, n_images))
    top1 = {}
    for name, session in (("fp32", s32), ("int8", s8)):
        res = evaluate_model(OrtClassifier(session), prepared.space, prepared.arch.r, images, prepared.space.n_classes, 64)
        top1[name] = float(res.top1)
    where = f"{len(images):,} of the BN calibration images ({cal.source}; training images, so read the drop, not the accuracy)"
    return {**top1, "images": where}


def int8_verdict(drop: dict | None, lat32: dict, lat8: dict) -> dict:
    """The int8 model against fp32 on this machine, in figures and one sentence: accuracy drop, speed, and whether int8 is slower."""
    speedup = lat32["median_ms"] / lat8["median_ms"]
    slower = lat8["median_ms"] > lat32["median_ms"]
    timing = f"ONNX Runtime, 1 thread, batch 1, on {lat8['device']}"
    if slower:
        speed = (
            f"int8 is SLOWER than fp32 here ({lat8['median_ms']:.3f} ms against {lat32['median_ms']:.3f} ms, {timing}): prefer the fp32 model on this machine"
        )
    else:
        speed = f"int8 runs {speedup:.2f}x as fast as fp32 ({lat8['median_ms']:.3f} ms against {lat32['median_ms']:.3f} ms, {timing})"
    if drop is not None:
        points = drop["fp32"] - drop["int8"]
        change = f"loses {points:.2f}" if points >= 0 else f"gains {-points:.2f}"
        acc = f"int8 {change} top-1 points against fp32 ({drop['fp32']:.2f} % -> {drop['int8']:.2f} % on {drop['images']})"
    else:
        acc = "the int8 accuracy drop was not measured (no images were at hand)"
    return {
        "top1_fp32": drop["fp32"] if drop else None,
        "top1_int8": drop["int8"] if drop else None,
        "top1_drop": (drop["fp32"] - drop["int8"]) if drop else None,
        "drop_measured_on": drop["images"] if drop else None,
        "fp32_ms": lat32["median_ms"],
        "int8_ms": lat8["median_ms"],
        "speedup": speedup,
        "int8_slower": slower,
        "latency_measured_on": timing,
        "summary": f"{acc}; {speed}.",
    }


def with_verdict(int8: bytes, verdict: dict) -> bytes:
    """The int8 model with its measured comparison to fp32 in ``metadata_props`` (key ``int8_vs_fp32``)."""
    meta = {**read_metadata(int8), "int8_vs_fp32": json.dumps(verdict)}
    return _with_metadata(int8, meta, f"{_doc(int8)} int8 vs fp32: {verdict['summary']}")


def _doc(model: bytes) -> str:
    import onnx  # heavy and optional: imported on use (see ofa_dash.runtime.onnx)

    return onnx.load_from_string(model).doc_string


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
    """Statically quantized int8 ONNX, calibrated on training images; accuracy drop and latency against fp32 measured and written into the file.

    ``step("verify")`` is called as the checks against fp32 (and the report) start.
    """
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    fp32 = build_onnx(prepared)
    int8, calib_desc = build_int8(prepared, fp32, settings, calib_images)
    if step is not None:
        step("verify")
    threads = torch.get_num_threads()
    fp32_session = ort_session(fp32, threads=threads)
    report = int8_report(prepared, fp32, int8, data, eval_images, (fp32_session, ort_session(int8, threads=threads)))
    int8 = with_verdict(int8, report["int8_vs_fp32"])
    with staged(out) as tmp:
        tmp.write_bytes(int8)
        agreement, _ = verify_int8(tmp, fp32_session, x, inputs)
    return {
        "format": "onnx-int8",
        "path": str(out),
        "bytes": len(int8),
        "quantization": {"method": settings.describe(), "calibration": calib_desc},
        "agreement_with_fp32": agreement,
        **report,
        "seconds": time.perf_counter() - start,
    }
