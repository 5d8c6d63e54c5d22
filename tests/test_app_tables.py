"""AppTest: the Search page compares runs of one budget and says what it left out; tables read as documented."""

from __future__ import annotations

from apptest_helpers import _ok, _page

from ofa_dash.hardware import load_devices
from ofa_dash.predictors import load_predictor
from ofa_dash.search.objectives import Objectives
from ofa_dash.search.run import RunSpec, run_search
from ofa_dash.space import get_space
from ofa_dash.store import RunStore


def _add_runs(root, runs, params: dict | None = None) -> None:
    """Save more demo searches: (algorithm, seed, population, generations) each, in the demo's protocol (no local search) unless ``params`` say otherwise."""
    space = get_space("cifar10")
    objectives = Objectives(space, ("error", "latency:demo-cpu"), load_predictor(space, precomputed_dir=root), load_devices(space, precomputed_dir=root))
    store = RunStore(root)
    for algorithm, seed, pop, gens in runs:
        store.save(
            run_search(
                RunSpec(
                    space.name,
                    algorithm,
                    objectives.names,
                    pop_size=pop,
                    n_gen=gens,
                    seed=seed,
                    params=dict({"local_search": "none"} if params is None else params),
                ),
                objectives=objectives,
                precomputed_dir=root,
            )
        )


def test_compare_keeps_a_small_user_run_and_a_repeated_seed_out_of_the_seeds(env):
    # the demo holds nsga2 seeds 1 and 2 and smsemoa seed 1 at 16 x 6; add seed 1 again, and a user run of another budget
    _add_runs(env, [("nsga2", 1, 16, 6), ("nsga2", 3, 8, 3)])
    at = _page("search").run()
    _ok(at)
    choice = at.selectbox(key="cmp_cifar10")
    assert "16 x 6" in choice.value and len(choice.options) == 2
    caption = next(c.value for c in at.caption if "compared" in c.value)
    assert caption.startswith("3 run(s) compared")
    assert "1 run left to other groups" in caption and "8 x 3" in caption
    assert "1 older run of a repeated seed left out" in caption and "nsga2 seed 1" in caption
    table = next(df.value for df in at.dataframe if "HV mean" in df.value).set_index("algorithm")
    assert table.loc["nsga2", "runs"] == 2 and table.loc["nsga2", "seeds"] == "1, 2"
    assert table.loc["nsga2", "evaluations"] == table.loc["smsemoa", "evaluations"]  # one budget per comparison


def test_a_run_with_local_search_is_compared_only_with_its_own_kind(env):
    """Local search spends orders of magnitude more evaluations per generation: such runs form their own group."""
    _add_runs(env, [("nsga2", 5, 16, 6)], params={})  # today's default: NSGA-II with the Pareto local search
    at = _page("search").run()
    _ok(at)
    options = at.selectbox(key="cmp_cifar10").options
    assert any("· 16 x 6 with pareto local search (population x generations)" in o for o in options)
    caption = next(c.value for c in at.caption if "compared" in c.value)
    assert caption.startswith("3 run(s) compared") and "16 x 6 with pareto local search" in caption  # the plain runs stay together


def test_subnet_tables_leave_missing_figures_blank(env):
    at = _page("fronts")
    at.session_state["fr_mode"] = "3D front"
    at.run()
    _ok(at)
    table = next(df for df in at.dataframe if "Found by" in df.value)
    assert table.proto.placeholder == ""  # a subnet without a measurement shows a blank cell, not "None"
    assert table.value["Subnet id"].notna().all() and table.value.columns[0] == "Top-1 (%)"
