"""Timing relative to an anchor model, so that load shared by both cancels out.

On this shared 2-core machine (a training job on both cores, load 5-6), the
same OpenVINO subnets timed in two halves of one profile run ranked with
Kendall tau 0.49 on the process's CPU time, 10.7 % apart: other work slows
every model by a factor that drifts from moment to moment (caches and the
cores' shared units, not only time slices). Timed right next to a fixed
anchor model, the ratio of the two barely moved: tau 0.88 between halves,
1.3 % apart (docs/notes/devices.md). So an anchored runtime times every model
as runs of the model, each burst followed by one run of the anchor; a sample
is the burst's mean time over the mean of the anchor runs before and after
it. :func:`to_milliseconds` turns the ratios back into milliseconds with the
anchor's median time over the whole profile, one factor for every layer and
subnet, which the profile's affine correction and its relative error
figures (MAPE, tau) do not depend on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ofa_dash.runtime.ort import Timing, TimingPolicy


@dataclass
class Anchor:
    """The fixed model every timing is divided by, and every time it was run (seconds on ``clock``)."""

    run: Callable[[], object]
    clock: Callable[[], float]
    times_s: list[float] = field(default_factory=list)

    def time_once(self) -> float:
        start = self.clock()
        self.run()
        elapsed = self.clock() - start
        self.times_s.append(elapsed)
        return elapsed

    def reference_ms(self) -> float:
        """Median time of the anchor over every run so far: the unit relative timings are converted back with."""
        if not self.times_s:
            raise ValueError("the anchor has not been timed yet")
        return float(np.median(self.times_s)) * 1e3


def measure_relative(run: Callable[[], object], anchor: Anchor, policy: TimingPolicy, before_each: Callable[[], object] | None = None) -> list[float]:
    """Ratios of ``run``'s time to the anchor's next to it, for about the runs ``policy`` asks for.

    Runs are grouped in bursts of about one anchor run's length (a 10 us
    layer runs ~50 times per burst, a whole subnet once), so the model and
    the anchor see the same moment's load and a fast layer's burst is long
    enough for the clock. ``before_each`` (e.g. a
    :class:`ofa_dash.hardware.cold_cache.CacheEvictor`) runs before every
    timed run, outside the timing.
    """
    clock = anchor.clock
    start = clock()
    for _ in range(max(policy.warmup, 1)):
        if before_each is not None:
            before_each()
        run()
    per_run = max((clock() - start) / max(policy.warmup, 1), 1e-7)
    n_runs = int(np.clip(policy.budget_s / per_run, min(policy.min_repeats, policy.repeats), policy.repeats))
    before = anchor.time_once()
    burst = max(1, round(before / per_run))
    ratios = []
    for _ in range(max(1, math.ceil(n_runs / burst))):
        total = 0.0
        for _ in range(burst):
            if before_each is not None:
                before_each()
            t0 = clock()
            run()
            total += clock() - t0
        after = anchor.time_once()
        ratios.append(total / burst / max(0.5 * (before + after), 1e-12))
        before = after
    return ratios


def relative_timing(ratios: list[float]) -> Timing:
    """Median and interquartile range of the ratios (unit: one anchor run)."""
    values = np.asarray(ratios, dtype=np.float64)
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return Timing(float(q50), float(q75 - q25), len(values), tuple(float(v) for v in values))


def to_milliseconds(timing: Timing, reference_ms: float) -> Timing:
    """A relative :class:`Timing` in milliseconds: every figure times the anchor's reference time."""
    return Timing(timing.median_ms * reference_ms, timing.spread_ms * reference_ms, timing.n, tuple(v * reference_ms for v in timing.samples_ms))
