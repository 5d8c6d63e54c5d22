"""The one ONNX exporter of ofa-dash, its opset, and the ``metadata_props`` helpers.

Exports, live validation, measurement and the device profiler all turn PyTorch
modules into ONNX here: the TorchScript exporter (``dynamo=False``) at opset
:data:`OPSET`, one export at a time per process.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Sequence

import torch

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"

# torch.onnx.export keeps process-global state (GLOBALS.in_onnx_export): two exports in
# threads of one process (the dashboard serves sessions from threads) fail with
# "GLOBALS.in_onnx_export must be False", so exports take turns.
_ONNX_EXPORT_LOCK = threading.Lock()


def export_module(
    module: torch.nn.Module,
    args: object,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict | None = None,
    opset: int = OPSET,
) -> bytes:
    """ONNX bytes of ``module`` traced on ``args`` (TorchScript exporter, warnings silenced); thread-safe.

    The caller puts ``module`` in eval mode (and in the memory format it wants).
    """
    buf = io.BytesIO()
    with _ONNX_EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            buf,
            dynamo=False,
            opset_version=opset,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
        )
    return buf.getvalue()


def onnx_bytes(net: torch.nn.Module, resolution: int, opset: int = OPSET) -> bytes:
    """Plain ONNX export of ``net`` (TorchScript exporter, dynamic batch, input ``image``); thread-safe."""
    if opset < 17:
        raise ValueError(f"opset {opset} is too old; ofa-dash exports opset 17 or newer")
    net = net.eval().to(memory_format=torch.contiguous_format)
    return export_module(
        net,
        (torch.zeros(1, 3, resolution, resolution),),
        [INPUT_NAME],
        [OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset=opset,
    )


def _with_metadata(model: bytes, meta: dict[str, str], doc: str) -> bytes:
    # onnx (heavy, optional for training) is imported on use, here and below: importing this
    # module, as the CLI does at start-up through the export registry, must not need it.
    import onnx

    proto = onnx.load_from_string(model)
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name = "ofa-dash"
    proto.doc_string = doc
    return proto.SerializeToString()


def read_metadata(model: bytes | str | os.PathLike) -> dict[str, str]:
    """``metadata_props`` of an ONNX file (or bytes) as a dict."""
    import onnx

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}
