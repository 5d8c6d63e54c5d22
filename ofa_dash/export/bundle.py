"""The bundle format: one zip with fp32 and int8 ONNX, config, model card and a stand-alone ``predict.py``."""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from ofa_dash.data import Dataset
from ofa_dash.export import model_card
from ofa_dash.export.common import EVAL_IMAGES, ExportError, check_destination, model_config, staged
from ofa_dash.export.int8 import INT8_CALIB_IMAGES, build_int8, int8_report, verify_int8, with_verdict
from ofa_dash.export.onnx import build_onnx, verify_onnx
from ofa_dash.export.parity import parity_inputs
from ofa_dash.runtime.ort import ort_session
from ofa_dash.runtime.quantize import DEFAULT_INT8, Int8Settings
from ofa_dash.subnets import PreparedSubnet

BUNDLE_FILES = ("model.onnx", "model-int8.onnx", "config.json", "MODEL_CARD.md", "model_card.json", "predict.py")


def export_bundle(
    prepared: PreparedSubnet,
    out: str | os.PathLike,
    data: Dataset | None = None,
    predicted: dict | None = None,
    measured: dict | None = None,
    settings: Int8Settings = DEFAULT_INT8,
    calib_images: int = INT8_CALIB_IMAGES,
    eval_images: int = EVAL_IMAGES,
    parity_images: int | None = None,
    step: Callable[[str], None] | None = None,
) -> dict:
    """A zip with fp32 and int8 ONNX, config, model card (Markdown + JSON) and a stand-alone ``predict.py``.

    ``step("verify")`` is called as the models are checked (parity, int8 agreement, accuracy and latency).

    ``predicted``: the ``predict`` command's JSON (``top1``, ``latency_ms`` per
    device, optional ``source``/``sources``) for the card. ``measured``: a
    stored live-validation record of this subnet, shown next to the export's
    own figures.
    """
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    fp32 = build_onnx(prepared)
    int8, calib_desc = build_int8(prepared, fp32, settings, calib_images)
    config = model_config(prepared)
    config["files"] = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
    with tempfile.TemporaryDirectory(prefix="ofa-dash-bundle-") as work:
        work = Path(work)
        (work / "model.onnx").write_bytes(fp32)
        if step is not None:
            step("verify")
        parity, fp32_session = verify_onnx(work / "model.onnx", prepared, x, inputs)
        report = int8_report(prepared, fp32, int8, data, eval_images, (fp32_session, ort_session(int8, threads=torch.get_num_threads())))
        if report.get("int8_vs_fp32"):
            int8 = with_verdict(int8, report["int8_vs_fp32"])  # the measured comparison travels in the int8 file too
        (work / "model-int8.onnx").write_bytes(int8)
        agreement, _ = verify_int8(work / "model-int8.onnx", fp32_session, x, inputs)
        card = model_card.build(
            prepared,
            config,
            parity=parity,
            int8_agreement=agreement,
            report=report,
            quantization={"method": settings.describe(), "calibration": calib_desc},
            predicted=predicted,
            measured=measured,
        )
        files = {
            "model.onnx": fp32,
            "model-int8.onnx": int8,
            "config.json": json.dumps(config, indent=2).encode(),
            "MODEL_CARD.md": model_card.render_markdown(card).encode(),
            "model_card.json": json.dumps(card, indent=2).encode(),
            "predict.py": predict_script().encode(),
        }
        with staged(out) as tmp:
            with zipfile.ZipFile(tmp, "w") as zf:
                for name, payload in files.items():
                    # float weights barely compress (~7 %) and deflating them cost 15 s: store models, deflate text
                    zf.writestr(name, payload, compress_type=zipfile.ZIP_STORED if name.endswith(".onnx") else zipfile.ZIP_DEFLATED)
            verify_bundle(tmp, files)
    return {
        "format": "bundle",
        "path": str(out),
        "bytes": out.stat().st_size,
        "files": list(files),
        "parity": parity,
        "int8_agreement_with_fp32": agreement,
        **report,
        "seconds": time.perf_counter() - start,
    }


def verify_bundle(path: Path, expected: dict[str, bytes]) -> None:
    """The zip reads back intact (CRCs) and byte for byte what was verified before zipping."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ExportError(f"bundle member {bad} is corrupt")
            names = set(zf.namelist())
            if names != set(expected):
                raise ExportError(f"bundle holds {sorted(names)}, expected {sorted(expected)}")
            for name, payload in expected.items():
                if zf.read(name) != payload:
                    raise ExportError(f"bundle member {name} does not match what was written")
    except zipfile.BadZipFile as exc:
        raise ExportError(f"the bundle is not a readable zip file: {exc}") from None


def predict_script() -> str:
    """Source of the bundle's stand-alone inference script (needs only onnxruntime, numpy and Pillow)."""
    return (Path(__file__).parent / "bundle_predict.py").read_text()
