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

import platform
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

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
    timed: dict[str, Timing] = {}
    measurements: list[SubnetMeasurement] = []
    watch = MachineWatch.start()
    try:
        with runtime.active(), torch.random.fork_rng(devices=[]):
            overhead = _call_overhead(runtime, config.layer_policy)
            for i, (key, spec) in enumerate(plan.layers.items()):
                torch.manual_seed(config.seed + i)
                timed[key] = measure(runtime.prepare(spec.build(), (B, *spec.input_shape)), config.layer_policy)
                bar.update()
            for planned in plan.subnets:
                measurements.append(_time_subnet(space, runtime, np.array(planned.genome), planned.split, config))
                bar.update()
    finally:
        bar.close()
    return build_profile(space, config.name, ProfileTimings(timed, overhead, measurements), _meta(runtime, config, started, watch))


def _call_overhead(runtime: Runtime, policy: TimingPolicy) -> Timing:
    """Per-call cost of the runtime itself (a null module), subtracted from every layer entry."""
    prepare = runtime.prepare
    kwargs = {"quantize": False} if getattr(runtime, "int8", False) else {}
    run = prepare(runtime.null_module(), (runtime.batch_size, 1, 1, 1), **kwargs)
    return measure(run, replace(policy, repeats=max(policy.repeats, 500), min_repeats=max(policy.min_repeats, 200)))


def _time_subnet(space: SearchSpace, runtime: Runtime, genome: np.ndarray, split: str, config: ProfileConfig) -> SubnetMeasurement:
    arch = space.decode(genome)[0]
    torch.manual_seed(config.seed)
    net = StaticNet(space, arch)
    t = measure(runtime.prepare(net, (config.batch_size, 3, arch.r, arch.r)), config.subnet_policy)
    return SubnetMeasurement(genome=tuple(int(v) for v in genome), measured_ms=t.median_ms, spread_ms=t.spread_ms, n=t.n, split=split, arch=arch.id)


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
        "clock": "wall (time.perf_counter)",
        "seed": config.seed,
        "minutes": (time.time() - started) / 60,
        "host": {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__},
    }


def _policy_dict(p: TimingPolicy) -> dict:
    return {"max": p.repeats, "min": p.min_repeats, "budget_s": p.budget_s}
