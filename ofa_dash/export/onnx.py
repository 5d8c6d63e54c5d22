"""The fp32 ONNX format: the subnet's graph with everything needed to run it in ``metadata_props``, verified.

What a user needs to run the model without ofa-dash (input name and shape,
resolution, resize method, mean/std, class names) travels inside the ONNX
file's ``metadata_props``, together with the architecture and the supernet
version it came from.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ofa_dash.data import Dataset
from ofa_dash.export.common import ExportError, check_destination, model_config, staged
from ofa_dash.export.parity import PARITY_ATOL, compare, ort_logits, parity_inputs, torch_logits
from ofa_dash.runtime.onnx import OPSET, _with_metadata, onnx_bytes, read_metadata
from ofa_dash.runtime.ort import ort_session
from ofa_dash.subnets import PreparedSubnet


def _metadata(config: dict, extra: dict | None = None) -> dict[str, str]:
    pre = config["preprocessing"]
    prov = config["provenance"]
    meta = {
        "ofa_dash.config": json.dumps(config, separators=(",", ":")),
        "input_name": pre["input_name"],
        "input_shape": json.dumps(pre["input_shape"]),
        "resolution": str(pre["resolution"]),
        "resize": pre["resize"],
        "mean": json.dumps(pre["mean"]),
        "std": json.dumps(pre["std"]),
        "class_names": json.dumps(pre["class_names"]),
        "space": config["space"],
        "arch_id": config["arch_id"],
        "arch": json.dumps(config["arch"], separators=(",", ":")),
        "supernet_version": prov["supernet_version"],
        "bn_recalibrated": str(prov["bn_recalibrated"]).lower(),
        "weights": prov.get("weights", "supernet"),
        "data": prov["data"] or "",
    }
    meta.update({k: str(pre[k]) for k in ("resize_shorter", "center_crop") if k in pre})
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (extra or {}).items()})
    return meta


def build_onnx(prepared: PreparedSubnet) -> bytes:
    config = model_config(prepared)
    doc = f"ofa-dash subnet {prepared.arch.id} of space {prepared.space.name} (supernet {prepared.provenance.supernet_version}); see metadata_props"
    return _with_metadata(onnx_bytes(prepared.net, prepared.arch.r), _metadata(config), doc)


def verify_onnx(path: Path, prepared: PreparedSubnet, x: torch.Tensor, inputs: str, reference: np.ndarray | None = None) -> tuple[dict, object]:
    """onnx.checker, metadata round trip, and ORT-vs-PyTorch parity (<= 1e-4, identical top-1) of the file at ``path``.

    Returns the parity figures and the ONNX Runtime session (reused for accuracy and latency).
    """
    import onnx  # heavy and optional: imported on use (see ofa_dash.runtime.onnx)

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise ExportError(f"the exported ONNX model fails onnx.checker: {exc}") from None
    meta = read_metadata(path)
    if meta.get("arch_id") != prepared.arch.id or json.loads(meta.get("ofa_dash.config", "{}")).get("arch") != prepared.arch.to_dict():
        raise ExportError("the exported ONNX model's metadata does not describe the subnet that was exported")
    session = ort_session(path, threads=torch.get_num_threads())
    reference = torch_logits(prepared.net, x) if reference is None else reference
    parity = compare(reference, ort_logits(session, x), inputs)
    parity.update({"reference": "PyTorch (the extracted subnet, fp32)", "tolerance": PARITY_ATOL})
    if parity["max_abs_diff"] > PARITY_ATOL or parity["top1_disagreements"]:
        raise ExportError(
            f"ONNX Runtime and PyTorch disagree on {inputs}: max |diff| = {parity['max_abs_diff']:.2e} (allowed {PARITY_ATOL:.0e}), "
            f"{parity['top1_disagreements']} different top-1 predictions"
        )
    return parity, session


def export_onnx(
    prepared: PreparedSubnet, out: str | os.PathLike, data: Dataset | None = None, parity_images: int | None = None, step: Callable[[str], None] | None = None
) -> dict:
    """fp32 ONNX with preprocessing in its metadata, checked and parity-tested before it lands at ``out``; ``step("verify")`` as checks start."""
    start = time.perf_counter()
    out = check_destination(out)
    x, inputs = parity_inputs(prepared, data, parity_images)
    model = build_onnx(prepared)
    with staged(out) as tmp:
        tmp.write_bytes(model)
        if step is not None:
            step("verify")
        parity, _ = verify_onnx(tmp, prepared, x, inputs)
    return {"format": "onnx", "path": str(out), "bytes": len(model), "opset": OPSET, "parity": parity, "seconds": time.perf_counter() - start}
