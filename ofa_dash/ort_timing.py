"""ONNX Runtime sessions and whole-model latency, on the profiler's settings.

Live validation, export (fp32 next to int8) and the device profiler all report
"ONNX Runtime, 1 thread, batch 1" latencies; to be comparable they must use
the same session options and the same timing loop. Both live in
:mod:`ofa_dash.hardware.runtimes` (``ort_session_options``, ``measure``); this
module only adds what whole exported models need: any input name, inputs
from the model's own shape, and a result that says how and where it was
measured.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from ofa_dash.hardware.runtimes import TimingPolicy, cpu_model, measure, ort_session_options

# A whole subnet takes ~0.3-5 ms: 20 warm-up runs, then repeats for about a second.
MODEL_TIMING = TimingPolicy(warmup=20, repeats=2000, min_repeats=50, budget_s=1.0)


def ort_session(model: bytes | str | os.PathLike, threads: int = 1):
    """A CPU ``InferenceSession`` with the profiler's options and ``threads`` intra-op threads."""
    import onnxruntime as ort

    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, ort_session_options(max(1, int(threads))), providers=["CPUExecutionProvider"])


@dataclass
class LatencyStats:
    """Latency of one model on this machine, in milliseconds (median and interquartile range)."""

    median_ms: float
    iqr_ms: float
    repeats: int
    threads: int
    batch_size: int
    runtime: str
    device: str

    def to_dict(self) -> dict:
        return asdict(self)


def measure_latency(model, threads: int = 1, batch_size: int = 1, policy: TimingPolicy | None = None, seed: int = 0) -> LatencyStats:
    """Time ``model`` (ONNX bytes, a path, or a session made by :func:`ort_session`) on one fixed input.

    Input and output buffers are bound once (IO binding), so the figure is
    the graph's run time, not numpy conversions. Random normal inputs: the
    latency of these networks does not depend on the values.
    """
    import onnxruntime as ort

    session = model if hasattr(model, "run_with_iobinding") else ort_session(model, threads)
    inp = session.get_inputs()[0]
    shape = tuple(batch_size if i == 0 or not isinstance(d, int) else d for i, d in enumerate(inp.shape))
    x = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    first = session.run(None, {inp.name: x})[0]
    binding = session.io_binding()
    binding.bind_cpu_input(inp.name, x)
    out = ort.OrtValue.ortvalue_from_numpy(np.empty_like(first))
    binding.bind_ortvalue_output(session.get_outputs()[0].name, out)

    def run() -> None:
        session.run_with_iobinding(binding)

    timing = measure(run, policy or MODEL_TIMING)
    return LatencyStats(
        median_ms=timing.median_ms,
        iqr_ms=timing.spread_ms,
        repeats=timing.n,
        threads=threads,
        batch_size=batch_size,
        runtime=f"onnxruntime {ort.__version__} (CPUExecutionProvider)",
        device=f"{cpu_model()}, {os.cpu_count()} logical CPUs",
    )
