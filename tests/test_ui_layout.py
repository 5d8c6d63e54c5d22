"""Pure parts of the layout work: run-picker labels, paths on screen, default axes, presentation mode's link flag and styling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ofa_dash.ui.config import hide_absolute_paths, shown_path
from ofa_dash.ui.fronts import default_3d_axes
from ofa_dash.ui.run_picker import chosen_groups, run_groups, run_labels, seeds_label
from ofa_dash.ui.state import View, devices_by_relevance, reconcile, view_from_query, view_to_query
from ofa_dash.ui.theme import INK, PROJECTOR_FONT_SIZE, for_audience, for_projector, page_css, style


def _run(run_id, algorithm="nsga2", seed=1, objectives=("error", "latency:cpu-ort"), pop=100, gen=1000, created="2026-11-28T04:32:35+00:00", **params):
    return {
        "run_id": run_id,
        "algorithm": algorithm,
        "seed": seed,
        "objectives": list(objectives),
        "pop_size": pop,
        "n_gen": gen,
        "created": created,
        "algorithm_params": {"pop_size": pop, "n_gen": gen, "init": "random+extremes", **params},
    }


# --------------------------------------------------------------------------- run picker
@pytest.mark.parametrize(("seeds", "text"), [([4], "seed 4"), ([3, 1, 2], "seeds 1-3"), ([1, 2, 3, 7], "seeds 1-3, 7"), ([1, 3, 5, 6], "seeds 1, 3, 5-6")])
def test_seeds_collapse_into_ranges(seeds, text):
    assert seeds_label(seeds) == text


def test_seeds_of_one_setting_are_one_group_with_a_full_label():
    runs = [_run(f"n{s}", seed=s) for s in (1, 2, 3, 4, 5)] + [_run("s1", algorithm="smsemoa"), _run("small", seed=9, pop=50, gen=60)]
    groups = run_groups(runs)
    labels = [g.label for g in groups]
    assert "NSGA-II · error + latency:cpu-ort · 100×1000 · seeds 1-5" in labels
    assert "NSGA-II · error + latency:cpu-ort · 50×60 · seed 9" in labels  # another budget is another group
    assert "SMS-EMOA · error + latency:cpu-ort · 100×1000 · seed 1" in labels
    assert sorted(r for g in groups for r in g.run_ids) == sorted(r["run_id"] for r in runs)
    assert not any("2026" in label for label in labels)  # no timestamps where labels do not repeat


def test_objective_order_does_not_split_a_group_and_error_comes_first():
    runs = [_run("a", seed=1, objectives=("latency:note10", "error")), _run("b", seed=2, objectives=("error", "latency:note10"))]
    (group,) = run_groups(runs)
    assert group.label == "NSGA-II · error + latency:note10 · 100×1000 · seeds 1-2"


def test_groups_that_would_read_alike_say_what_differs_then_when_they_started():
    runs = [
        _run("r1", seed=1, init_extra="a", created="2026-11-27T23:01:00"),
        _run("r2", seed=2, init_extra="a", created="2026-11-27T23:02:00"),
        _run("e1", seed=1, init_extra="b", created="2026-11-27T23:18:00"),
        _run("e2", seed=2, init_extra="b", created="2026-11-27T23:19:00"),
        _run("again1", seed=1, init_extra="b", created="2026-11-28T04:34:00"),  # the same setting and seed run again later
        _run("again2", seed=2, init_extra="b", created="2026-11-28T04:35:00"),
    ]
    groups = run_groups(runs)
    labels = [g.label for g in groups]
    assert len(set(labels)) == len(labels) == 3
    assert any("init extra a" in label and "from" not in label for label in labels)  # the differing setting tells it apart
    b_labels = sorted(label for label in labels if "init extra b" in label)
    assert b_labels == [
        "NSGA-II · error + latency:cpu-ort · 100×1000 · init extra b · from 2026-11-27 23:18 · seeds 1-2",
        "NSGA-II · error + latency:cpu-ort · 100×1000 · init extra b · from 2026-11-28 04:34 · seeds 1-2",
    ]
    per_run = run_labels(groups, runs)
    assert len(set(per_run.values())) == len(runs)  # every single run has its own label
    assert per_run["e2"].endswith("· seed 2")


def test_counts_in_algorithm_params_do_not_split_seeds():
    runs = [_run(f"o{s}", algorithm="ofa-evolution", seed=s, n_rejected=1000 * s) for s in (1, 2)]
    (group,) = run_groups(runs)
    assert group.label == "OFA evolution · error + latency:cpu-ort · 100×1000 · seeds 1-2"


def test_chosen_groups_are_those_with_a_chosen_run():
    runs = [_run("n1"), _run("n2", seed=2), _run("s1", algorithm="smsemoa")]
    groups = run_groups(runs)
    assert chosen_groups(groups, None) == groups
    assert [g.run_ids for g in chosen_groups(groups, ["n2"])] == [("n1", "n2")]


# --------------------------------------------------------------------------- paths on screen
def test_paths_show_relative_to_the_repository_or_by_name(tmp_path):
    repo = tmp_path / "work" / "ofa-dash"
    assert shown_path(repo / "precomputed" / "cifar10" / "runs", repo) == "precomputed/cifar10/runs"
    assert shown_path(tmp_path / "work" / "shared" / "ofa-official", repo) == "../shared/ofa-official"
    assert shown_path(Path("/srv/elsewhere/datasets/cifar10"), repo) == "cifar10"
    assert shown_path("data/cifar10", repo) == "data/cifar10"
    assert shown_path(None, repo) == "" and shown_path(repo, repo) == "."


def test_messages_lose_their_absolute_paths_but_keep_urls_and_units(tmp_path):
    repo = tmp_path / "ofa-dash"
    text = f"run x: {repo}/precomputed/cifar10/runs/x/solutions.parquet is damaged; profile /srv/data/devices/my-cpu.json skipped; 3 ms/subnet; see https://example.org/a/b"
    out = hide_absolute_paths(text, repo)
    assert str(tmp_path) not in out and "/srv" not in out
    assert "precomputed/cifar10/runs/x/solutions.parquet" in out and "profile my-cpu.json skipped" in out
    assert "3 ms/subnet" in out and "https://example.org/a/b" in out


# --------------------------------------------------------------------------- default axes
def test_the_device_the_runs_searched_on_comes_first_among_devices_with_a_table():
    runs = [_run("a", objectives=("error", "latency:note10")), _run("b", objectives=("error", "latency:note10", "latency:cpu-ort"))]
    assert devices_by_relevance(["cpu-ort", "note10"], runs, {"cpu-ort", "note10"}) == ["note10", "cpu-ort"]
    # without the official files note10 has no table, only values runs stored: a device with a table goes first
    assert devices_by_relevance(["cpu-ort", "note10"], runs, {"cpu-ort"}) == ["cpu-ort", "note10"]
    assert devices_by_relevance(["b", "a"], [], {"a", "b"}) == ["b", "a"]  # no runs: the given order


def test_a_link_without_devices_opens_on_the_preferred_devices():
    view, _ = reconcile(View(space="ofa-mbv3-w1.2"), ["cpu-ort", "note10"], [], preferred=["note10", "cpu-ort"])
    assert view.devices == ["note10", "cpu-ort"]
    linked, _ = reconcile(View(space="ofa-mbv3-w1.2", devices=["cpu-ort"]), ["cpu-ort", "note10"], [], preferred=["note10", "cpu-ort"])
    assert linked.devices == ["cpu-ort"]  # a link's choice stays


def test_3d_axes_default_to_the_least_rank_correlated_pair():
    rng = np.random.default_rng(0)
    n = 200
    cpu = rng.random(n)
    points = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "latency:cpu": cpu,
            "latency:cpu-int8": cpu * 0.5 + rng.normal(0, 0.01, n),  # nearly the same ranking
            "macs": cpu * 3 + rng.normal(0, 0.05, n),
            "params": rng.random(n),  # independent
        }
    )
    points = pd.concat([points, points.iloc[:50]])  # subnets found by several runs count once
    first, second = default_3d_axes(points, ["latency:cpu", "latency:cpu-int8", "macs", "params"])
    assert second == "params" and first in {"latency:cpu", "latency:cpu-int8", "macs"}
    # a constant axis says nothing: skipped; too few usable axes: the first two
    assert default_3d_axes(points.assign(params=1.0), ["latency:cpu", "params", "macs"]) == ("latency:cpu", "macs")
    assert default_3d_axes(points.iloc[:2], ["latency:cpu", "macs", "params"]) == ("latency:cpu", "macs")


# --------------------------------------------------------------------------- presentation mode
def test_present_travels_in_the_link_and_survives_reconcile():
    view = view_from_query({"space": "cifar10", "present": "1", "subnet": "ABC"})
    assert view.present and view_to_query(view)["present"] == "1"
    assert "present" not in view_to_query(View())
    assert not view_from_query({"present": "0"}).present
    kept, _ = reconcile(view, ["demo-cpu"], [])
    assert kept.present


def test_projector_figures_have_larger_ink_axis_labels():
    fig = style(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    assert fig.layout.xaxis.tickfont.color == INK and fig.layout.yaxis.title.font.color == INK  # darker than the chart theme's grey, always
    normal_tick = fig.layout.xaxis.tickfont.size
    assert for_audience(fig, False) is fig and fig.layout.xaxis.tickfont.size == normal_tick
    big = for_projector(fig)
    assert big.layout.xaxis.tickfont.size > normal_tick and big.layout.font.size == PROJECTOR_FONT_SIZE
    assert big.layout.yaxis.title.font.size > PROJECTOR_FONT_SIZE and big.layout.xaxis.linewidth == 2
    below = style(go.Figure(go.Scatter(x=[1], y=[2])))
    below.update_layout(legend={"y": -0.14}, margin={"b": 140})
    below = for_projector(below)
    assert below.layout.legend.y < -0.14 and below.layout.margin.b > 140  # a legend under the plot clears the larger axis title
    scene = for_projector(style(go.Figure(go.Scatter3d(x=[1], y=[2], z=[3]))))
    assert scene.layout.scene.zaxis.tickfont.color == INK and scene.layout.scene.zaxis.tickfont.size > normal_tick


def test_presentation_css_hides_the_toolbar_only_in_presentation_mode():
    assert "stToolbar" in page_css(True) and "stToolbar" not in page_css(False)
    assert page_css(False).startswith("<style>") and page_css(True).endswith("</style>")
