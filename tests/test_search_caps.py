"""Climbs and breeding under a cap on a cost objective (issue 21's ``capped`` schedule): the
error minimised subject to the latency staying under a limit, an epsilon-constraint."""

from __future__ import annotations

import numpy as np
import pytest
from search_toys import toy_objectives

from ofa_dash.search.local import LIMIT_PENALTY, LocalSearchSchedule, _all_moves, climb_and_breed, hill_climb, memetic_climb

ERROR, LATENCY = 0, 1


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()  # (error, latency:toy-cpu)


def _starts(toy, n: int, seed: int) -> np.ndarray:
    return toy.space.canonical(toy.space.sample_genomes(n, seed=seed))


def _cap(toy) -> float:
    """A cap most random subnets exceed and the smallest subnet meets."""
    F = toy(_starts(toy, 200, seed=0))
    return float(np.quantile(F[:, LATENCY], 0.3))


def _limits(n: int, cap: float) -> np.ndarray:
    L = np.full((n, 2), np.inf)
    L[:, LATENCY] = cap
    return L


def _penalised(F: np.ndarray, cap: float, spread: np.ndarray) -> np.ndarray:
    """The error of a soft cap: one spread of latency over it costs LIMIT_PENALTY points."""
    return F[..., ERROR] + LIMIT_PENALTY * np.maximum(F[..., LATENCY] - cap, 0.0) / spread[LATENCY]


def _spread(toy) -> np.ndarray:
    F = toy(_starts(toy, 200, seed=0))
    return F.max(axis=0) - F.min(axis=0)


def test_a_capped_climb_ends_at_its_cap_at_a_local_optimum_of_the_penalised_error(toy):
    cap, spread = _cap(toy), _spread(toy)
    X0 = _starts(toy, 12, seed=1)
    assert (toy(X0)[:, LATENCY] > cap).any()  # some start above the cap
    W = np.tile([1.0, 0.0], (len(X0), 1))
    X, F, _ = hill_climb(toy.space, toy, X0, W, spread, limits=_limits(len(X0), cap))
    free, _, _ = hill_climb(toy.space, toy, X0, W, spread)
    assert F[:, LATENCY].mean() < toy(free)[:, LATENCY].mean()  # the free climbs end slower
    np.testing.assert_allclose(toy(X), F, atol=1e-4)

    N = _all_moves(toy.space, X)
    FN = toy(N.reshape(-1, N.shape[2])).reshape(len(X), -1, 2)
    assert (_penalised(FN, cap, spread) >= _penalised(F, cap, spread)[:, None] - 1e-9).all()  # no one-gene move is better


def test_no_limit_is_the_plain_climb(toy):
    X0 = _starts(toy, 8, seed=2)
    W = np.tile([1.0, 0.0], (len(X0), 1))
    plain = hill_climb(toy.space, toy, X0, W, np.ones(2))
    unlimited = hill_climb(toy.space, toy, X0, W, np.ones(2), limits=np.full((len(X0), 2), np.inf))
    np.testing.assert_array_equal(plain[0], unlimited[0])
    assert plain[2] == unlimited[2]


def test_a_screened_capped_climb_steps_on_exact_scores(toy):
    cap = _cap(toy)
    X0 = _starts(toy, 10, seed=3)
    W = np.tile([1.0, 0.0], (len(X0), 1))
    exact = hill_climb(toy.space, toy, X0, W, _spread(toy), limits=_limits(len(X0), cap))
    screened = hill_climb(toy.space, toy, X0, W, _spread(toy), toy.move_screen(0.2), _limits(len(X0), cap))
    # the toy's estimates are exact (one hidden layer), so the screen changes the cost, not the walk
    np.testing.assert_array_equal(exact[0], screened[0])
    assert screened[2] < exact[2]


def test_breeding_keeps_a_capped_group_under_its_cap(toy):
    cap = _cap(toy)
    X0 = _starts(toy, 12, seed=4)
    W = np.tile([1.0, 0.0], (len(X0), 1))
    limits = np.concatenate([np.full((6, 2), np.inf), _limits(6, cap)])  # two groups: same weights, one capped
    spread = _spread(toy)
    X, F, _ = hill_climb(toy.space, toy, X0, W, spread, limits=limits)
    _, BF, n = memetic_climb(toy.space, toy, X, F, W, spread, 20_000, np.random.default_rng(0), limits=limits)
    assert n > 0
    assert BF[6:, LATENCY].max() < BF[:6, LATENCY].min()  # the capped group stays the faster one
    assert _penalised(BF[6:], cap, spread).min() <= _penalised(F[6:], cap, spread).min() + 1e-9  # never loses its best
    assert BF[:6, ERROR].min() <= F[:6, ERROR].min()
    assert BF[:6, ERROR].min() < BF[6:, ERROR].min()  # the uncapped group is free to be slower and more accurate


def _schedule(**over) -> LocalSearchSchedule:
    base = dict(climbs=6, climb_weights="error", memetic_evals=3_000, capped_climbers=4, cap_fractions=(0.6, 0.8), capped_evals=3_000)
    return LocalSearchSchedule("pareto", **(base | over))


def test_the_schedule_breeds_under_each_cap_below_the_most_accurate(toy):
    X, F = climb_and_breed(toy.space, toy, toy, 2, ERROR, _schedule(), np.random.default_rng(1))
    assert len(X) == 6 + 2 * 4
    best = F[:6][np.argmin(F[:6, ERROR])]  # the bred error group comes first
    low, high = F[6:10], F[10:14]  # the groups under 0.6 and 0.8 of its latency (soft caps)
    assert low[:, LATENCY].max() < best[LATENCY] and high[:, LATENCY].max() < best[LATENCY]
    assert low[:, LATENCY].mean() < high[:, LATENCY].mean()
    assert low[:, ERROR].min() > high[:, ERROR].min() > best[ERROR]  # each cap trades accuracy for speed
    np.testing.assert_allclose(toy(X), F, atol=1e-4)


def test_caps_need_two_objectives_and_the_error(toy):
    three = toy_objectives(("error", "latency:toy-cpu", "latency:toy-gpu"))
    X, _ = climb_and_breed(three.space, three, three, 3, ERROR, _schedule(), np.random.default_rng(1))
    assert len(X) == 6  # no caps with more than one cost
    costs = toy_objectives(("latency:toy-cpu", "params"))
    X, _ = climb_and_breed(costs.space, costs, costs, 2, None, _schedule(), np.random.default_rng(1))
    assert len(X) == 6
    X, _ = climb_and_breed(toy.space, toy, toy, 2, ERROR, _schedule(cap_fractions=()), np.random.default_rng(1))
    assert len(X) == 6


def test_cap_fractions_outside_zero_one_are_refused():
    with pytest.raises(ValueError, match="cap_fractions must each be in"):
        _schedule(cap_fractions=(0.0,))
    with pytest.raises(ValueError, match="cap_fractions must each be in"):
        _schedule(cap_fractions=(1.0,))
