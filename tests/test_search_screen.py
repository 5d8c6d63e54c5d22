"""Screened local search (issue 21): move estimates of a one-hot MLP, and climbs and Pareto local
search that evaluate exactly only the moves the estimates cannot rule out."""

from __future__ import annotations

import numpy as np
import pytest
from search_toys import deep_toy_objectives, toy_objectives

from ofa_dash.search import RunSpec, run_search
from ofa_dash.search.archive import Hypervolume, dominated_by
from ofa_dash.search.local import _all_moves, hill_climb, pareto_local_search


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()


@pytest.fixture(scope="module")
def deep():
    return deep_toy_objectives()


def _moves(space, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    P = space.canonical(space.sample_genomes(n, seed=seed))
    return P, _all_moves(space, P)


def test_move_estimates_are_exact_for_one_hidden_layer(toy):
    """Only the first layer is non-linear there, and it is computed exactly."""
    P, N = _moves(toy.space, 4, seed=1)
    est = toy._acc.estimate_moves(P, N)
    exact = toy._acc(N.reshape(-1, N.shape[2])).reshape(est.shape)
    np.testing.assert_allclose(est, exact, atol=1e-4)


def test_move_estimates_hold_for_genomes_far_from_the_parent(toy):
    """The first layer is summed from the features a move changes; a move changing many (any genome) is exact too."""
    P = toy.space.canonical(toy.space.sample_genomes(3, seed=4))
    far = toy.space.canonical(toy.space.sample_genomes(3 * 5, seed=5)).reshape(3, 5, -1)
    est = toy._acc.estimate_moves(P, far)
    np.testing.assert_allclose(est, toy._acc(far.reshape(15, -1)).reshape(3, 5), atol=1e-4)


def test_move_estimates_of_a_deeper_mlp_are_close_and_exact_at_the_parent(deep):
    P, N = _moves(deep.space, 6, seed=2)
    acc = deep._acc
    assert acc.fast
    exact = acc(N.reshape(-1, N.shape[2])).reshape(len(P), -1)
    est = acc.estimate_moves(P, N)
    assert not np.allclose(est, exact, atol=1e-4)  # a real approximation, not the exact network
    change, est_change = exact - acc(P)[:, None], est - acc(P)[:, None]
    assert np.corrcoef(change.ravel(), est_change.ravel())[0, 1] > 0.9
    np.testing.assert_allclose(acc.estimate_moves(P, P[:, None, :]), acc(P)[:, None], atol=1e-4)


def test_move_estimates_of_a_linear_model_are_its_predictions():
    toy = toy_objectives()
    acc = toy._acc
    acc_layers = acc.layers
    try:
        w, b = acc_layers[0]
        acc.layers = [(w @ acc_layers[1][0], b @ acc_layers[1][0] + acc_layers[1][1])]  # the toy without its ReLU
        P, N = _moves(toy.space, 3, seed=9)
        np.testing.assert_allclose(acc.estimate_moves(P, N), acc(N.reshape(-1, N.shape[2])).reshape(3, -1))
    finally:
        acc.layers = acc_layers


def test_move_screen_estimates_only_the_error(deep):
    screen = deep.move_screen(0.25)
    P, N = _moves(deep.space, 3, seed=3)
    est = screen.estimate(P, N)
    exact = deep(N.reshape(-1, N.shape[2])).reshape(est.shape)
    np.testing.assert_array_equal(est[..., 1], exact[..., 1])  # latency: exact
    np.testing.assert_allclose(100.0 - est[..., 0], deep._acc.estimate_moves(P, N))
    np.testing.assert_array_equal(screen.tolerance, [0.25, 0.0])


def test_no_move_screen_without_an_mlp_or_an_error():
    assert toy_objectives(affine=True).move_screen(0.2) is None  # the fast path refused this predictor
    assert toy_objectives(names=("latency:toy-cpu", "params")).move_screen(0.2) is None  # nothing costly to screen


def test_dominated_by_matches_a_pairwise_check():
    rs = np.random.default_rng(0)
    for _ in range(200):
        front = rs.integers(0, 5, (rs.integers(0, 8), 2)).astype(float)
        F = rs.integers(0, 5, (25, 2)).astype(float)
        expected = np.array([any((a <= f).all() for a in front) for f in F], dtype=bool)
        np.testing.assert_array_equal(dominated_by(front, F), expected)
    with pytest.raises(ValueError, match="two objectives"):
        dominated_by(np.zeros((2, 3)), np.zeros((1, 3)))


def test_a_many_objective_pass_evaluates_every_neighbour():
    """Past two objectives the dominance check would cost more than the evaluations it saves."""
    toy = toy_objectives(("error", "latency:toy-cpu", "latency:toy-gpu"))
    space = toy.space
    X = space.sample_genomes(10, seed=8)
    F = toy(X)
    plain = pareto_local_search(space, toy, X, F, max_evals=3_000, batch=4)
    screened = pareto_local_search(space, toy, X, F, max_evals=3_000, batch=4, screen=toy.move_screen(0.2))
    assert screened.n_evals == plain.n_evals
    np.testing.assert_array_equal(screened.X, plain.X)


def test_a_screened_climb_takes_the_same_steps_for_fewer_evaluations(toy):
    """With exact estimates (one hidden layer) and a tolerance for rounding, the climb is the same walk."""
    space = toy.space
    starts = space.sample_genomes(8, seed=4)
    weights = np.tile([1.0, 0.0], (8, 1))
    X, F, n = hill_climb(space, toy, starts, weights)
    SX, SF, sn = hill_climb(space, toy, starts, weights, screen=toy.move_screen(1e-3))
    np.testing.assert_array_equal(SX, X)
    np.testing.assert_allclose(SF, F, atol=1e-4)
    assert sn < n / 2


def test_a_screened_climb_on_a_deeper_mlp_steps_on_exact_scores(deep):
    """Estimates choose what to evaluate; a step is taken on exact scores only. A tolerance of twice
    the estimates' largest error (< 3 here) keeps every exact best move: then it is the same walk."""
    space = deep.space
    starts = space.sample_genomes(6, seed=5)
    weights = np.tile([1.0, 0.0], (6, 1))
    seen = []

    def recording(X):
        seen.append(len(X))
        return deep(X)

    X, F, n = hill_climb(space, recording, starts, weights, screen=deep.move_screen(0.5))
    assert n == sum(seen)
    np.testing.assert_allclose(deep(X), F, atol=1e-4)  # float32 batches of other sizes
    assert np.all(F[:, 0] < deep(space.canonical(starts))[:, 0])
    plain_X, _, plain_n = hill_climb(space, deep, starts, weights)
    assert n < plain_n
    wide_X, _, wide_n = hill_climb(space, deep, starts, weights, screen=deep.move_screen(6.0))
    np.testing.assert_array_equal(wide_X, plain_X)
    assert wide_n < plain_n


def test_screened_pareto_local_search_reaches_the_same_front_for_fewer_evaluations(toy):
    space = toy.space
    X = space.sample_genomes(25, seed=6)
    F = toy(X)
    plain = pareto_local_search(space, toy, X, F, max_evals=200_000, batch=10)
    screened = pareto_local_search(space, toy, X, F, max_evals=200_000, batch=10, screen=toy.move_screen(1e-3))
    assert plain.converged and screened.converged
    hv = Hypervolume(F.max(axis=0) + 1.0)
    assert hv(screened.F) == pytest.approx(hv(plain.F), rel=1e-7)
    assert len(screened.F) == len(plain.F)
    assert screened.n_evals < plain.n_evals / 2


def test_screened_pareto_local_search_keeps_its_guarantees_with_approximate_estimates(deep):
    space = deep.space
    X = space.sample_genomes(25, seed=7)
    F = deep(X)
    res = pareto_local_search(space, deep, X, F, max_evals=30_000, batch=10, screen=deep.move_screen(0.3))
    strictly_worse = np.array([any((a <= f).all() and (a < f).any() for a in F) for f in res.F])
    assert not strictly_worse.any()  # nothing kept is worse than an input point
    np.testing.assert_allclose(deep(res.X), res.F, atol=1e-4)  # everything kept was evaluated exactly


def test_a_run_records_its_screen_and_refuses_a_negative_tolerance(toy):
    r = run_search(RunSpec(toy.space.name, "nsga2", toy.names, pop_size=20, n_gen=20, seed=1, params={"screen_tolerance": 0.1}), objectives=toy)
    assert r.summary()["hv"] > 0
    with pytest.raises(ValueError, match="screen_tolerance"):
        run_search(RunSpec(toy.space.name, "nsga2", toy.names, pop_size=20, n_gen=20, seed=1, params={"screen_tolerance": -0.1}), objectives=toy)
