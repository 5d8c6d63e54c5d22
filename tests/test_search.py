"""Search engine: vectorised objectives, every registered algorithm, HV history, archive, reference points, CLI."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import numpy as np
import pytest
from conftest import OFFICIAL
from search_toys import toy_objectives

from ofa_dash.search import REGISTRY, RunSpec, build_objectives, parse_objectives, reference_point, run_search
from ofa_dash.search.algorithms import make_driver
from ofa_dash.search.archive import nondominated
from ofa_dash.search.context import SearchContext
from ofa_dash.search.problem import SubnetProblem
from ofa_dash.space import get_space

needs_official = pytest.mark.skipif(not (OFFICIAL / "acc_predictor.pth").is_file(), reason="../shared/ofa-official missing")
ALGORITHMS = list(REGISTRY)


def _spec(objectives, name: str, pop: int = 16, gens: int = 4, seed: int = 1) -> RunSpec:
    params = {}
    if name == "rnsga2":  # one reference point halfway between the largest and the smallest subnet
        F = objectives(objectives.space.encode([objectives.space.largest(), objectives.space.smallest()]))
        params = {"ref_points": F.mean(axis=0)[None, :].tolist()}
    return RunSpec(objectives.space.name, name, objectives.names, pop_size=pop, n_gen=gens, seed=seed, params=params)


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()


@pytest.fixture(scope="module")
def official():
    if not (OFFICIAL / "acc_predictor.pth").is_file():
        pytest.skip("../shared/ofa-official missing")
    return build_objectives(get_space("ofa-mbv3-w1.2"), "latency:note10,error", official_dir=OFFICIAL)


# --------------------------------------------------------------------------- objectives and problem
def test_parse_objectives_rejects_bad_names():
    assert parse_objectives("error, latency:cpu ,macs") == ("error", "latency:cpu", "macs")
    with pytest.raises(ValueError, match="unknown objective 'flops'"):
        parse_objectives("error,flops")
    with pytest.raises(ValueError, match="more than once"):
        parse_objectives("error,error")
    with pytest.raises(ValueError, match="unknown objective"):
        parse_objectives("error,latency:")


def test_unknown_device_names_the_available_ones(toy):
    with pytest.raises(ValueError, match=r"no latency table for device 'phone'.*toy-cpu"):
        toy.subset(("error", "latency:phone"))


def test_problem_vectorised_equals_row_by_row(toy):
    ob = toy.subset(("error", "latency:toy-cpu", "latency:toy-gpu", "macs", "params", "peak_mem"))
    problem = SubnetProblem(ob)
    g = ob.space.sample_genomes(40, seed=3)
    batch = problem.evaluate(g, return_as_dictionary=True)["F"]
    rows = np.vstack([problem.evaluate(g[i : i + 1], return_as_dictionary=True)["F"] for i in range(len(g))])
    np.testing.assert_allclose(batch, rows, rtol=1e-9, atol=1e-4)  # float32 matmuls: batch size changes the last bits
    assert problem.n_evals == 80
    # and against the owners' slow paths, column by column
    np.testing.assert_allclose(batch[:, 0], 100.0 - ob.predictor.predict(g), atol=1e-4)
    np.testing.assert_allclose(batch[:, 1], ob.devices["toy-cpu"].estimate(g), rtol=1e-12)
    from ofa_dash.hardware import count

    np.testing.assert_allclose(batch[:, 3], count(ob.space, g)["macs"] / 1e6)


def test_fast_paths_verify_against_the_owner(toy):
    assert toy._acc.fast and toy._lat["latency:toy-cpu"].fast
    affine = toy_objectives(affine=True)
    assert not affine._acc.fast  # output is not the MLP's times 1 or 100: the owner's predict is used
    g = affine.space.sample_genomes(30, seed=5)
    np.testing.assert_allclose(affine(g)[:, 0], 100.0 - affine.predictor.predict(g))


def test_objectives_check_genomes_from_outside(toy):
    with pytest.raises(ValueError, match="out of range"):
        toy(np.full((1, 46), 7))


@needs_official
def test_official_objectives_sanity_values(official):
    sp = official.space
    F = official(sp.encode([sp.largest(), sp.smallest()]))
    np.testing.assert_allclose(F[:, 0], [92.40, 9.89], atol=0.01)  # README sanity values (ms)
    np.testing.assert_allclose(F[:, 1], [100 - 83.59, 100 - 75.31], atol=0.01)
    g = sp.sample_genomes(64, seed=1)
    problem = SubnetProblem(official)
    batch = problem.evaluate(g, return_as_dictionary=True)["F"]
    rows = np.vstack([problem.evaluate(g[i : i + 1], return_as_dictionary=True)["F"] for i in range(len(g))])
    np.testing.assert_allclose(batch, rows, atol=1e-4)


def test_supernet_version_is_recorded(toy, tmp_path):
    import json as _json

    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "train_manifest.json").write_text(_json.dumps({"supernet_version": "cifar10-full"}))
    r = run_search(_spec(toy, "random", pop=6, gens=1), objectives=toy, precomputed_dir=tmp_path)
    assert r.versions["supernet"] == "cifar10-full" and r.versions["predictor"]["version"] == "toy-1"


# --------------------------------------------------------------------------- reference points
def test_reference_point_published_and_derived(toy, tmp_path):
    ref, source = reference_point(toy)
    again, _ = reference_point(toy)
    np.testing.assert_array_equal(ref, again)
    assert "derived" in source
    F = toy(toy.space.encode([toy.space.largest(), toy.space.smallest()]))
    assert np.all(ref > F.max(axis=0))


@needs_official
def test_reference_point_is_ofa2s_in_either_order():
    sp = get_space("ofa-mbv3-w1.2")
    for names, expected in (("latency:note10,error", [100, 25]), ("error,latency:note10", [25, 100])):
        ob = build_objectives(sp, names, official_dir=OFFICIAL)
        ref, source = reference_point(ob)
        assert ref.tolist() == expected and "OFA²" in source


# --------------------------------------------------------------------------- algorithms
def _check_result(r, ob, spec):
    n_obj = ob.n_obj
    assert r.ref_point == reference_point(ob)[0].tolist() and len(r.ref_point) == n_obj
    hv = r.history["hv"]
    assert len(hv) == len(r.history["gen"]) and r.history["gen"][-1] == spec.n_gen * (
        1 if spec.algorithm != "ofa-evolution" else len(r.algorithm_params["budgets"])
    )
    assert np.all(np.diff(hv) >= -1e-9), "archive hypervolume must never decrease"
    assert np.all(np.diff(r.history["n_evals"]) >= 0) and r.n_evals == r.history["n_evals"][-1] > 0
    assert r.hv == pytest.approx(hv[-1]) and r.hv > 0
    assert r.hv >= r.hv_final - 1e-9  # the archive holds at least what the final set holds
    # the archive is non-dominated, distinct networks, and its objectives are what the evaluator says
    assert len(nondominated(r.archive_F)) == len(r.archive_F)
    assert len(np.unique(r.archive_X, axis=0)) == len(r.archive_X)
    np.testing.assert_allclose(ob(r.archive_X), r.archive_F, rtol=1e-9, atol=1e-4)
    ob.space.check_genome(r.final_X)
    np.testing.assert_allclose(ob(r.final_X), r.final_F, rtol=1e-9, atol=1e-4)
    assert r.summary()["front_size"] == len(r.archive_X)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_algorithm_runs_on_a_synthetic_problem(toy, name):
    spec = _spec(toy, name)
    r = run_search(spec, objectives=toy)
    _check_result(r, toy, spec)
    assert r.algorithm_params["pop_size"] > 0


@needs_official
@pytest.mark.parametrize("name", ALGORITHMS)
def test_every_algorithm_runs_on_ofa_mbv3(official, name):
    spec = _spec(official, name, pop=12, gens=3)
    if name == "ofa-evolution":
        spec.params = {"budgets": [25.0, 40.0]}
    r = run_search(spec, objectives=official)
    _check_result(r, official, spec)


def test_array_nsga2_makes_pymoos_decisions(toy):
    """The fast engine follows pymoo's NSGA-II step for step: same seed, same final population."""
    a_spec, b_spec = _spec(toy, "nsga2", pop=20, gens=15, seed=4), _spec(toy, "nsga2-pymoo", pop=20, gens=15, seed=4)
    a_spec.params = b_spec.params = {"local_search": "none"}  # the pymoo class has no local search
    a, b = run_search(a_spec, objectives=toy), run_search(b_spec, objectives=toy)
    np.testing.assert_array_equal(a.final_F[np.lexsort(a.final_F.T)], b.final_F[np.lexsort(b.final_F.T)])
    np.testing.assert_array_equal(a.history["hv"], b.history["hv"])


def test_many_objectives_nsga3_and_agemoea(toy):
    ob = toy.subset(("error", "latency:toy-cpu", "latency:toy-gpu", "params"))
    for name in ("nsga3", "agemoea"):
        spec = RunSpec(ob.space.name, name, ob.names, pop_size=20, n_gen=3, seed=2)
        r = run_search(spec, objectives=ob)
        _check_result(r, ob, spec)
        assert r.archive_F.shape[1] == 4


def test_random_search_uses_the_same_budget(toy):
    r = run_search(_spec(toy, "random", pop=10, gens=7), objectives=toy)
    assert r.n_evals == 70
    nd = nondominated(r.final_F)
    assert len(nd) == len(r.final_F)


def test_ofa_evolution_respects_every_budget(toy):
    spec = RunSpec(toy.space.name, "ofa-evolution", toy.names, pop_size=20, n_gen=5, seed=1, params={"budgets": [40.0, 60.0, 90.0]})
    r = run_search(spec, objectives=toy)
    assert len(r.final_X) == 3 and len(r.history["gen"]) == 15
    lat = toy.subset(("latency:toy-cpu",))(r.final_X)[:, 0]
    assert np.all(lat <= np.array([40.0, 60.0, 90.0]) + 1e-9)
    assert r.algorithm_params["budgets"] == [40.0, 60.0, 90.0] and r.algorithm_params["n_rejected"] >= 0
    # a tighter budget never buys more accuracy
    assert np.all(np.diff(r.final_F[:, 0]) <= 1e-9)
    with pytest.raises(ValueError, match="exactly two objectives"):
        run_search(
            RunSpec(toy.space.name, "ofa-evolution", ("error", "latency:toy-cpu", "macs"), pop_size=10, n_gen=2),
            objectives=toy.subset(("error", "latency:toy-cpu", "macs")),
        )


def test_rnsga2_needs_reference_points(toy):
    with pytest.raises(ValueError, match="rnsga2 needs reference points"):
        run_search(RunSpec(toy.space.name, "rnsga2", toy.names, pop_size=10, n_gen=2), objectives=toy)
    with pytest.raises(ValueError, match="2 values"):
        run_search(RunSpec(toy.space.name, "rnsga2", toy.names, pop_size=10, n_gen=2, params={"ref_points": [[1, 2, 3]]}), objectives=toy)


def test_initial_population_holds_the_extreme_subnets(toy):
    extremes = toy.space.encode([toy.space.largest(), toy.space.smallest()])
    for name in ("nsga2", "spea2"):
        for init, expected in (("random+extremes", True), ("random", False)):
            # without local search: its climbs join the first population through survival, which may drop an extreme
            driver = make_driver(name, SearchContext(SubnetProblem(toy), 20, 2, 1, {"init": init, "local_search": "none"}))
            driver.step()
            X, _ = driver.population()
            held = [any((toy.space.canonical(X) == toy.space.canonical(e[None])).all(1)) for e in extremes]
            assert all(held) is expected, (name, init)


def test_operator_options_are_validated(toy):
    for params, message in (
        ({"duplicates": "fuzzy"}, "duplicates must be one of"),
        ({"init": "sobol"}, "init must be one of"),
        ({"mutation": "gauss"}, "mutation must be one of"),
        ({"crossover": "sbx"}, "crossover must be one of"),
        ({"prob_var": 1.5}, r"prob_var must be in \[0, 1\]"),
        ({"dupliactes": "genome"}, "unknown search parameter"),
    ):
        with pytest.raises(ValueError, match=message):
            run_search(RunSpec(toy.space.name, "nsga2", toy.names, pop_size=10, n_gen=2, params=params), objectives=toy)


def test_stage_crossover_moves_whole_stages():
    from ofa_dash.search.operators import _gene_groups, vary

    rs = np.random.default_rng(0)
    upper = get_space("cifar10").genome_upper
    p1, p2 = np.zeros((50, 46), dtype=np.int64), np.ones((50, 46), dtype=np.int64)
    children = vary(p1, p2, upper, rs, prob_var=0.0, crossover="stage")
    groups = _gene_groups(46)
    for child in children:
        for gid in np.unique(groups):
            assert len(set(child[groups == gid])) == 1  # a stage comes from one parent
    assert 0 < children.mean() < 1
    uniform = vary(p1, p2, upper, rs, prob_var=0.0)
    assert any(len(set(c[groups == 0])) == 2 for c in uniform)


def test_unknown_algorithm_lists_the_registry(toy):
    with pytest.raises(ValueError, match="available: nsga2"):
        run_search(_spec(toy, "cmaes"), objectives=toy)


def test_seed_makes_runs_repeatable(toy):
    a = run_search(_spec(toy, "spea2", seed=9), objectives=toy)
    other = run_search(_spec(toy, "spea2", seed=3), objectives=toy)
    b = run_search(_spec(toy, "spea2", seed=9), objectives=toy)
    np.testing.assert_array_equal(a.archive_F, b.archive_F)
    np.testing.assert_array_equal(a.history["hv"], b.history["hv"])
    assert other.n_evals == a.n_evals


def test_spea2_runs_share_no_survival_state(toy):
    """pymoo's SPEA2 default survival is one shared object whose normalisation (ideal and extreme
    points) would carry from one run into the next in the same process; every run gets its own."""
    first, second = (make_driver("spea2", SearchContext(SubnetProblem(toy), 16, 2, seed, {})) for seed in (1, 2))
    assert first.algorithm.survival is not second.algorithm.survival


# --------------------------------------------------------------------------- progress, cancel, interrupt
def test_progress_and_cancel(toy):
    seen = []
    stop = threading.Event()

    def progress(gen, n_evals, hv):
        seen.append((gen, n_evals, hv))
        if gen == 3:
            stop.set()

    spec = replace(_spec(toy, "nsga2", gens=50), params={"ga_share": 0.1})  # 5 genetic generations, then idle steps
    r = run_search(spec, objectives=toy, progress=progress, cancel=stop)
    assert r.cancelled and len(r.history["gen"]) == 3
    assert [s[0] for s in seen] == [1, 2, 3] and seen[-1][1] == r.n_evals


def test_keyboard_interrupt_propagates(toy):
    def progress(gen, n_evals, hv):
        if gen == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(_spec(toy, "nsga2", gens=20), objectives=toy, progress=progress)


# --------------------------------------------------------------------------- CLI
def test_cli_rejects_bad_input_without_writing(tmp_path, capsys):
    from ofa_dash.cli import main

    for argv, message in (
        (["--algorithm", "cmaes"], "unknown algorithm"),
        (["--objectives", "error,flops"], "unknown objective"),
        (["--space", "mnist"], "unknown space"),
    ):
        code = main(["search", "--space", "cifar10", "--store", str(tmp_path), "--json", *argv])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and message in err
    assert not any(tmp_path.iterdir())


@needs_official
def test_cli_search_json(tmp_path, capsys):
    from ofa_dash.cli import main

    argv = ["search", "--space", "ofa-mbv3-w1.2", "--algorithm", "nsga2", "--objectives", "error,latency:note10", "--pop", "12", "--gens", "4", "--seed", "3"]
    code = main([*argv, "--official", str(OFFICIAL), "--store", str(tmp_path), "--quiet", "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 1
    obj = json.loads(out[0])
    for key in ("run_id", "hv", "ref_point", "n_evals", "seconds", "front_size"):
        assert key in obj
    assert obj["ref_point"] == [25.0, 100.0] and obj["n_evals"] > 48 and obj["stored"]  # the default's climbs and local search add evaluations
    code = main([*argv, "--official", str(OFFICIAL), "--no-store", "--quiet", "--json", "--local-search", "none"])
    assert code == 0 and json.loads(capsys.readouterr().out)["n_evals"] == 48
    from ofa_dash.store import RunStore

    runs, problems = RunStore(tmp_path).list_runs("ofa-mbv3-w1.2")
    assert [r["run_id"] for r in runs] == [obj["run_id"]] and not problems
    code = main(["search", "--space", "ofa-mbv3-w1.2", "--gens", "2", "--pop", "8", "--official", str(OFFICIAL), "--no-store", "--quiet", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["stored"] is False


@pytest.mark.parametrize(("pop", "gens"), [(100_000_000, 10), (100, 10**9), (1, 10), (100, 0), (True, 10)])
def test_a_run_larger_than_the_hard_bounds_is_refused_before_any_allocation(pop, gens):
    from ofa_dash.search.run import RunSpec

    with pytest.raises(ValueError, match=r"population size|generations"):
        RunSpec(space="cifar10", algorithm="nsga2", objectives=("error", "macs"), pop_size=pop, n_gen=gens)


def test_pair_subset_hv_is_the_hv_of_the_pairs_own_front(official):
    from ofa_dash.search.archive import Hypervolume, nondominated
    from ofa_dash.search.run import pair_subset_hv, reference_point

    space = official.space
    both = build_objectives(space, "error,latency:note10", official_dir=OFFICIAL)
    F = both(space.encode(space.sample(300, seed=3)))
    F3 = np.column_stack([F, F[:, 1] * 2.0])  # a third column, as an all-devices archive has
    hv, ref, front = pair_subset_hv(F3, both, 1)
    expected_front = F[nondominated(F)]
    assert sorted(map(tuple, front)) == sorted(map(tuple, expected_front)) and 0 < len(front) < len(F)
    assert ref.tolist() == reference_point(both)[0].tolist() and hv == pytest.approx(Hypervolume(ref)(expected_front)) and hv > 0
