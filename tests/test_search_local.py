"""Local search for NSGA-II (issue 21): neighbours, climbs, Pareto local search, the default schedule, and the OFA² protocol unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from search_toys import toy_objectives

from ofa_dash.search import RunSpec, run_search
from ofa_dash.search.algorithms import OFA2_PROTOCOL
from ofa_dash.search.archive import Hypervolume, nondominated
from ofa_dash.search.engine import ArrayNSGA2
from ofa_dash.search.local import LocalSearchSchedule, climb_weights, hill_climb, iterated_climb, one_gene_neighbours, pareto_local_search

SMALL = {"climbs": 4, "ls_evals": 3_000, "kick_rounds": 1}


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()


def _dominated_by(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    """For each row of F: is it dominated by some row of G?"""
    le = np.all(G[None, :, :] <= F[:, None, :], axis=2)
    lt = np.any(G[None, :, :] < F[:, None, :], axis=2)
    return np.any(le & lt, axis=1)


def test_neighbours_differ_in_exactly_one_gene(toy):
    space = toy.space
    x = space.encode([space.largest()])  # every slot active: no change is folded away
    N = one_gene_neighbours(space, x)
    assert len(N) == int((space.genome_upper - 1).sum())
    depth = np.zeros(x.shape[1], dtype=bool)
    depth[40:45] = True  # a shallower stage also switches slots off: compare at the neighbour's depths
    with_depths = space.canonical(np.where(depth, N, x))
    assert np.all((with_depths != N).sum(axis=1) + (N[:, depth] != x[:, depth]).sum(axis=1) == 1)
    assert len(np.unique(N, axis=0)) == len(N)


def test_neighbours_are_canonical_and_exclude_inactive_slot_changes(toy):
    space = toy.space
    x = space.encode([space.smallest()])
    N = one_gene_neighbours(space, x)
    np.testing.assert_array_equal(N, space.canonical(N))
    assert len(N) < int((space.genome_upper - 1).sum())  # moves of switched-off slots are the same network


def test_pareto_local_search_returns_only_nondominated_improvements(toy):
    space = toy.space
    X = space.sample_genomes(30, seed=5)
    F = toy(X)
    res = pareto_local_search(space, toy, X, F, max_evals=4_000)
    assert 0 < res.n_evals <= 4_000
    assert len(nondominated(res.F)) == len(res.F)  # the result is a non-dominated set
    assert not _dominated_by(res.F, F).any()  # nothing in it is worse than an input point
    np.testing.assert_allclose(toy(res.X), res.F, rtol=1e-9, atol=1e-4)  # every point is what it says (float32 batches)
    hv = Hypervolume(np.max(F, axis=0) + 1.0)
    assert hv(res.F) >= hv(F[nondominated(F)])
    # points that are not inputs were added because they are non-dominated in the union
    inputs = {tuple(r) for r in space.canonical(X).tolist()}
    assert any(tuple(r) not in inputs for r in res.X.tolist())


def test_pareto_local_search_is_deterministic_and_respects_its_budget(toy):
    space = toy.space
    X = space.sample_genomes(20, seed=2)
    F = toy(X)
    a = pareto_local_search(space, toy, X, F, max_evals=1_500)
    b = pareto_local_search(space, toy, X, F, max_evals=1_500)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.F, b.F)
    assert a.n_evals <= 1_500 and not a.converged


def test_hill_climb_improves_each_climber_and_stops_at_a_local_optimum(toy):
    space = toy.space
    starts = space.sample_genomes(6, seed=3)
    weights = np.tile([0.0, 1.0], (6, 1))  # the toy's second objective alone
    X, F, n = hill_climb(space, toy, starts, weights)
    F0 = toy(starts)
    assert np.all(F[:, 1] <= F0[:, 1]) and n > len(starts)
    N = one_gene_neighbours(space, X[:1])
    assert toy(N)[:, 1].min() >= F[0, 1]  # no single-gene move improves the first climber


def test_hill_climb_never_evaluates_a_climber_itself_and_counts_what_it_evaluates(toy):
    """Moves of switched-off slots spell the climber itself: they are skipped, and the count is exact."""
    space = toy.space
    starts = space.canonical(space.sample_genomes(5, seed=4))
    seen: list[np.ndarray] = []

    def recording(X):
        seen.append(np.array(X))
        return toy(X)

    X, F, n = hill_climb(space, recording, starts, np.tile([0.3, 0.7], (5, 1)))
    assert n == sum(len(b) for b in seen)
    first_moves = seen[1]  # the first round: every real one-gene move of every start
    assert not (first_moves[:, None, :] == starts[None, :, :]).all(axis=2).any()
    assert len(first_moves) < 5 * int((space.genome_upper - 1).sum())  # some moves were no-ops
    np.testing.assert_allclose(toy(X), F, rtol=1e-9, atol=1e-4)
    w = np.array([0.3, 0.7]) / np.ptp(toy(starts), axis=0)
    for x, f in zip(X, F, strict=True):  # still a local optimum of its weighting
        assert np.all(toy(one_gene_neighbours(space, x[None])) @ w >= f @ w - 1e-4)


def test_accurate_climb_weights_put_half_on_the_error(toy):
    rs = np.random.default_rng(0)
    W = climb_weights(2, 10, "accurate", rs, error=0)
    np.testing.assert_array_equal(W[:5], np.tile([1.0, 0.0], (5, 1)))
    assert np.allclose(W.sum(axis=1), 1.0) and np.all(W[5:, 1] > 0)
    spread = climb_weights(2, 10, "spread", np.random.default_rng(0))
    np.testing.assert_array_equal(climb_weights(2, 10, "accurate", np.random.default_rng(0), error=None), spread)


def test_iterated_climb_is_deterministic_given_a_seed(toy):
    space = toy.space
    starts = space.sample_genomes(4, seed=7)
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    a = iterated_climb(space, toy, starts, weights, 2, 4, np.random.default_rng(11))
    b = iterated_climb(space, toy, starts, weights, 2, 4, np.random.default_rng(11))
    np.testing.assert_array_equal(a[0], b[0])
    plain = hill_climb(space, toy, starts, weights)[1]
    scale = np.ptp(toy(space.canonical(starts)), axis=0)
    assert np.all(np.einsum("ij,ij->i", a[1] / scale, weights) <= np.einsum("ij,ij->i", plain / scale, weights) + 1e-12)


def _run(toy, params: dict, seed: int = 1, gens: int = 6, pop: int = 12):
    return run_search(RunSpec(toy.space.name, "nsga2", toy.names, pop_size=pop, n_gen=gens, seed=seed, params=params), objectives=toy)


def test_default_nsga2_is_deterministic_given_a_seed(toy):
    a, b, c = _run(toy, SMALL, seed=3), _run(toy, SMALL, seed=3), _run(toy, SMALL, seed=4)
    np.testing.assert_array_equal(a.final_X, b.final_X)
    np.testing.assert_array_equal(a.archive_F, b.archive_F)
    assert not np.array_equal(a.archive_F, c.archive_F)
    assert a.algorithm_params["local_search"] == "pareto" and a.algorithm_params["climbs"] == 4


def test_default_final_set_is_the_polished_archive(toy):
    r = _run(toy, SMALL)
    assert len(nondominated(r.final_F)) == len(r.final_F)
    assert not _dominated_by(r.final_F, r.archive_F).any()
    assert r.hv_final == pytest.approx(r.hv)


def test_ofa2_protocol_is_the_unchanged_engine(toy):
    """``ofa2`` runs exactly the engine as it was before local search: same final population, bit for bit."""
    space, gens, pop, seed = toy.space, 8, 14, 5
    r = _run(toy, OFA2_PROTOCOL, seed=seed, gens=gens, pop=pop)
    engine = ArrayNSGA2(space, toy, pop_size=pop, seed=seed, prob_var=OFA2_PROTOCOL["prob_var"], duplicates="genome", init="random")
    for _ in range(gens):
        engine.step()
    X, F = engine.front()
    np.testing.assert_array_equal(r.final_X, space.canonical(X))
    np.testing.assert_array_equal(r.final_F, F)
    assert r.n_evals == gens * pop and "local_search" not in r.algorithm_params


@pytest.mark.parametrize(
    "params, match",
    [
        ({"local_search": "tabu"}, "local_search must be"),
        ({"climb_weights": "diagonal"}, "climb_weights must be"),
        ({"ga_share": 0}, "ga_share must be"),
        ({"ls_evals": -1}, "max_evals must be"),
        ({"climbs": "many"}, "bad local search parameter"),
    ],
)
def test_bad_local_search_parameters_are_refused(toy, params, match):
    with pytest.raises(ValueError, match=match):
        _run(toy, params)


def test_default_schedule_scales_with_the_run_budget():
    base = LocalSearchSchedule("pareto", max_evals=50_000, climbs=64)
    assert base.scaled(100_000) == base
    small = base.scaled(10_000)
    assert small.max_evals == 5_000 and small.climbs == 6
    assert base.scaled(10).climbs == 2 and base.scaled(10**7).climbs == 64


def test_schedule_generations_share():
    assert LocalSearchSchedule("pareto", ga_share=0.1).generations(1000) == 100
    assert LocalSearchSchedule("pareto", ga_share=0.1).generations(3) == 1
    assert LocalSearchSchedule().generations(7) == 7
