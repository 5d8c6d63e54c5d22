"""Issue 21's memetic schedule: breeding climbed optima, batched Pareto local search, named schedules."""

from __future__ import annotations

import numpy as np
import pytest
from search_toys import toy_objectives

from ofa_dash.search import RunSpec, run_search
from ofa_dash.search.algorithms import DEFAULT_LOCAL_SEARCH, LOCAL_SEARCH_SCHEDULES, OFA2_PROTOCOL
from ofa_dash.search.archive import nondominated
from ofa_dash.search.local import LocalSearchSchedule, _pareto_rank, climb_weights, hill_climb, memetic_climb, one_gene_neighbours, pareto_local_search
from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, get_space

SPACE = get_space("cifar10")
# the first two slots of every stage are always active: their genes form one trap per stage
TRAPS = [(s * MAX_DEPTH, N_SLOTS + s * MAX_DEPTH, s * MAX_DEPTH + 1) for s in range(N_STAGES)]
OPTIMUM = -5.0 * len(TRAPS)


def traps(X: np.ndarray) -> np.ndarray:
    """(n, 2): a deceptive first objective and a constant second one.

    Per trap of three genes, each gene at choice 2 costs 1, all three at 2 earn -5: from one
    gene at 2 no one-gene move improves but giving it up, so most climbs stop with no trap
    finished, while crossing two optima joins the traps each has finished.
    """
    X = np.asarray(X)
    f = np.zeros(len(X))
    for genes in TRAPS:
        at2 = sum((X[:, g] == 2).astype(float) for g in genes)
        f += np.where(at2 == len(genes), -5.0, at2)
    return np.stack([f, np.zeros(len(X))], axis=1)


class Counting:
    """An evaluator that counts the genomes it scores and remembers the size of each batch."""

    def __init__(self, f) -> None:
        self.f, self.n, self.batches = f, 0, []

    def __call__(self, X: np.ndarray) -> np.ndarray:
        self.n += len(X)
        self.batches.append(len(X))
        return self.f(X)


def _climbed(n: int, seed: int):
    rs = np.random.default_rng(seed)
    W = np.tile([1.0, 0.0], (n, 1))
    X, F, _ = hill_climb(SPACE, traps, rs.integers(0, SPACE.genome_upper, size=(n, SPACE.genome_upper.size)), W, np.ones(2))
    return X, F, W, rs


def test_breeding_reaches_the_optimum_the_climbs_miss():
    X, F, W, rs = _climbed(16, seed=4)
    assert F[:, 0].min() > OPTIMUM  # no climb finished every trap
    count = Counting(traps)
    MX, MF, n = memetic_climb(SPACE, count, X, F, W, np.ones(2), 60_000, rs)
    assert MF[0, 0] == OPTIMUM  # the group's best row first, at the known optimum
    assert n == count.n  # the evaluations it reports are the ones it made
    np.testing.assert_array_equal(traps(MX), MF)


def test_breeding_never_loses_the_best_and_is_deterministic():
    X, F, W, _ = _climbed(8, seed=2)
    a = memetic_climb(SPACE, traps, X, F, W, np.ones(2), 5_000, np.random.default_rng(9))
    b = memetic_climb(SPACE, traps, X, F, W, np.ones(2), 5_000, np.random.default_rng(9))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1][:, 0].min() <= F[:, 0].min()
    assert len(a[0]) == len(X)


def test_breeding_spends_nothing_below_one_sweep_and_leaves_single_weightings_alone():
    X, F, W, rs = _climbed(6, seed=1)
    count = Counting(traps)
    _, MF, n = memetic_climb(SPACE, count, X, F, W, np.ones(2), 100, rs)  # one sweep of 6 children costs more
    assert n == 0 and count.n == 0
    np.testing.assert_array_equal(MF, F)
    W2 = np.eye(2)[[0, 1, 0, 1, 0, 1]] * np.arange(1, 7)[:, None]  # six different weightings: no group to breed
    _, F2, n2 = memetic_climb(SPACE, traps, X, F, W2, np.ones(2), 50_000, rs)
    assert n2 == 0
    np.testing.assert_array_equal(F2, F)


def test_pareto_rank_peels_fronts():
    F = np.array([[1.0, 5.0], [2.0, 2.0], [3.0, 3.0], [5.0, 1.0], [4.0, 4.0]])
    np.testing.assert_array_equal(_pareto_rank(F), [0, 0, 1, 0, 2])


def test_diverse_breeding_keeps_a_faster_optimum_that_a_plain_ranking_drops():
    # a group of two on the first objective: the worse one is faster (second objective), so not dominated
    X = SPACE.canonical(SPACE.sample_genomes(2, seed=3))

    def two(G):
        G = SPACE.canonical(np.asarray(G))
        out = np.tile([1.5, 9.5], (len(G), 1))  # every other genome: second best, dominated by the best
        for i, x in enumerate(X):
            out[np.all(x == G, axis=1)] = [[1.0, 9.0], [2.0, 1.0]][i]
        return out

    F, W = two(X), np.tile([1.0, 0.0], (2, 1))
    _, kept, _ = memetic_climb(SPACE, two, X, F, W, np.ones(2), 2_000, np.random.default_rng(0), diverse=True)
    assert {tuple(r) for r in kept} == {(1.0, 9.0), (2.0, 1.0)}
    _, plain, _ = memetic_climb(SPACE, two, X, F, W, np.ones(2), 2_000, np.random.default_rng(0))
    assert {tuple(r) for r in plain} == {(1.0, 9.0), (1.5, 9.5)}


def test_batched_pareto_local_search_expands_at_most_batch_members_a_round():
    toy = toy_objectives()
    X = SPACE.sample_genomes(40, seed=5)
    F = toy(X)
    count = Counting(toy)
    res = pareto_local_search(SPACE, count, X, F, max_evals=6_000, batch=3)
    per_member = len(one_gene_neighbours(SPACE, SPACE.encode([SPACE.largest()])))
    assert max(count.batches) <= 3 * per_member
    assert 0 < res.n_evals <= 6_000 and res.n_evals == count.n
    assert len(nondominated(res.F)) == len(res.F)
    F0 = F[nondominated(F)]
    worse = np.all(F0[None, :, :] <= res.F[:, None, :], axis=2) & np.any(F0[None, :, :] < res.F[:, None, :], axis=2)
    assert not worse.any()  # nothing in the result is dominated by an input point


def test_named_schedules_and_the_default():
    d = DEFAULT_LOCAL_SEARCH
    assert d is LOCAL_SEARCH_SCHEDULES["capped"]
    assert (d.climbs, d.memetic_evals, d.screen_tolerance) == (40, 14_000, 0.1)
    assert (d.capped_climbers, d.cap_fractions, d.capped_evals) == (16, (0.8, 0.9), 8_000)
    tight = LOCAL_SEARCH_SCHEDULES["tight-screen"]
    assert (tight.climbs, tight.memetic_evals, tight.screen_tolerance, tight.cap_fractions) == (40, 22_000, 0.1, ())
    screened = LOCAL_SEARCH_SCHEDULES["screened"]
    assert (screened.climbs, screened.memetic_evals, screened.screen_tolerance) == (32, 35_000, 0.2)
    memetic = LOCAL_SEARCH_SCHEDULES["memetic"]
    assert (memetic.climbs, memetic.memetic_evals, memetic.screen_tolerance) == (16, 100_000, 0.0)
    old = LOCAL_SEARCH_SCHEDULES["climbs-v1"]
    assert (old.climbs, old.kick_rounds, old.max_evals, old.ga_share, old.memetic_evals) == (64, 1, 80_000, 0.02, 0)
    assert DEFAULT_LOCAL_SEARCH.scaled(10_000).memetic_evals == DEFAULT_LOCAL_SEARCH.memetic_evals // 10
    assert OFA2_PROTOCOL == {"duplicates": "genome", "init": "random", "prob_var": 0.1, "local_search": "none"}


def _run(params: dict, gens: int = 30, pop: int = 20):
    toy = toy_objectives()
    return run_search(RunSpec(SPACE.name, "nsga2", toy.names, pop_size=pop, n_gen=gens, seed=2, params=params), objectives=toy)


def test_runs_record_the_schedule_and_the_old_one_is_reachable():
    new, memetic, old = _run({}), _run({"ls_schedule": "memetic"}), _run({"ls_schedule": "climbs-v1"})
    assert new.algorithm_params["ls_schedule"] == "capped" and new.algorithm_params["memetic_evals"] == 84
    assert new.algorithm_params["cap_fractions"] == (0.8, 0.9) and new.algorithm_params["capped_evals"] == 48
    assert new.algorithm_params["screen_tolerance"] == 0.1 and memetic.algorithm_params["screen_tolerance"] == 0.0
    screened = _run({"ls_schedule": "screened"})
    assert screened.algorithm_params["screen_tolerance"] == 0.2 and screened.algorithm_params["memetic_evals"] == 210
    assert memetic.algorithm_params["ls_schedule"] == "memetic" and memetic.algorithm_params["memetic_evals"] == 600
    assert old.algorithm_params["ls_schedule"] == "climbs-v1" and old.algorithm_params["memetic_evals"] == 0
    assert new.algorithm_params["climb_weights"] == "error" and old.algorithm_params["climb_weights"] == "accurate"


@pytest.mark.parametrize(
    "params, match",
    [
        ({"ls_schedule": "fastest"}, "ls_schedule must be one of"),
        ({"memetic_diverse": "maybe"}, "bad local search parameter"),
        ({"memetic_evals": -5}, "memetic_evals must be"),
        ({"ls_batch": -1}, "ls_batch must be"),
        ({"screen_tolerance": "wide"}, "bad local search parameter"),
        ({"cap_fractions": "0.8,1.2"}, "cap_fractions must each be in"),
        ({"cap_fractions": "0.8,fast"}, "bad local search parameter"),
        ({"capped_evals": -1}, "capped_evals must be"),
    ],
)
def test_bad_schedule_parameters_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        _run(params, gens=2, pop=8)


def test_flags_and_caps_read_from_text():
    base = LocalSearchSchedule("pareto")
    assert LocalSearchSchedule.from_values(base, {"cap_fractions": "0.7, 0.85"}).cap_fractions == (0.7, 0.85)
    assert LocalSearchSchedule.from_values(base, {"cap_fractions": [0.5]}).cap_fractions == (0.5,)
    assert LocalSearchSchedule.from_values(base, {"cap_fractions": ""}).cap_fractions == ()
    assert LocalSearchSchedule.from_values(base, {"memetic_diverse": "false"}).memetic_diverse is False
    assert LocalSearchSchedule.from_values(base, {"memetic_diverse": "1"}).memetic_diverse is True


def test_error_weights_fall_back_to_corners_without_an_error_objective():
    rs = np.random.default_rng(0)
    np.testing.assert_array_equal(climb_weights(2, 4, "error", rs, error=1), np.tile([0.0, 1.0], (4, 1)))
    np.testing.assert_array_equal(climb_weights(2, 4, "error", rs, error=None), np.eye(2)[[0, 1, 0, 1]])


def _many(algorithm: str, params: dict):
    toy = toy_objectives(("error", "latency:toy-cpu", "latency:toy-gpu"))
    spec = RunSpec(SPACE.name, algorithm, toy.names, pop_size=12, n_gen=5, seed=3, params=params)
    return toy, run_search(spec, objectives=toy)


def test_agemoea_ends_with_the_local_search_by_default():
    toy, plain = _many("agemoea", {"local_search": "none"})
    _, polished = _many("agemoea", {})
    assert "local_search" not in plain.algorithm_params
    assert polished.algorithm_params["local_search"] == "pareto" and polished.algorithm_params["ls_schedule"] == "capped"
    assert polished.n_evals > plain.n_evals
    assert len(nondominated(polished.final_F)) == len(polished.final_F)
    np.testing.assert_allclose(toy(polished.final_X), polished.final_F, rtol=1e-9, atol=1e-4)
    # the generations are the algorithm's own: the polish only adds to them
    assert polished.hv >= plain.hv and polished.hv_final >= plain.hv_final


def test_other_pymoo_algorithms_polish_only_when_asked():
    _, smsemoa = _many("smsemoa", {})
    _, asked = _many("smsemoa", {"local_search": "pareto"})
    assert "local_search" not in smsemoa.algorithm_params
    assert asked.algorithm_params["local_search"] == "pareto" and asked.n_evals > smsemoa.n_evals
