"""ONNX Runtime sessions, the timing loop and whole-model latency, and how many threads a heavy job may use.

Live validation, export (fp32 next to int8) and the device profiler all report
"ONNX Runtime, 1 thread, batch 1" latencies; to be comparable they use the same
session options (:func:`ort_session_options`) and the same timing loop
(:func:`measure`). :func:`measure_latency` adds what whole exported models
need: any input name, inputs from the model's own shape, and a result that
says how and where it was measured: it times in several rounds, samples the
machine's load around them, and says when the machine was too busy for the
figure to be trusted (:func:`busy_verdict`), because the same file measured
0.4 ms on a quiet machine and 35 ms next to a training run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch


# --------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class TimingPolicy:
    """How hard to time one module: ``repeats`` is an upper bound, lowered for costly modules to fit ``budget_s``."""

    warmup: int = 5
    repeats: int = 200
    min_repeats: int = 20
    budget_s: float = 0.1

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.repeats < 1 or self.min_repeats < 1 or self.budget_s <= 0:
            raise ValueError(f"timing policy needs warmup >= 0, repeats >= 1, min_repeats >= 1 and budget_s > 0; got {self}")


@dataclass(frozen=True)
class Timing:
    """Median of ``n`` timed runs and their spread (interquartile range), in milliseconds."""

    median_ms: float
    spread_ms: float
    n: int
    samples_ms: tuple[float, ...] = ()  # every timed run, for callers that pool rounds


def measure(run: Callable[[], object], policy: TimingPolicy, clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Warm up, pick the number of repeats from the warm-up cost, time each run, report the median.

    ``clock`` (seconds) is the wall clock by default: what a user waits for.
    A runtime timed on a shared machine may pass the process's CPU time
    instead (see ``Runtime.clock`` in :mod:`ofa_dash.hardware.runtimes`); the
    budget is then counted on that clock too.
    """
    t0 = clock()
    for _ in range(max(policy.warmup, 1)):
        run()
    per_run = (clock() - t0) / max(policy.warmup, 1)
    n = int(np.clip(policy.budget_s / max(per_run, 1e-7), min(policy.min_repeats, policy.repeats), policy.repeats))
    times = np.empty(n)
    for i in range(n):
        start = clock()
        run()
        times[i] = clock() - start
    q25, q50, q75 = np.percentile(times * 1e3, [25, 50, 75])
    return Timing(float(q50), float(q75 - q25), n, tuple(float(t) for t in times * 1e3))


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------- sessions
# onnxruntime (heavy, optional for training) is imported on use throughout: importing this
# module, as the CLI does at start-up through the export registry, must not need it.
def ort_session_options(threads: int = 1):
    """The session options used for every ONNX Runtime latency figure ofa-dash reports."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    opts.log_severity_level = 3
    return opts


def ort_session(model: bytes | str | os.PathLike, threads: int = 1):
    """A CPU ``InferenceSession`` with the profiler's options and ``threads`` intra-op threads."""
    import onnxruntime as ort

    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, ort_session_options(max(1, int(threads))), providers=["CPUExecutionProvider"])


class OrtClassifier:
    """An ONNX Runtime session that takes and returns torch tensors, so ``evaluate.evaluate_model`` can use it."""

    def __init__(self, model, threads: int | None = None):
        if hasattr(model, "run_with_iobinding"):  # an open session
            self.session = model
            self.threads = int(model.get_session_options().intra_op_num_threads)
        else:
            self.threads = threads or torch.get_num_threads()
            self.session = ort_session(model, self.threads)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: x.contiguous().numpy()})[0]
        return torch.from_numpy(out)


# --------------------------------------------------------------------------- whole-model latency
# A whole subnet takes ~0.3-5 ms: 20 warm-up runs, then repeats for about a second in all,
# split into LATENCY_ROUNDS rounds so that load that comes and goes shows as rounds that disagree.
MODEL_TIMING = TimingPolicy(warmup=20, repeats=2000, min_repeats=50, budget_s=1.0)
LATENCY_ROUNDS = 5
# Rounds whose medians differ by more than this (max / min - 1) mean the machine's load changed while timing.
MAX_ROUND_DISAGREEMENT = 0.15


@dataclass(frozen=True)
class MachineLoad:
    """The machine's load while something was timed: logical CPUs, 1-minute load average, cores left idle."""

    cpus: int
    load_1min: float | None  # os.getloadavg()[0] just before timing (None where the OS has none)
    idle_cores: float | None  # idle cores averaged over the timed interval, from /proc/stat (None elsewhere)


def busy_verdict(round_medians_ms: list[float], load: MachineLoad, threads: int = 1, max_disagreement: float = MAX_ROUND_DISAGREEMENT) -> str | None:
    """Why a latency measured under ``load`` cannot be trusted, or None when the machine looked quiet.

    Two signs, each enough: the rounds disagree by more than
    ``max_disagreement`` (the load changed while timing), or no core was left
    idle while timing (other work competed for the cores the timing's
    ``threads`` ran on). Without ``/proc/stat`` the load average stands in for
    the idle cores; it is not used otherwise, because it still counts the
    evaluation this process ran just before timing.
    """
    reasons = []
    medians = [m for m in round_medians_ms if m > 0]
    if len(medians) > 1:
        disagreement = max(medians) / min(medians) - 1
        if disagreement > max_disagreement:
            reasons.append(f"rounds disagree by {disagreement * 100:.0f} % (limit {max_disagreement * 100:.0f} %)")
    if load.idle_cores is not None:
        if load.idle_cores < 0.5:
            reasons.append(f"{load.idle_cores:.1f} of {load.cpus} cores idle while timing (other work shared the timed core)")
    elif load.load_1min is not None and load.load_1min > max(0, load.cpus - threads) + 0.5:
        reasons.append(f"load average {load.load_1min:.1f} on {load.cpus} cores")
    return "; ".join(reasons) or None


@dataclass
class LatencyStats:
    """Latency of one model on this machine, in milliseconds (median and interquartile range).

    ``median_ms`` is the median of the rounds' medians; ``iqr_ms`` the
    interquartile range of every timed run; ``busy`` and ``busy_reason`` say
    whether the machine's load made the figure doubtful (see :func:`busy_verdict`).
    """

    median_ms: float
    iqr_ms: float
    repeats: int
    threads: int
    batch_size: int
    runtime: str
    device: str
    rounds: int = 1
    round_medians_ms: list[float] = field(default_factory=list)
    machine: str = ""  # short: the CPU model and its logical CPUs
    load_1min: float | None = None
    idle_cores: float | None = None
    cpus: int | None = None
    busy: bool = False
    busy_reason: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "label": measured_label(asdict(self))}


def measured_label(latency: dict) -> str:
    """What a live latency figure is, for labels: "measured here (<machine>, median of N rounds)".

    Reads a :class:`LatencyStats` dict or a stored validation record (``latency_*``
    keys); records made before rounds existed say "one round".
    """
    machine = latency.get("machine") or latency.get("latency_machine") or latency.get("device") or "this machine"
    rounds = latency.get("rounds") or latency.get("latency_rounds")
    how = f"median of {int(rounds)} rounds" if rounds and int(rounds) > 1 else "one round, load not checked"
    return f"measured here ({machine}, {how})"


def machine_name() -> str:
    """The CPU model and logical CPUs, shortened for labels."""
    return f"{cpu_model()}, {os.cpu_count()} CPUs"


def measure_latency(model, threads: int = 1, batch_size: int = 1, policy: TimingPolicy | None = None, seed: int = 0, rounds: int | None = None) -> LatencyStats:
    """Time ``model`` (ONNX bytes, a path, or a session made by :func:`ort_session`) on one fixed input.

    Input and output buffers are bound once (IO binding), so the figure is
    the graph's run time, not numpy conversions. Random normal inputs: the
    latency of these networks does not depend on the values. The policy's
    budget is split over ``rounds`` rounds (default :data:`LATENCY_ROUNDS`),
    after one warm-up; the machine's load is sampled around them.
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

    policy = policy or MODEL_TIMING
    rounds = max(1, int(rounds or LATENCY_ROUNDS))
    per_round = replace(policy, budget_s=policy.budget_s / rounds, min_repeats=max(1, policy.min_repeats // rounds), repeats=max(1, policy.repeats // rounds))
    load_before = _load_average()
    cpu_before = _cpu_times()
    timings = [measure(run, per_round if i == 0 else replace(per_round, warmup=1)) for i in range(rounds)]
    load = MachineLoad(os.cpu_count() or 1, load_before, _idle_between(cpu_before, _cpu_times()))
    medians = [t.median_ms for t in timings]
    samples = np.concatenate([np.asarray(t.samples_ms) for t in timings])
    q25, q75 = np.percentile(samples, [25, 75])
    reason = busy_verdict(medians, load, threads)
    return LatencyStats(
        median_ms=float(np.median(medians)),
        iqr_ms=float(q75 - q25),
        repeats=len(samples),
        threads=threads,
        batch_size=batch_size,
        runtime=f"onnxruntime {ort.__version__} (CPUExecutionProvider)",
        device=f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        rounds=rounds,
        round_medians_ms=[round(m, 4) for m in medians],
        machine=machine_name(),
        load_1min=load.load_1min,
        idle_cores=None if load.idle_cores is None else round(load.idle_cores, 2),
        cpus=load.cpus,
        busy=reason is not None,
        busy_reason=reason,
    )


# --------------------------------------------------------------------------- threads
def auto_threads(limit: int | None = None, sample_s: float = 0.2) -> int:
    """Threads for a heavy job now: the cores that are idle at this moment (at least 1).

    Why: on a busy machine, more threads than idle cores make PyTorch's
    OpenMP workers spin against each other; measured here with a training
    job on both cores, BN recalibration took 60x longer with 2 threads than
    with 1. On an idle machine this returns every core. Idle time is sampled
    from ``/proc/stat`` over ``sample_s`` (the load average would count this
    process's own previous validation); elsewhere the load average is used.
    """
    limit = limit or torch.get_num_threads()
    free = _idle_cores(sample_s)
    return max(1, min(limit, int(free + 0.5))) if free is not None else limit


def _idle_cores(sample_s: float) -> float | None:
    first = _cpu_times()
    if first is None:
        load = _load_average()
        return None if load is None else (os.cpu_count() or 1) - load
    time.sleep(sample_s)
    return _idle_between(first, _cpu_times())


def _cpu_times() -> tuple[int, int] | None:
    """(idle + iowait, total) jiffies of all CPUs from ``/proc/stat``; None where there is no such file."""
    try:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return values[3] + (values[4] if len(values) > 4 else 0), sum(values)


def _idle_between(first: tuple[int, int] | None, second: tuple[int, int] | None) -> float | None:
    """Idle cores on average between two :func:`_cpu_times` snapshots (None if either is missing or no time passed)."""
    if first is None or second is None:
        return None
    total = second[1] - first[1]
    return (os.cpu_count() or 1) * (second[0] - first[0]) / total if total > 0 else None


def cpu_times() -> tuple[int, int] | None:
    """(idle, total) CPU jiffies now, for :func:`idle_cores_between` (None where ``/proc/stat`` is absent)."""
    return _cpu_times()


def idle_cores_between(first: tuple[int, int] | None, second: tuple[int, int] | None) -> float | None:
    """Idle cores on average between two :func:`cpu_times` snapshots (None when unknown)."""
    return _idle_between(first, second)


def load_averages() -> list[float] | None:
    """``os.getloadavg()`` (1, 5 and 15 minutes) rounded, or None where the OS has none."""
    try:
        return [round(float(v), 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _load_average() -> float | None:
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` PyTorch threads, restoring the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
