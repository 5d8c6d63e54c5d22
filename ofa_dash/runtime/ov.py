"""OpenVINO: compiling ONNX graphs for its CPU plugin, running them, and writing / reading IR files.

OpenVINO is an optional dependency (pinned in requirements.txt): it is
imported on use (:func:`import_openvino`), so the CLI starts without it and
everything else works where it is absent; asking for it there gives one line
that names the package to install.

Every OpenVINO figure ofa-dash reports uses :func:`compile_config`: fp32
inference (``INFERENCE_PRECISION_HINT=f32``, so a CPU with bf16 or AMX does not
silently run a lower precision than the IR holds), one stream, the latency
hint and ``threads`` inference threads (1 for the profiles, like ONNX Runtime).
ONNX graphs come from :mod:`ofa_dash.runtime.onnx`, the one exporter; this
module only converts them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

PACKAGE = "openvino==2026.4.1"  # the pinned version (requirements.txt)
DEVICE = "CPU"
RT_INFO_ROOT = "ofa_dash"  # IR metadata lives under rt_info["ofa_dash"][key]


class OpenVinoMissing(ValueError):
    """OpenVINO is not installed; the message says what to install (a ValueError, so the CLI prints one line)."""


def import_openvino():
    """The ``openvino`` module, or :class:`OpenVinoMissing` with the pip command when it is absent."""
    try:
        import openvino
    except ImportError:
        raise OpenVinoMissing(f"OpenVINO is not installed; install it with `pip install {PACKAGE}` (it is pinned in requirements.txt)") from None
    return openvino


def openvino_version() -> str:
    """OpenVINO's version, e.g. ``2026.4.1-22982-...``."""
    return import_openvino().get_version()


def compile_config(threads: int = 1) -> dict:
    """Compile options of every OpenVINO timing and parity check (see the module docstring)."""
    return {"INFERENCE_NUM_THREADS": max(1, int(threads)), "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}


def describe_config(threads: int = 1) -> str:
    return ", ".join(f"{k}={v}" for k, v in compile_config(threads).items())


def read_onnx(model: bytes):
    """An ``openvino.Model`` from ONNX bytes (OpenVINO's ONNX front end; no file written)."""
    ov = import_openvino()
    return ov.Core().read_model(model)


def compile_model(model, threads: int = 1):
    """``model`` (an ``openvino.Model``, ONNX bytes, or an IR ``.xml`` path) compiled for the CPU plugin with :func:`compile_config`."""
    ov = import_openvino()
    core = ov.Core()
    if isinstance(model, bytes):
        model = core.read_model(model)
    elif isinstance(model, str | os.PathLike):
        model = core.read_model(str(model))
    return core.compile_model(model, DEVICE, compile_config(threads))


def channels_last_boundaries(model, input_inside: bool = True, output_inside: bool = True):
    """``model`` (an ``openvino.Model``) taking and giving channels-last (NHWC) tensors where a boundary sits inside a network.

    Why: the CPU plugin runs these networks in a channels-last layout
    (``acdb``) throughout, so a whole subnet reorders only its input image
    and nothing between layers. A layer compiled on its own with NCHW
    tensors pays a reorder into that layout and one back out, which can cost
    more than the layer (a 78 us reference ``reorder_f32`` after a 19 us stem
    convolution at r=32), so summed layer times misranked subnets. Declaring
    the tensor NHWC at a boundary the layer shares with its neighbours makes
    the plugin's reorder there a no-op (shown ``NOT_RUN`` in its counters);
    ``input_inside=False`` keeps NCHW where the layer reads the network's own
    input (the stem). Outputs of rank other than 4 (the logits) are left as
    they are.
    """
    ov = import_openvino()
    from openvino.preprocess import PrePostProcessor

    nchw, nhwc = ov.Layout("NCHW"), ov.Layout("NHWC")
    ppp = PrePostProcessor(model)
    if input_inside and model.input(0).get_partial_shape().rank.get_length() == 4:
        ppp.input(0).tensor().set_layout(nhwc)
        ppp.input(0).model().set_layout(nchw)
    if output_inside and model.output(0).get_partial_shape().rank.get_length() == 4:
        ppp.output(0).model().set_layout(nchw)
        ppp.output(0).tensor().set_layout(nhwc)
    return ppp.build()


def runner(model, threads: int = 1, seed: int = 0) -> Callable[[], object]:
    """A zero-argument callable that runs ``model`` once on a pre-set random input of the compiled model's shape (one infer request, reused)."""
    ov = import_openvino()
    compiled = compile_model(model, threads)
    request = compiled.create_infer_request()
    x = np.random.default_rng(seed).standard_normal(tuple(compiled.input(0).shape), dtype=np.float32)
    request.set_input_tensor(ov.Tensor(x, shared_memory=True))
    request.infer()
    keep = (request, x, compiled)  # the closure keeps the input buffer and the compiled model alive

    def run() -> None:
        keep[0].infer()

    return run


def logits(compiled, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Outputs of a compiled model on ``x`` in batches (a fresh infer request; inputs copied in)."""
    request = compiled.create_infer_request()
    x = np.ascontiguousarray(x, dtype=np.float32)
    outs = []
    for i in range(0, len(x), batch_size):
        result = request.infer({0: x[i : i + batch_size]})
        outs.append(np.array(result[compiled.output(0)]))
    return np.concatenate(outs)


def save_ir(model, xml_path: Path, metadata: dict[str, str]) -> tuple[Path, Path]:
    """Write ``model`` as IR (``xml_path`` and the weights beside it as ``.bin``), fp32 weights, ``metadata`` in its rt_info.

    ``compress_to_fp16=False``: OpenVINO's default halves the weights, which
    would make the file differ from the network that was verified.
    """
    ov = import_openvino()
    for key, value in metadata.items():
        model.set_rt_info(str(value), [RT_INFO_ROOT, key])
    ov.save_model(model, str(xml_path), compress_to_fp16=False)
    return xml_path, xml_path.with_suffix(".bin")


def read_ir_metadata(xml_path: str | os.PathLike) -> dict[str, str]:
    """The ``ofa_dash`` entries of an IR file's rt_info (what :func:`save_ir` wrote)."""
    ov = import_openvino()
    model = ov.Core().read_model(str(xml_path))
    if not model.has_rt_info([RT_INFO_ROOT]):
        return {}
    info = model.get_rt_info()[RT_INFO_ROOT]
    return {str(k): str(v.astype(str) if hasattr(v, "astype") else v) for k, v in info.items()}
