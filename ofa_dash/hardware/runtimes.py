"""Runtimes the profiler can time a module in.

A runtime turns a PyTorch module and an input shape into a zero-argument
"run once" callable; :func:`ofa_dash.runtime.ort.measure` times that callable (warm-up, then
repeats adapted to the module's cost, then the median). Layers and whole
subnets go through the same runtime object, hence the same session options,
threads and input handling, so the table and the ground truth it is checked
against differ only in what is being run.

- ``ort``: ONNX Runtime fp32 on the CPU (ONNX opset 17, TorchScript exporter),
  1 intra-op and 1 inter-op thread, sequential execution, all graph
  optimisations, denormals flushed, inputs and outputs bound once (IO binding).
- ``ort-int8``: the same after static quantization (:func:`quantize_int8`, the
  settings of exported int8 models).
- ``torch``: PyTorch eager on the CPU, ``torch.inference_mode``, 1 thread.
- ``cuda``: PyTorch eager on the first GPU, synchronised after every run.
- ``openvino``: OpenVINO's CPU plugin on the same ONNX graph as ``ort``
  (fp32, 1 inference thread, one stream, latency hint; one infer request
  with its input set once), see :mod:`ofa_dash.runtime.ov`.

:data:`RUNTIME_FACTORIES` maps each name to its constructor; a new runtime is
one class and one entry there.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from ofa_dash.hardware.layers import LayerSpec
from ofa_dash.hardware.profile_format import RUNTIMES
from ofa_dash.runtime import ov
from ofa_dash.runtime.onnx import OPSET, export_module
from ofa_dash.runtime.ort import cpu_model, ort_session
from ofa_dash.runtime.quantize import DEFAULT_INT8, quantize_onnx

INT8_CALIBRATION_INPUTS = 4


# --------------------------------------------------------------------------- ONNX Runtime
def export_onnx(module: nn.Module, input_shape: tuple[int, ...]) -> bytes:
    """ONNX bytes of ``module`` in eval mode (the one exporter of :mod:`ofa_dash.runtime.onnx`: opset 17, BN folded into convs)."""
    return export_module(module.eval(), torch.randn(*input_shape), ["x"], ["y"])


def quantize_int8(
    model: bytes, input_shape: tuple[int, ...], calibration: list[np.ndarray] | None = None, seed: int = 0, quant_format: str | None = None
) -> bytes:
    """Static int8 quantization with exactly the settings of exported int8 models (``ofa_dash.runtime.quantize``).

    The int8 device then times the file a user downloads (QDQ format,
    per-channel int8 weights, uint8 activations, MinMax calibration; QDQ and
    QOperator run at the same speed here, see docs/notes/devices.md).
    Calibration inputs: ``calibration``, or random normal ones (the scale of
    normalised images and of BN outputs) when none are given; a layer's
    speed does not depend on them. ``quant_format`` overrides the format for
    comparisons.
    """
    settings = DEFAULT_INT8
    if quant_format is not None:
        if quant_format not in ("QOperator", "QDQ"):
            raise ValueError(f"int8 format {quant_format!r} is not one of ['QOperator', 'QDQ']")
        settings = replace(settings, quant_format=quant_format)
    if calibration is None:
        rng = np.random.default_rng(seed)
        calibration = [rng.standard_normal(input_shape, dtype=np.float32) for _ in range(INT8_CALIBRATION_INPUTS)]
    return quantize_onnx(model, calibration, settings)


def int8_description() -> str:
    return f"{DEFAULT_INT8.describe()} after quant_pre_process, on {INT8_CALIBRATION_INPUTS} random-normal inputs (the settings of exported int8 models)"


def ort_runner(model: bytes, input_shape: tuple[int, ...], threads: int = 1, seed: int = 0) -> Callable[[], object]:
    """A zero-argument callable that runs ``model`` once on a pre-bound random input (output pre-allocated)."""
    import onnxruntime as ort  # heavy and optional: imported on use, like everywhere in ofa_dash.runtime

    sess = ort_session(model, threads)
    x = np.random.default_rng(seed).standard_normal(input_shape, dtype=np.float32)
    first = sess.run(None, {"x": x})[0]
    binding = sess.io_binding()
    binding.bind_cpu_input("x", x)
    out = ort.OrtValue.ortvalue_from_numpy(np.empty_like(first))
    binding.bind_ortvalue_output(sess.get_outputs()[0].name, out)
    keep = (sess, x, out, binding)  # the closure keeps the buffers alive

    def run() -> None:
        keep[0].run_with_iobinding(keep[3])

    return run


# --------------------------------------------------------------------------- runtime objects
WALL_CLOCK = "wall (time.perf_counter)"
CPU_CLOCK = "process CPU time (time.process_time; 1 inference thread, run on the calling thread)"


class Runtime:
    """Base: ``prepare(module, shape)`` gives a run-once callable; ``active()`` sets process state while timing.

    How the profiler times it is the runtime's to say: ``clock`` (seconds;
    wall time unless a runtime knows better), its description ``clock_name``
    (stored as the profile's ``meta.clock``), and ``rounds``: 1 times each
    model once, in turn; more prepares every model first and times them in
    that many interleaved rounds, so load that comes and goes over minutes
    falls on every model alike.
    """

    name = ""
    rounds = 1
    anchored = False  # time every model relative to a fixed anchor model (ofa_dash.hardware.anchored)
    cold_layers = False  # anchored runtimes only: evict L2 before every timed layer run (ofa_dash.hardware.cold_cache)
    cpu_time_single_thread = False  # with one thread, time on the process's CPU time (inference runs on the calling thread)

    def __init__(self, threads: int = 1, batch_size: int = 1) -> None:
        if threads < 1 or batch_size < 1:
            raise ValueError(f"threads and batch size must be >= 1, got threads={threads}, batch_size={batch_size}")
        self.threads = threads
        self.batch_size = batch_size

    def prepare(self, module: nn.Module, input_shape: tuple[int, ...]) -> Callable[[], object]:
        raise NotImplementedError

    def prepare_layer(self, spec: LayerSpec, input_shape: tuple[int, ...]) -> Callable[[], object]:
        """A run-once callable of one table layer; a runtime that treats a layer differently from a whole network overrides this."""
        return self.prepare(spec.build(), input_shape)

    def clock(self) -> float:
        """The timing clock in seconds: wall time, or the process's CPU time for a runtime that runs one thread on the caller's."""
        # CPU time only measures latency when one thread does all the work
        return time.process_time() if self._on_cpu_time() else time.perf_counter()

    @property
    def clock_name(self) -> str:
        return CPU_CLOCK if self._on_cpu_time() else WALL_CLOCK

    def _on_cpu_time(self) -> bool:
        return self.cpu_time_single_thread and self.threads == 1

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        yield

    def describe(self) -> dict:
        return {"threads": self.threads, "batch_size": self.batch_size, "hardware": f"{cpu_model()}, {os.cpu_count()} logical CPUs"}

    def null_module(self) -> nn.Module:
        """The cheapest module (ReLU on one value): timing it gives the per-call overhead of the runtime."""
        return nn.ReLU()


class OrtRuntime(Runtime):
    """ONNX Runtime on the CPU; with one intra-op thread the session runs on the calling thread.

    Timed like ``openvino`` (process CPU time, 10 interleaved rounds, each run
    relative to a fixed anchor subnet), without its cold-cache layers. On a
    shared 2-core host, profiles of the cifar10 (v2) space timed on the wall
    clock ranked 60 held-out subnets with Kendall tau 0.57 (fp32, MAPE 24 %)
    and 0.70 (int8, MAPE 11 %); timed this way, minutes later, 0.83 (3.5 %)
    and 0.91 (2.8 %) (docs/notes/devices.md).
    """

    rounds = 10
    anchored = True
    cpu_time_single_thread = True

    def __init__(self, threads: int = 1, batch_size: int = 1, int8: bool = False) -> None:
        super().__init__(threads, batch_size)
        self.int8 = int8
        self.name = "ort-int8" if int8 else "ort"

    def prepare(self, module: nn.Module, input_shape: tuple[int, ...], quantize: bool | None = None) -> Callable[[], object]:
        model = export_onnx(module, input_shape)
        if self.int8 if quantize is None else quantize:
            model = quantize_int8(model, input_shape)
        return ort_runner(model, input_shape, self.threads)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        # Export runs in torch; keep it off the second core too.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def describe(self) -> dict:
        import onnxruntime as ort

        out = {
            **super().describe(),
            "runtime": "ONNX Runtime (CPUExecutionProvider)",
            "runtime_version": ort.__version__,
            "precision": "int8 (static quantization)" if self.int8 else "fp32",
            "onnx_opset": OPSET,
            "session": f"intra_op_num_threads={self.threads}, inter_op_num_threads=1, sequential, ORT_ENABLE_ALL, denormals as zero, IO binding",
        }
        if self.int8:
            out["quantization"] = int8_description()
        return out


class TorchRuntime(Runtime):
    def __init__(self, threads: int = 1, batch_size: int = 1, device: str = "cpu") -> None:
        super().__init__(threads, batch_size)
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError("runtime 'cuda' needs a CUDA GPU, and torch.cuda.is_available() is False on this machine; use ort, ort-int8 or torch")
        self.device = torch.device(device)
        self.name = "cuda" if device == "cuda" else "torch"

    def prepare(self, module: nn.Module, input_shape: tuple[int, ...]) -> Callable[[], object]:
        module = module.eval().to(self.device)
        x = torch.randn(*input_shape, device=self.device)
        if self.device.type == "cuda":
            sync = torch.cuda.synchronize

            def run() -> object:
                y = module(x)
                sync()
                return y

            return run
        return lambda: module(x)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        flush = torch.set_flush_denormal(True)
        try:
            with torch.inference_mode():
                yield
        finally:
            torch.set_num_threads(threads)
            if flush:
                torch.set_flush_denormal(False)

    def describe(self) -> dict:
        out = {
            **super().describe(),
            "runtime": "PyTorch eager (CUDA)" if self.device.type == "cuda" else "PyTorch eager (CPU)",
            "runtime_version": torch.__version__,
            "precision": "fp32",
            "session": f"torch.inference_mode, {self.threads} thread(s), denormals flushed, NCHW",
        }
        if self.device.type == "cuda":
            out["hardware"] = f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
            out["session"] = "torch.inference_mode, torch.cuda.synchronize after every run, NCHW"
        return out


class OpenVinoRuntime(Runtime):
    """OpenVINO's CPU plugin on the ONNX graph the ``ort`` runtime times (so the two devices differ only in the runtime).

    Two things differ from ``ort``, both measured (docs/notes/devices.md):

    - a table layer is compiled with channels-last tensors where it borders
      other layers (:func:`ofa_dash.runtime.ov.channels_last_boundaries`),
      so it does not pay the layout reorders that a whole subnet never runs;
    - with one thread, models are timed on the process's CPU time
      (``time.process_time``; inference runs on the calling thread), in
      interleaved rounds, each run relative to a fixed anchor subnet run
      next to it (:mod:`ofa_dash.hardware.anchored`): on this shared machine
      the wall clock mostly measured the wait for a core, and even CPU time
      drifted with the other work by more than subnets differ;
    - each timed layer run starts with the core's L2 evicted
      (:mod:`ofa_dash.hardware.cold_cache`), as inside a subnet, where a
      layer's weights were last touched a whole run ago.
    """

    name = "openvino"
    rounds = 10
    anchored = True
    cold_layers = True
    cpu_time_single_thread = True

    def __init__(self, threads: int = 1, batch_size: int = 1) -> None:
        super().__init__(threads, batch_size)
        self.version = ov.openvino_version()  # fails now, with the package to install, when OpenVINO is absent

    def prepare(self, module: nn.Module, input_shape: tuple[int, ...]) -> Callable[[], object]:
        return ov.runner(export_onnx(module, input_shape), self.threads)

    def prepare_layer(self, spec: LayerSpec, input_shape: tuple[int, ...]) -> Callable[[], object]:
        model = ov.read_onnx(export_onnx(spec.build(), input_shape))
        return ov.runner(ov.channels_last_boundaries(model, input_inside=spec.kind != "stem"), self.threads)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the ONNX export runs in torch; keep it off the second core
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def describe(self) -> dict:
        return {
            **super().describe(),
            "runtime": f"OpenVINO ({ov.DEVICE} plugin)",
            "runtime_version": self.version,
            "precision": "fp32",
            "onnx_opset": OPSET,
            "session": f"{ov.describe_config(self.threads)}, one infer request, input set once",
            "layer_boundaries": "table layers take and give NHWC tensors where they border other layers (the stem reads NCHW), so the plugin inserts no layout reorder there",
        }


RUNTIME_FACTORIES: dict[str, Callable[[int, int], Runtime]] = {
    "ort": lambda threads, batch: OrtRuntime(threads, batch),
    "ort-int8": lambda threads, batch: OrtRuntime(threads, batch, int8=True),
    "torch": lambda threads, batch: TorchRuntime(threads, batch),
    "cuda": lambda threads, batch: TorchRuntime(threads, batch, device="cuda"),
    "openvino": lambda threads, batch: OpenVinoRuntime(threads, batch),
}


# Calibration subnets a profile times by default. The per-stage corrections (hardware.correction)
# have up to 11 numbers and want 10 subnets each; OpenVINO's cold-layer table needs them, and the
# anchored ONNX Runtime tables gain from them (cifar10-v2 cpu-ort: tau 0.832 / MAPE 3.5 % affine on
# 40 subnets, 0.955 / 2.2 % per-stage+size on 120; docs/notes/devices.md).
CALIBRATION_SUBNETS = {"openvino": 120, "ort": 120, "ort-int8": 120}
DEFAULT_CALIBRATION_SUBNETS = 40


def default_calibration_subnets(runtime: str) -> int:
    """How many calibration subnets ``profile --runtime RUNTIME`` times when not told."""
    return CALIBRATION_SUBNETS.get(runtime, DEFAULT_CALIBRATION_SUBNETS)


def make_runtime(name: str, threads: int = 1, batch_size: int = 1) -> Runtime:
    """The runtime called ``name`` (one of ``RUNTIMES``); a clear error when it cannot run here."""
    if name not in RUNTIME_FACTORIES:
        raise ValueError(f"unknown runtime {name!r}; available: {list(RUNTIMES)}")
    return RUNTIME_FACTORIES[name](threads, batch_size)
