"""Build a device profile on the machine this runs on.

Three steps, all in one runtime (:mod:`ofa_dash.hardware.runtimes`):

1. time every distinct layer key of the space (one small module each, random
   weights; identical keys at several resolutions are timed once) and
   subtract the runtime's per-call overhead, measured on a null module, so
   that a sum of entries does not count one runtime call per layer;
2. time random whole subnets end to end (the ground truth), plus the largest
   and smallest subnet for the range;
3. fit the affine correction on the calibration subnets and report Kendall
   tau and MAPE on the validation subnets, which the fit never saw.

What is timed (:func:`plan_profile`) and steps 1's subtraction and 3 are
:mod:`ofa_dash.hardware.profile_build`'s, shared with the browser profile.
"""

from __future__ import annotations

import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ofa_dash.hardware.anchored import Anchor, measure_relative, to_milliseconds
from ofa_dash.hardware.cold_cache import L2_MULTIPLE, CacheEvictor, l2_bytes
from ofa_dash.hardware.layers import LayerSpec
from ofa_dash.hardware.machine import MachineWatch
from ofa_dash.hardware.profile_build import ProfileTimings, build_profile, plan_profile
from ofa_dash.hardware.profile_format import RESERVED_NAMES, DeviceProfile, SubnetMeasurement, check_device_name
from ofa_dash.hardware.runtimes import Runtime, make_runtime
from ofa_dash.nn.static import StaticNet
from ofa_dash.progress import progress_bar
from ofa_dash.runtime.ort import Timing, TimingPolicy, measure
from ofa_dash.space import SearchSpace

# Layers are cheap (tens of microseconds on cifar10), so 400 repeats cost
# milliseconds; big layers stop at the 0.15 s budget (never under 20 runs).
LAYER_POLICY = TimingPolicy(warmup=5, repeats=400, min_repeats=20, budget_s=0.15)
# Whole subnets are the ground truth the table is judged against: about a
# second each, the same policy live validation uses (ofa_dash.runtime.ort), so
# a validated subnet's measured latency is comparable with the profile's.
SUBNET_POLICY = TimingPolicy(warmup=20, repeats=2000, min_repeats=50, budget_s=1.0)


@dataclass
class ProfileConfig:
    """What to profile and how hard; defaults give the shipped profiles."""

    runtime: str
    name: str
    n_calibration: int = 40
    n_validation: int = 60
    batch_size: int = 1
    threads: int = 1
    seed: int = 0
    layer_policy: TimingPolicy = field(default_factory=lambda: LAYER_POLICY)
    subnet_policy: TimingPolicy = field(default_factory=lambda: SUBNET_POLICY)

    def __post_init__(self) -> None:
        check_device_name(self.name)
        if self.name in RESERVED_NAMES:
            raise ValueError(f"device name {self.name!r} is reserved for OFA's published tables; pick another --name")
        if self.n_calibration < 2:
            raise ValueError(f"--n-calibration must be >= 2 (an affine fit has two parameters), got {self.n_calibration}")
        if self.n_validation < 2:
            raise ValueError(f"--n-validation must be >= 2 (Kendall tau needs pairs), got {self.n_validation}")

    def with_repeats(self, repeats: int) -> ProfileConfig:
        """Cap the repeats of layers and subnets at ``repeats`` (``--repeats``)."""
        if repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {repeats}")
        return replace(
            self,
            layer_policy=replace(self.layer_policy, repeats=repeats, min_repeats=min(self.layer_policy.min_repeats, repeats)),
            subnet_policy=replace(self.subnet_policy, repeats=repeats, min_repeats=min(self.subnet_policy.min_repeats, repeats)),
        )


def profile_device(space: SearchSpace, config: ProfileConfig, runtime: Runtime | None = None, show_progress: bool = True) -> DeviceProfile:
    """Time layers and subnets of ``space`` in ``config.runtime`` here; return the fitted, validated profile (built by :func:`build_profile`)."""
    runtime = runtime or make_runtime(config.runtime, config.threads, config.batch_size)
    plan = plan_profile(space, config.n_calibration, config.n_validation, config.seed)
    B = config.batch_size
    started = time.time()
    bar = progress_bar(total=len(plan.layers) + len(plan.subnets), desc=f"profile {config.name} ({runtime.name})", unit="model", disable=not show_progress)
    measurements: list[SubnetMeasurement] = []
    watch = MachineWatch.start()
    try:
        with runtime.active(), torch.random.fork_rng(devices=[]):
            anchor = Anchor(_subnet_builder(space, runtime, space.encode([space.smallest()])[0], config)(), runtime.clock) if runtime.anchored else None
            overhead = _call_overhead(runtime, config.layer_policy, anchor)
            layer_runs = [_layer_builder(runtime, spec, (B, *spec.input_shape), config.seed + i) for i, spec in enumerate(plan.layers.values())]
            evict = CacheEvictor() if anchor is not None and runtime.cold_layers else None
            layer_timings = time_models(layer_runs, runtime, config.layer_policy, bar.update, anchor, evict)
            subnet_runs = [_subnet_builder(space, runtime, planned.genome, config) for planned in plan.subnets]
            subnet_timings = time_models(subnet_runs, runtime, config.subnet_policy, bar.update, anchor)
            if anchor is not None:  # one factor for everything: relative timings back to milliseconds
                reference_ms = anchor.reference_ms()
                overhead = to_milliseconds(overhead, reference_ms)
                layer_timings = [to_milliseconds(t, reference_ms) for t in layer_timings]
                subnet_timings = [to_milliseconds(t, reference_ms) for t in subnet_timings]
            timed = dict(zip(plan.layers, layer_timings, strict=True))
            for planned, t in zip(plan.subnets, subnet_timings, strict=True):
                measurements.append(
                    SubnetMeasurement(genome=planned.genome, measured_ms=t.median_ms, spread_ms=t.spread_ms, n=t.n, split=planned.split, arch=planned.arch)
                )
    finally:
        bar.close()
    meta = _meta(runtime, config, started, watch)
    if anchor is not None:
        meta["anchor"] = {
            "arch": space.smallest().id,
            "what": "every layer and subnet timed relative to runs of this subnet next to it (ofa_dash.hardware.anchored), then times its median",
            "reference_ms": anchor.reference_ms(),
            "runs": len(anchor.times_s),
        }
    if runtime.cold_layers and anchor is not None:
        meta["layer_caches"] = f"L2 evicted before every timed layer run (ofa_dash.hardware.cold_cache: {L2_MULTIPLE} x {l2_bytes()} bytes written, untimed)"
    return build_profile(space, config.name, ProfileTimings(timed, overhead, measurements), meta)


def _call_overhead(runtime: Runtime, policy: TimingPolicy, anchor: Anchor | None = None) -> Timing:
    """Per-call cost of the runtime itself (a null module), subtracted from every layer entry."""
    prepare = runtime.prepare
    kwargs = {"quantize": False} if getattr(runtime, "int8", False) else {}
    run = prepare(runtime.null_module(), (runtime.batch_size, 1, 1, 1), **kwargs)
    return time_models([lambda: run], runtime, replace(policy, repeats=max(policy.repeats, 500), min_repeats=max(policy.min_repeats, 200)), anchor=anchor)[0]


def time_models(
    builders: list[Callable[[], Callable[[], object]]],
    runtime: Runtime,
    policy: TimingPolicy,
    done: Callable[[], object] = lambda: None,
    anchor: Anchor | None = None,
    before_each: Callable[[], object] | None = None,
) -> list[Timing]:
    """Time the models that ``builders`` prepare (each gives a run-once callable), on ``runtime``'s clock, in ``runtime.rounds`` rounds.

    One round, no anchor: each model is prepared, timed with ``policy`` and
    dropped before the next (what a profile always did). More rounds: every
    model is prepared first, then each round times every model for
    ``1 / rounds`` of the policy's budget and repeats, in alternating order; a
    model's :class:`Timing` pools its runs of every round (median and
    interquartile range). With an ``anchor``, every run is timed relative to
    it (:func:`ofa_dash.hardware.anchored.measure_relative`, with
    ``before_each`` run untimed before every run) and the timings are in
    anchor runs, for the caller to convert. ``done`` is called once per
    model timed in full (a progress bar).
    """
    rounds = max(1, int(runtime.rounds))
    if rounds == 1 and anchor is None:
        out = []
        for build in builders:
            out.append(measure(build(), policy, runtime.clock))
            done()
        return out
    runs = [build() for build in builders]
    per_round = replace(
        policy,
        budget_s=policy.budget_s / rounds,
        repeats=max(1, math.ceil(policy.repeats / rounds)),
        min_repeats=max(1, math.ceil(policy.min_repeats / rounds)),
    )
    samples: list[list[float]] = [[] for _ in runs]
    for k in range(rounds):
        order = range(len(runs)) if k % 2 == 0 else reversed(range(len(runs)))
        round_policy = per_round if k == 0 else replace(per_round, warmup=min(per_round.warmup, 2))
        for i in order:
            if anchor is None:
                samples[i].extend(measure(runs[i], round_policy, runtime.clock).samples_ms)
            else:
                samples[i].extend(measure_relative(runs[i], anchor, round_policy, before_each))
    out = [pooled_timing(s) for s in samples]
    for _ in out:
        done()
    return out


def pooled_timing(samples_ms: list[float]) -> Timing:
    """Median and interquartile range of every run of a model, whatever round it was timed in."""
    times = np.asarray(samples_ms, dtype=np.float64)
    q25, q50, q75 = np.percentile(times, [25, 50, 75])
    return Timing(float(q50), float(q75 - q25), len(times), tuple(float(t) for t in times))


def _layer_builder(runtime: Runtime, spec: LayerSpec, input_shape: tuple[int, ...], seed: int) -> Callable[[], Callable[[], object]]:
    def build() -> Callable[[], object]:
        torch.manual_seed(seed)
        return runtime.prepare_layer(spec, input_shape)

    return build


def _subnet_builder(space: SearchSpace, runtime: Runtime, genome: tuple[int, ...], config: ProfileConfig) -> Callable[[], Callable[[], object]]:
    def build() -> Callable[[], object]:
        arch = space.decode(np.array(genome))[0]
        torch.manual_seed(config.seed)
        return runtime.prepare(StaticNet(space, arch), (config.batch_size, 3, arch.r, arch.r))

    return build


def _meta(runtime: Runtime, config: ProfileConfig, started: float, watch: MachineWatch) -> dict:
    """What this source says about its timings; :func:`build_profile` adds spread, overhead and counts."""
    description = runtime.describe()
    return {
        "device": config.name,
        **description,
        "machine": watch.record(description),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repeats": {"layers": _policy_dict(config.layer_policy), "subnets": _policy_dict(config.subnet_policy)},
        "warmup": {"layers": config.layer_policy.warmup, "subnets": config.subnet_policy.warmup},
        "statistic": "median of the timed runs; spread = interquartile range",
        "clock": runtime.clock_name,
        "rounds": max(1, int(runtime.rounds)),
        "seed": config.seed,
        "minutes": (time.time() - started) / 60,
        "host": {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__},
    }


def _policy_dict(p: TimingPolicy) -> dict:
    return {"max": p.repeats, "min": p.min_repeats, "budget_s": p.budget_s}
