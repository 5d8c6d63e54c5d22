"""The OpenVINO IR format: ``NAME.xml`` (the graph) and ``NAME.bin`` (fp32 weights), verified against PyTorch.

The IR is converted from the very ONNX graph the ``onnx`` format writes
(:func:`ofa_dash.export.onnx.build_onnx`, the one exporter), so both files
describe the same network; the ONNX metadata (preprocessing, architecture,
supernet version, provenance) travels in the IR's ``rt_info`` under
``ofa_dash``, together with the format and the OpenVINO version. Both files
are built in a temporary folder beside the destination, read back with
OpenVINO, run on the CPU plugin in fp32 and compared with the PyTorch subnet
(same tolerance as ONNX); only then are they moved into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ofa_dash.data import Dataset
from ofa_dash.export.common import ExportError, check_destination, staged
from ofa_dash.export.onnx import build_onnx
from ofa_dash.export.parity import PARITY_ATOL, compare, parity_inputs, torch_logits
from ofa_dash.runtime import ov
from ofa_dash.runtime.onnx import OPSET, read_metadata
from ofa_dash.subnets import PreparedSubnet

FORMAT_LABEL = "OpenVINO IR (fp32)"


def openvino_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The two files of the ``openvino`` format: ``out`` (must end in ``.xml``) and the weights beside it (``.bin``)."""
    out = Path(out)
    if out.suffix != ".xml":
        raise ValueError(f"--out {str(out)!r}: an OpenVINO IR is NAME.xml (its weights go to NAME.bin beside it); give a path ending in .xml")
    return {"xml": out, "bin": out.with_suffix(".bin")}


def export_openvino(
    prepared: PreparedSubnet, out: str | os.PathLike, data: Dataset | None = None, parity_images: int | None = None, step: Callable[[str], None] | None = None
) -> dict:
    """OpenVINO IR of ``prepared`` at ``out`` (``.xml``, plus ``.bin``), parity-tested with OpenVINO before it lands; ``step("verify")`` as checks start."""
    start = time.perf_counter()
    version = ov.openvino_version()  # the one-line "install openvino" error comes before any work
    paths = openvino_paths(out)
    for p in paths.values():
        check_destination(p)
    x, inputs = parity_inputs(prepared, data, parity_images)
    onnx_model = build_onnx(prepared)
    metadata = {**read_metadata(onnx_model), "format": "openvino", "format_label": FORMAT_LABEL, "openvino_version": version, "onnx_opset": str(OPSET)}
    with tempfile.TemporaryDirectory(dir=paths["xml"].parent, prefix=f".{paths['xml'].stem}.ir.") as tmp_dir:
        xml, weights = ov.save_ir(ov.read_onnx(onnx_model), Path(tmp_dir) / "model.xml", metadata)
        if step is not None:
            step("verify")
        parity = verify_ir(xml, prepared, x, inputs)
        with contextlib.ExitStack() as stack:
            tmps = {k: stack.enter_context(staged(p)) for k, p in paths.items()}
            tmps["xml"].write_bytes(xml.read_bytes())
            tmps["bin"].write_bytes(weights.read_bytes())
    return {
        "format": "openvino",
        "format_label": FORMAT_LABEL,
        "paths": {k: str(p) for k, p in paths.items()},
        "bytes": {k: p.stat().st_size for k, p in paths.items()},
        "openvino_version": version,
        "opset": OPSET,
        "parity": parity,
        "seconds": time.perf_counter() - start,
    }


def verify_ir(xml: Path, prepared: PreparedSubnet, x, inputs: str) -> dict:
    """The IR at ``xml`` describes ``prepared`` (rt_info) and OpenVINO's CPU plugin reproduces PyTorch's logits (<= 1e-4, same top-1)."""
    meta = ov.read_ir_metadata(xml)
    if meta.get("arch_id") != prepared.arch.id or json.loads(meta.get("ofa_dash.config", "{}")).get("arch") != prepared.arch.to_dict():
        raise ExportError("the OpenVINO IR's metadata does not describe the subnet that was exported")
    compiled = ov.compile_model(xml, threads=1)
    parity = compare(torch_logits(prepared.net, x), ov.logits(compiled, x.numpy()), inputs)
    parity.update(
        {"reference": "PyTorch (the extracted subnet, fp32)", "runtime": f"OpenVINO {ov.openvino_version()} ({ov.DEVICE}, fp32)", "tolerance": PARITY_ATOL}
    )
    if parity["max_abs_diff"] > PARITY_ATOL or parity["top1_disagreements"]:
        raise ExportError(
            f"OpenVINO and PyTorch disagree on {inputs}: max |diff| = {parity['max_abs_diff']:.2e} (allowed {PARITY_ATOL:.0e}), "
            f"{parity['top1_disagreements']} different top-1 predictions"
        )
    return parity
