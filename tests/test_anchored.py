"""Timing relative to an anchor model (ofa_dash.hardware.anchored), on a fake clock: exact, and independent of this machine's load."""

import pytest

from ofa_dash.hardware.anchored import Anchor, measure_relative, relative_timing, to_milliseconds
from ofa_dash.runtime.ort import Timing, TimingPolicy, measure


class LoadedMachine:
    """A clock that advances only when a model runs, by its cost times a load factor that changes every few anchor runs."""

    def __init__(self, factors: list[float], every: int) -> None:
        self.now = 0.0
        self.factors = factors
        self.every = every
        self.anchor_runs = 0

    def clock(self) -> float:
        return self.now

    def factor(self) -> float:
        return self.factors[(self.anchor_runs // self.every) % len(self.factors)]

    def model(self, cost_s: float):
        def run() -> None:
            self.now += cost_s * self.factor()

        return run

    def anchor_model(self, cost_s: float):
        def run() -> None:
            self.now += cost_s * self.factor()
            self.anchor_runs += 1

        return run


POLICY = TimingPolicy(warmup=1, repeats=400, min_repeats=20, budget_s=1.0)


def test_relative_timing_cancels_load_that_the_wall_timing_keeps():
    machine = LoadedMachine(factors=[1.0, 3.0, 1.5], every=4)
    anchor = Anchor(machine.anchor_model(0.002), machine.clock)
    ratios = measure_relative(machine.model(0.0002), anchor, POLICY)
    assert len(ratios) == 40  # 400 runs of a tenth of an anchor each: bursts of 10
    t = relative_timing(ratios)
    assert t.median_ms == pytest.approx(0.1) and t.n == 40
    # the plain timing of the same model reports the load: its median is not the model's 0.2 ms
    plain = measure(machine.model(0.0002), POLICY, machine.clock)
    assert plain.median_ms != pytest.approx(0.2)


def test_a_model_slower_than_the_anchor_runs_once_per_sample():
    machine = LoadedMachine(factors=[2.0], every=1)
    anchor = Anchor(machine.anchor_model(0.001), machine.clock)
    ratios = measure_relative(machine.model(0.003), anchor, TimingPolicy(warmup=1, repeats=7, min_repeats=7, budget_s=1.0))
    assert ratios == pytest.approx([3.0] * 7)
    assert len(anchor.times_s) == 8  # one before the first sample, one after each
    assert anchor.reference_ms() == pytest.approx(2.0)


def test_relative_timings_convert_back_with_one_factor():
    t = to_milliseconds(Timing(0.5, 0.1, 3, (0.4, 0.5, 0.6)), 2.0)
    assert (t.median_ms, t.spread_ms, t.n) == pytest.approx((1.0, 0.2, 3)) and t.samples_ms == pytest.approx((0.8, 1.0, 1.2))


def test_an_untimed_anchor_has_no_reference():
    with pytest.raises(ValueError, match="not been timed"):
        Anchor(lambda: None, lambda: 0.0).reference_ms()
