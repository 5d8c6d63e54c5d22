"""Pure builders behind the dashboard: catalogue, Pareto flags, constraints, decision aids, figures, URL state."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from ofa_dash import decision as decision_aids
from ofa_dash.space import get_space
from ofa_dash.store import SOLUTIONS, RunStore
from ofa_dash.testing.demo import DEMO_VERSION, ensure_demo
from ofa_dash.ui import figures
from ofa_dash.ui.catalogue import (
    Constraints,
    apply_constraints,
    build_catalogue,
    genome_strings,
    genomes_of,
    pareto_mask,
    selection_table,
    store_fingerprint,
    with_accuracy,
)
from ofa_dash.ui.comparison import comparison_groups, final_hv_table, hv_curves
from ofa_dash.ui.config import resolve_settings
from ofa_dash.ui.devices_view import device_reports, predictor_quality
from ofa_dash.ui.fronts import front_view, rows_for_ids, slider_range
from ofa_dash.ui.state import View, reconcile, view_from_query, view_to_query
from ofa_dash.ui.subnet_view import objectives_table, predicted_payload

CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The synthetic precomputed root (built once per test session, shared read-only)."""
    root, _ = ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")
    return root


@pytest.fixture
def demo_copy(demo, tmp_path):
    """A private copy for tests that write to the store."""
    return shutil.copytree(demo, tmp_path / "precomputed")


# --------------------------------------------------------------------------- catalogue
def test_catalogue_has_every_column_with_sources(demo):
    cat = build_catalogue(demo, "cifar10")
    p = cat.points
    assert len(cat.runs) == 3 and cat.problems == []
    assert {"run_id", "algorithm", "seed", "set", "id", "genome", "top1_pred", "top1_pred_source", "macs", "params", "peak_mem"} <= set(p.columns)
    assert {"latency:demo-cpu", "latency:demo-gpu"} <= set(p.columns)
    assert set(p["algorithm"]) == {"nsga2", "smsemoa"} and set(p["set"]) <= {"final", "archive"}
    # accuracy comes from each run's own error objective, and says so
    assert p["top1_pred_source"].str.contains("run objective").all()
    run = RunStore(demo).load(p["run_id"].iloc[0], "cifar10")
    arch = run.frame("archive").iloc[0]
    row = p[(p["run_id"] == run.run_id) & (p["id"] == arch["arch_id"])].iloc[0]
    assert row["top1_pred"] == pytest.approx(100 - arch["error"])
    assert row["latency:demo-cpu"] == pytest.approx(arch["latency:demo-cpu"], rel=1e-6)
    # counters agree with the space's own counter
    from ofa_dash.hardware import count

    g = genomes_of([row["genome"]])
    assert row["macs"] == pytest.approx(count(CIFAR, g)["macs"][0] * 1e-6)
    assert cat.devices["demo-cpu"].estimated and "Kendall tau" in cat.devices["demo-cpu"].source
    assert cat.supernet_version == DEMO_VERSION
    # no duplicate (run, subnet) rows even though final and archive overlap
    assert not p.duplicated(["run_id", "id"]).any()


def test_genome_strings_round_trip():
    g = CIFAR.sample_genomes(5, seed=3)
    assert np.array_equal(genomes_of(genome_strings(g)), g)


def test_catalogue_skips_a_corrupted_run_and_reports_it(demo_copy):
    store = RunStore(demo_copy)
    entries, _ = store.list_runs("cifar10")
    bad = entries[0]["run_id"]
    path = store.runs_dir("cifar10") / bad / SOLUTIONS
    path.write_bytes(path.read_bytes()[:100])
    cat = build_catalogue(demo_copy, "cifar10")
    assert bad not in set(cat.points["run_id"])
    assert len(cat.runs) == 2
    assert any(bad in line and "corrupted" in line for line in cat.problems)


def test_catalogue_merges_live_measurements(demo_copy):
    cat = build_catalogue(demo_copy, "cifar10")
    sid = cat.points["id"].iloc[0]
    store = RunStore(demo_copy)
    store.record_measurement("cifar10", {"arch": sid, "supernet_version": DEMO_VERSION, "top1": 41.0, "top5": 80.0, "n_images": 100, "latency_ms": 0.3})
    store.record_measurement("cifar10", {"arch": sid, "supernet_version": DEMO_VERSION, "top1": 42.5, "top5": 81.0, "n_images": 10000, "latency_ms": 0.31})
    store.record_measurement("cifar10", {"arch": sid, "supernet_version": "older-weights", "top1": 99.0, "top5": 99.0, "n_images": 10000})
    cat = build_catalogue(demo_copy, "cifar10")
    row = cat.points[cat.points["id"] == sid].iloc[0]
    assert row["top1_measured"] == 42.5 and row["measured_images"] == 10000  # most images wins; other supernets ignored
    shown = with_accuracy(cat.points, prefer_measured=True)
    assert shown.loc[shown["id"] == sid, "top1"].iloc[0] == 42.5
    assert shown.loc[shown["id"] == sid, "top1_source"].iloc[0].startswith("measured")
    assert with_accuracy(cat.points).loc[shown["id"] == sid, "top1_source"].iloc[0].startswith("predicted")


def test_fingerprint_changes_when_a_file_changes(demo_copy):
    before = store_fingerprint(demo_copy, "cifar10")
    RunStore(demo_copy).record_measurement("cifar10", {"arch": "0000000000000000", "supernet_version": DEMO_VERSION, "top1": 10.0, "n_images": 5})
    assert store_fingerprint(demo_copy, "cifar10") != before


def test_catalogue_without_runs_or_predictor_explains(tmp_path):
    cat = build_catalogue(tmp_path, "ofa-mbv3-w1.2")
    assert len(cat.points) == 0 and cat.runs == []


# --------------------------------------------------------------------------- Pareto and constraints
def _brute_force_front(F: np.ndarray) -> np.ndarray:
    n = len(F)
    dominated = np.zeros(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if np.all(F[j] <= F[i]) and np.any(F[j] < F[i]):
                dominated[i] = True
    return ~dominated


@pytest.mark.parametrize("n_obj", [2, 3])
def test_pareto_mask_matches_brute_force(n_obj):
    rng = np.random.default_rng(n_obj)
    df = pd.DataFrame({"top1": rng.uniform(60, 90, 60), "a": rng.uniform(1, 10, 60), "b": rng.uniform(1, 10, 60)})
    cols = ["top1", "a", "b"][:n_obj]
    F = np.column_stack([-df["top1"], df["a"], df["b"]])[:, :n_obj]
    assert np.array_equal(pareto_mask(df, cols), _brute_force_front(F))


def test_pareto_mask_ignores_rows_with_missing_values():
    df = pd.DataFrame({"top1": [80.0, 90.0, np.nan], "a": [1.0, 2.0, 0.1]})
    assert pareto_mask(df, ["top1", "a"]).tolist() == [True, True, False]


def test_constraints_filter_every_limit():
    df = pd.DataFrame({"top1": [70.0, 80.0, 90.0], "latency:x": [1.0, 2.0, 3.0], "macs": [5.0, 10.0, 20.0], "params": [1.0, 2.0, 3.0]})
    assert len(apply_constraints(df, Constraints())) == 3
    assert apply_constraints(df, Constraints(max_latency={"latency:x": 2.5}))["top1"].tolist() == [70.0, 80.0]
    assert apply_constraints(df, Constraints(min_top1=75, max_macs=15))["top1"].tolist() == [80.0]
    assert apply_constraints(df, Constraints(max_params=1.5))["top1"].tolist() == [70.0]


def test_front_view_filters_then_flags_and_marks(demo):
    cat = build_catalogue(demo, "cifar10", sets=("archive",))
    cols = ["top1", "latency:demo-cpu"]
    full = front_view(cat.points, cols, weights=[0.5, 0.5], reference=[80.0, 0.3])
    assert full.hidden == 0 and full.df["pareto"].any()
    for rows in full.marks.values():
        assert all(full.df["pareto"].iloc[r] for r in rows)  # every decision aid sits on the front
    assert {"pseudo-weights", "reference point"} <= set(full.marks)
    limit = float(full.df["latency:demo-cpu"].median())
    cut = front_view(cat.points, cols, Constraints(max_latency={"latency:demo-cpu": limit}))
    assert cut.hidden > 0 and (cut.df["latency:demo-cpu"] <= limit).all()
    assert len(cut.df) + cut.hidden == len(full.df)


def test_rows_for_ids_keeps_selection_order_and_every_run():
    df = pd.DataFrame({"id": ["a", "b", "c", "a"], "run_id": ["r", "r", "s", "s"], "v": [1, 2, 3, 4]})
    assert rows_for_ids(df, ["c", "a", "zz"])["v"].tolist() == [3, 1, 4]
    assert len(rows_for_ids(df, [])) == 0


def test_slider_range_rounds_outwards():
    lo, hi = slider_range(pd.Series([0.213, 0.947]))
    assert lo <= 0.213 and hi >= 0.947
    assert slider_range(pd.Series([1.0, 1.0])) is None
    assert slider_range(pd.Series([np.nan])) is None


# --------------------------------------------------------------------------- decision aids
def _knee_front() -> np.ndarray:
    # accuracy (negated) against cost: steep gains up to cost 3, then almost flat -> knee at index 3
    cost = np.array([1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 9.0, 11.0])
    acc = np.array([60.0, 70.0, 78.0, 88.0, 88.6, 89.0, 89.3, 89.5])
    return np.column_stack([-acc, cost])


def test_knee_point_is_where_the_front_bends():
    F = _knee_front()
    knees = decision_aids.knee_points(F)
    assert 3 in knees.tolist()
    assert decision_aids.knee_points(F[:2]).size == 0


def test_pseudo_weights_pick_extremes():
    F = _knee_front()
    assert decision_aids.pseudo_weight_pick(F, [1.0, 0.0]) == int(np.argmin(F[:, 0]))  # all on accuracy: the most accurate
    assert decision_aids.pseudo_weight_pick(F, [0.0, 1.0]) == int(np.argmin(F[:, 1]))  # all on cost: the cheapest
    with pytest.raises(ValueError, match="weights"):
        decision_aids.pseudo_weight_pick(F, [0.0, 0.0])


def test_asf_pick_goes_to_the_point_nearest_the_aspiration():
    F = _knee_front()
    for i in (0, 3, 7):
        assert decision_aids.asf_pick(F, F[i]) == i
    assert decision_aids.asf_pick(F, [-100.0, 0.0]) in range(len(F))
    with pytest.raises(ValueError, match="reference point"):
        decision_aids.asf_pick(F, [1.0])


# --------------------------------------------------------------------------- figures and selections
def test_front_figure_puts_subnet_ids_in_customdata(demo):
    cat = build_catalogue(demo, "cifar10", sets=("archive",))
    view = front_view(cat.points, ["top1", "latency:demo-cpu"], weights=[0.5, 0.5])
    refs = pd.DataFrame({"x": [0.2], "y": [70.0], "label": ["ref"], "hover": ["published"]})
    fig = figures.front_2d(view.df, "latency:demo-cpu", ["demo-cpu", "demo-gpu"], marks=view.marks, references=refs, aspiration=(0.3, 80.0))
    ids = set(view.df["id"])
    subnet_traces = [t for t in fig.data if t.customdata is not None]
    # one marker per subnet (the copies other seeds and algorithms found lie under it), or a faded one standing for
    # the dominated subnets at the same spot: every subnet is drawn or listed exactly once
    drawn = view.df.drop_duplicates("id")
    shown = [row[0] for t in subnet_traces if "(Pareto)" in t.name or "(dominated)" in t.name for row in t.customdata]
    listed = [i for t in subnet_traces if t.meta for row in t.customdata for i in str(row[t.meta[figures.ALSO]]).split()]
    assert sorted(shown + listed) == sorted(drawn["id"]) and len(shown) == len(set(shown))
    for t in subnet_traces:
        assert {row[0] for row in t.customdata} <= ids
        assert "%{customdata[0]}" in t.hovertemplate and "latency on demo-cpu" in t.hovertemplate  # the plotted latency only
    names = [t.name for t in fig.data]
    assert "Pareto front (all chosen runs)" in names and "pseudo-weights pick" in names and "your reference point" in names
    assert fig.layout.dragmode == "select"
    assert fig.layout.margin.autoexpand is False and fig.layout.margin.b >= 140  # fixed room for the legend: plotly draws the markers once
    step = next(t for t in fig.data if t.name == "Pareto front (all chosen runs)")
    assert np.all(np.diff(np.asarray(step.x)) >= 0) and np.all(np.diff(np.asarray(step.y)) >= 0)
    fig3 = figures.front_3d(view.df, "latency:demo-cpu", "macs", "top1", ["demo-cpu"], pareto="pareto")
    assert sum(len(t.x) for t in fig3.data) == len(drawn)


def test_dominated_markers_at_one_spot_are_drawn_once_and_stand_for_the_others():
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "x": [1.0, 1.0001, 1.0002, 2.0, 1.0],
            "y": [50.0, 50.0, 50.0001, 80.0, 50.0],
        }
    )
    dominated = np.array([True, True, True, True, False])  # e is on the front: never thinned
    kept, stands_for = figures.thin_dominated(df, "x", "y", dominated, grid=400)
    assert kept["id"].tolist() == ["c", "d", "e"] and kept.index.tolist() == [2, 3, 4]  # the last drawn of a cell stays
    assert stands_for == {"c": "a b"}
    kept, stands_for = figures.thin_dominated(df, "x", "y", dominated, grid=100_000)
    assert len(kept) == 5 and stands_for == {}  # a grid fine enough keeps every marker
    assert figures.thin_dominated(df, "x", "y", np.zeros(5, bool))[0] is df


def test_quality_and_validation_figures():
    fig = figures.estimate_vs_measured(np.array([1.0, 2.0]), np.array([1.1, 1.9]), ["validation", "calibration"], "ms", "t")
    assert [t.name for t in fig.data] == ["validation", "calibration", "y = x"]
    bars = figures.per_class_bars({"cat": 50.0, "dog": None})
    assert list(bars.data[0].x) == ["cat", "dog"]
    heat = figures.confusion_heatmap([[3, 1], [0, 4]], ["cat", "dog"])
    assert np.asarray(heat.data[0].z).sum() == 8


# --------------------------------------------------------------------------- comparison
def test_hv_curves_mean_and_spread_over_seeds():
    h = pd.DataFrame(
        {
            "algorithm": ["a"] * 6 + ["b"] * 3,
            "run_id": ["a1"] * 3 + ["a2"] * 3 + ["b1"] * 3,
            "n_evals": [10, 20, 30] * 3,
            "hv": [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 1.0, 1.0, 1.0],
        }
    )
    c = hv_curves(h, points=3)
    a = c[c["algorithm"] == "a"]
    assert a["mean"].tolist() == [2.0, 3.0, 4.0] and a["std"].tolist() == [1.0, 1.0, 1.0] and a["n_runs"].iloc[0] == 2
    assert (c[c["algorithm"] == "b"]["std"] == 0).all()


def test_final_hv_table_and_groups(demo):
    entries, _ = RunStore(demo).list_runs("cifar10")
    groups = comparison_groups(entries)
    assert len(groups) == 1 and len(next(iter(groups.values())).runs) == 3
    table = final_hv_table(entries)
    assert table.set_index("algorithm").loc["nsga2", "runs"] == 2
    assert table["HV mean"].is_monotonic_decreasing


# --------------------------------------------------------------------------- URL state
def test_query_params_round_trip():
    view = View("ofa-mbv3-w1.2", ["note10", "epyc-ort-fp32"], ["nsga2-latency-note10+error-s1-x", "smsemoa-a"], "0000000000000000")
    q = view_to_query(view)
    assert q == {"space": "ofa-mbv3-w1.2", "device": "note10,epyc-ort-fp32", "run": "nsga2-latency-note10+error-s1-x,smsemoa-a", "subnet": "0000000000000000"}
    assert view_from_query(q) == view
    # a hand-typed URL turns '+' into a space; run ids never hold spaces
    assert view_from_query({**q, "run": "nsga2-latency-note10 error-s1-x"}).runs == ["nsga2-latency-note10+error-s1-x"]
    assert view_to_query(View("cifar10")) == {"space": "cifar10"}
    assert view_from_query({"space": "no-such-space"}).space == "cifar10"


def test_the_fronts_view_and_its_3d_axes_round_trip_and_bad_values_drop():
    view = View("cifar10", mode="3d", axes3d=["latency:cpu-ort", "macs"])
    q = view_to_query(view)
    assert (q["view"], q["axes"]) == ("3d", "latency:cpu-ort,macs") and view_from_query(q) == view
    assert view_from_query({"view": "PARALLEL"}).mode == "parallel"
    assert view_from_query({"view": "4d", "axes": "macs"}) == View("cifar10")  # unknown view, one axis: both dropped
    assert view_from_query({"axes": "macs,macs"}).axes3d == []  # two axes must differ
    assert "view" not in view_to_query(View("cifar10"))


def test_constraints_travel_in_the_link_and_nothing_else_does():
    from ofa_dash.ui.catalogue import Constraints

    c = Constraints({"latency:cpu-ort": 0.3}, min_top1=78.5, max_macs=50.0)
    assert c.to_query() == "latency:cpu-ort<=0.3,top1>=78.5,macs<=50"
    assert Constraints.from_query(c.to_query()) == c and Constraints().to_query() == ""
    hostile = "top1>=1e9,__import__('os'),latency:x;rm -rf<=1,params>=2,macs<=-1,top1<=70," + "macs<=1," * 100
    parsed = Constraints.from_query(hostile)
    assert parsed.min_top1 is None and parsed.max_params is None and parsed.max_latency == {} and parsed.max_macs == 1.0
    view = view_from_query({"space": "cifar10", "limit": "top1>=78,bogus"})
    assert view.limits == "top1>=78" and view_to_query(view)["limit"] == "top1>=78"


def test_reconcile_drops_what_is_not_there():
    view = View("cifar10", ["gone", "demo-cpu"], ["r1", "zz"], "not-an-id!")
    fixed, notes = reconcile(view, ["demo-cpu", "demo-gpu"], ["r1", "r2"], CIFAR)
    assert fixed.devices == ["demo-cpu"] and fixed.runs == ["r1"] and fixed.subnet is None
    assert len(notes) == 3
    assert reconcile(View("cifar10"), ["a", "b", "c"], [], CIFAR)[0].devices == ["a", "b"]
    assert reconcile(View("cifar10", runs=["r1", "r2"]), [], ["r1", "r2"], CIFAR)[0].runs is None  # all runs: no list in the URL


def test_settings_from_environment(tmp_path):
    s = resolve_settings(environ={"OFA_DASH_PRECOMPUTED": str(tmp_path), "OFA_DASH_OFFICIAL": str(tmp_path / "nope"), "OFA_DASH_DATA": str(tmp_path)})
    assert s.precomputed == tmp_path.resolve() and s.official is None and s.data == tmp_path.resolve()
    assert resolve_settings(official=str(tmp_path), environ={}).official == tmp_path.resolve()


# --------------------------------------------------------------------------- subnet and devices pages
def test_objectives_table_names_every_source(demo):
    cat = build_catalogue(demo, "cifar10")
    row = cat.points.iloc[[0]]
    arch = CIFAR.arch_from_id(row["id"].iloc[0])
    from ofa_dash.hardware import load_devices

    devices = load_devices(CIFAR, precomputed_dir=demo)
    measured = {"top1": 33.0, "top5": 70.0, "n_images": 50, "latency_ms": 0.2, "subset": "test (all 50 images)", "supernet_version": DEMO_VERSION}
    table = objectives_table(CIFAR, arch, None, devices, row, cat.devices, measured)
    q = dict(zip(table["quantity"], table["source"], strict=True))
    assert q["top-1 (predicted)"].startswith("predicted") and q["top-1 (measured)"].startswith("measured")
    assert "demo-cpu table" in q["latency, lookup-table estimate (demo-cpu)"] and "latency, measured here (this machine, one round, load not checked)" in q
    assert table.loc[table["quantity"] == "top-1 (predicted)", "value"].iloc[0] == pytest.approx(row["top1_pred"].iloc[0], abs=1e-3)
    payload = predicted_payload(table, arch)
    assert set(payload["latency_ms"]) == {"demo-cpu", "demo-gpu"} and payload["macs"] > 1e6


def test_device_and_predictor_reports(demo, tmp_path):
    reports = {r.name: r for r in device_reports(CIFAR, demo, None)}
    assert set(reports) == {"demo-cpu", "demo-gpu"}
    rep = reports["demo-cpu"]
    assert rep.problem is None and rep.quality["n_validation"] == 18 and len(rep.points) == 30
    assert set(rep.points["split"]) == {"calibration", "validation"}
    from ofa_dash.predictors import load_predictor

    pq = predictor_quality(CIFAR, demo, None, load_predictor(CIFAR, precomputed_dir=demo))
    assert pq.report["n_measured"] == 48 and len(pq.points) == 12
    assert np.corrcoef(pq.points["measured"], pq.points["predicted"])[0, 1] > 0.8
    # a broken profile is reported, not raised
    broken = shutil.copytree(demo, tmp_path / "p")
    (broken / "cifar10" / "devices" / "demo-gpu.json").write_text("{not json")
    reports = {r.name: r for r in device_reports(CIFAR, broken, None)}
    assert reports["demo-gpu"].problem and "JSON" in reports["demo-gpu"].problem
    cat = build_catalogue(broken, "cifar10")
    assert any("demo-gpu" in p for p in cat.problems) and "demo-gpu" not in cat.devices


def test_selection_table_columns(demo):
    cat = build_catalogue(demo, "cifar10")
    table = selection_table(with_accuracy(cat.points.head(4)), ["demo-cpu", "demo-gpu"])
    assert list(table.columns[:5]) == ["id", "top1", "top1_source", "latency:demo-cpu", "latency:demo-gpu"]
    assert len(table) == 4


def test_hover_keeps_what_a_trace_shares_out_of_customdata(demo):
    """Shared text goes into the template once; customdata holds the id and only what varies per point; the long source stays out."""
    cat = build_catalogue(demo, "cifar10", sets=("archive",))
    view = front_view(cat.points, ["top1", "latency:demo-cpu"])
    fig = figures.front_2d(view.df, "latency:demo-cpu", ["demo-cpu"])
    source = str(view.df["top1_source"].iloc[0])
    assert view.df["top1_source"].nunique() == 1
    for t in fig.data:
        if t.customdata is None:
            continue
        assert "(predicted)" in t.hovertemplate and source not in t.hovertemplate
        assert all(source not in map(str, row) for row in t.customdata)
        assert len(t.customdata[0]) <= 3  # id, and top-1 tag and MACs where they vary (the axes are plotly's own x and y)


def test_one_marker_per_subnet_keeps_the_copy_drawn_on_top():
    part = pd.DataFrame(
        {
            "id": ["a", "b", "a", "a", "c"],
            "algorithm": ["spea2", "nsga2", "nsga2", "spea2", "agemoea"],
            "seed": [3, 1, 1, 1, 2],
            "top1": [70.0, 71.0, 70.0, 70.0, 69.0],
        }
    )
    drawn = figures.one_marker_per_subnet(part)
    assert sorted(drawn["id"]) == ["a", "b", "c"]
    # "a" goes to spea2, the trace drawn last (algorithms in sorted order), as its marker covered nsga2's before
    assert dict(zip(drawn["id"], drawn["algorithm"], strict=True)) == {"a": "spea2", "b": "nsga2", "c": "agemoea"}
    assert set(drawn.index) <= set(part.index) and drawn.loc[drawn["id"] == "a"].index[0] in (0, 3)  # labels kept: the Pareto mask indexes by them


def test_significant_keeps_six_digits_of_the_largest_value():
    assert figures.significant(pd.Series([0.169916071682, 0.9])).tolist() == [0.169916, 0.9]
    assert figures.significant(pd.Series([69.7430648803711, 80.0])).tolist() == [69.7431, 80.0]
    assert np.isnan(figures.significant(pd.Series([np.nan, 12345678.9])))[0]


def test_distinct_subnets_lists_each_subnet_once_with_its_runs():
    from ofa_dash.ui.fronts import distinct_subnets

    rows = pd.DataFrame({"id": ["b", "a", "b", "b"], "algorithm": ["spea2", "nsga2", "nsga2", "spea2"], "seed": [2, 1, 1, 2], "top1": [1.0, 2.0, 1.0, 1.0]})
    out = distinct_subnets(rows)
    assert out["id"].tolist() == ["b", "a"]
    assert out["found_by"].tolist() == ["nsga2 s1, spea2 s2", "nsga2 s1"] and out["runs"].tolist() == [3, 1]
    table = selection_table(out, [])
    assert list(table.columns[-2:]) == ["found_by", "runs"] and "run_id" not in table
