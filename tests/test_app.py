"""Streamlit AppTest for every page, on a synthetic precomputed root (independent of precomputed/ and ../shared)."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from apptest_helpers import _app, _ok, _page
from streamlit.testing.v1 import AppTest

from ofa_dash.store import SOLUTIONS, RunStore
from ofa_dash.ui.catalogue import build_catalogue, with_accuracy
from ofa_dash.validation_queue import VALIDATION_QUEUE

pytestmark = pytest.mark.usefixtures("fresh_cache")  # exports built by other tests (same subnet) must not show as ready here


def _selection(rows) -> dict:
    """What the chart's listener reports for a box or lasso around ``rows``: their distinct subnet ids."""
    return {"selected": list(dict.fromkeys(rows["id"]))}


def _wait(at: AppTest, done, seconds: float = 240) -> AppTest:
    """Rerun (as the page's polling fragment would) until ``done(at)`` or time runs out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        at.run()
        _ok(at)
        if done(at):
            return at
        time.sleep(0.5)
    raise AssertionError("timed out waiting for the page")


# --------------------------------------------------------------------------- every page renders
@pytest.mark.parametrize(
    ("page", "title"),
    [("fronts", "Fronts"), ("subnet", "Subnet"), ("shortlist", "Shortlist"), ("search", "Search"), ("devices", "Devices & predictors")],
)
def test_every_page_renders(env, page, title):
    at = _page(page)
    if page == "subnet":
        at.query_params["subnet"] = "0000000000000000"
    at.run()
    _ok(at)
    assert at.title[0].value == title
    assert not at.error
    if page == "fronts":
        assert at.get("plotly_chart") and any("Pareto front" in c.value for c in at.caption)
    if page == "devices":
        labels = [m.label for m in at.metric]
        assert "Kendall tau" in labels and "MAPE" in labels and "held-out RMSE" in labels
    if page == "subnet":
        assert any("top-1 (predicted)" in df.value["quantity"].tolist() for df in at.dataframe if "quantity" in df.value)
        # exports are built on their buttons as background jobs; nothing is built before one is pressed
        assert [b.label for b in at.button] == [
            "Add to comparison",
            "Pin to shortlist",
            "Validate now",
            "Build ONNX (fp32)",
            "Build int8 ONNX",
            "Build TorchScript",
            "Build bundle (zip)",
            "Fine-tune",
        ]


# --------------------------------------------------------------------------- brushing -> table -> subnet page
def test_brushed_selection_fills_the_table_and_a_click_opens_the_subnet(env):
    at = _app().run()
    _ok(at)
    assert at.title[0].value == "Fronts"
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    rows = cat.points.drop_duplicates("id").iloc[[0, 5, 9]]
    at.session_state["front2d-click"] = _selection(rows)
    at.run()
    _ok(at)
    # each selected subnet once, most accurate first, with every run that found it
    assert any(s.value == "Selected subnets (3)" for s in at.subheader)
    table = next(df.value for df in at.dataframe if "Found by" in df.value)
    assert sorted(table["Subnet id"]) == sorted(rows["id"]) and table["Top-1 (%)"].is_monotonic_decreasing
    assert list(table.columns[:3]) == ["Top-1 (%)", "Source", "Latency demo-cpu (ms)"] and set(table["Source"]) == {"predicted"}
    runs = [int((cat.points["id"] == i).sum()) for i in rows["id"]]
    assert dict(zip(table["Subnet id"], table["Runs"], strict=True)) == dict(zip(rows["id"], runs, strict=True))
    assert runs[0] > 1  # the demo's first subnet was found by several runs
    assert any(c.value.startswith(f"Found {sum(runs)} times") for c in at.caption)
    assert any(b.label == "Download selection (CSV)" for b in at.get("download_button"))
    # a small box around one subnet opens it, and the id travels in the URL
    at.session_state["front2d-click"] = _selection(rows.iloc[[1]])
    at.run()
    _ok(at)
    assert at.title[0].value == "Subnet"
    assert at.query_params["subnet"] == [rows["id"].iloc[1]] or at.query_params["subnet"] == rows["id"].iloc[1]
    assert any(rows["id"].iloc[1] in s.value for s in at.subheader)


def test_a_brush_wider_than_the_table_lists_the_most_accurate_and_says_so(env, monkeypatch):
    from ofa_dash.ui import tables

    monkeypatch.setattr(tables, "LISTED_ROWS", 2)
    at = _app().run()
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    rows = cat.points.drop_duplicates("id").iloc[[0, 5, 9, 12]]
    at.session_state["front2d-click"] = _selection(rows)
    at.run()
    _ok(at)
    assert any(s.value == "Selected subnets (4)" for s in at.subheader)  # the heading counts the whole selection
    table = next(df.value for df in at.dataframe if "Found by" in df.value)
    best = with_accuracy(rows).sort_values("top1", ascending=False)["id"].iloc[:2].tolist()
    assert table["Subnet id"].tolist() == best
    assert any(c.value.startswith("The 2 most accurate of 4 are listed") for c in at.caption)


def test_constraints_come_from_the_link_and_go_back_into_it(env):
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    floor = float(cat.points["top1_pred"].median())
    at = _app()
    at.query_params.update({"space": "cifar10", "limit": f"top1>={floor:.2f}"})
    at.run()
    _ok(at)
    slider = next(s for s in at.slider if s.label == "min top-1 (%)")
    assert slider.value == pytest.approx(round(floor, 2), abs=0.01)
    assert any(re.search(r"; \d+ hidden by constraints", c.value) for c in at.caption)  # the link's limit is applied
    slider.set_value(slider.min).run()  # no limit: the link drops it
    _ok(at)
    assert "limit" not in at.query_params


def test_a_table_row_opens_the_subnet(env):
    at = _app().run()
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    rows = cat.points.drop_duplicates("id").iloc[[2, 3]]
    at.session_state["front2d-click"] = _selection(rows)
    at.run()
    at.session_state["table_2d"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    _ok(at)
    assert at.title[0].value == "Subnet"
    second = with_accuracy(rows).sort_values("top1", ascending=False)["id"].iloc[1]  # the table lists the most accurate first
    assert any(second in s.value for s in at.subheader)


def test_3d_front_lists_its_pareto_set(env):
    at = _page("fronts").run()
    at.session_state["fr_mode"] = "3D front"
    at.run()
    _ok(at)
    heading = next(s.value for s in at.subheader if s.value.startswith("3D Pareto set"))
    table = next(df.value for df in at.dataframe if "Found by" in df.value)
    assert len(table) > 0
    # one count everywhere: the heading, the caption and the table all count distinct subnets on the front
    assert heading == f"3D Pareto set ({len(table)})"
    assert any(f"({len(table)} on the 3D Pareto front)" in c.value for c in at.caption)


# --------------------------------------------------------------------------- deep links
def test_a_link_reopens_the_3d_view_on_its_axes_and_switching_views_updates_the_link(env):
    at = _app()
    at.query_params["view"] = "3d"
    at.query_params["axes"] = "params,macs"
    at.run()
    _ok(at)
    assert any(s.value.startswith("3D Pareto set") for s in at.subheader)
    assert [b.value for b in at.selectbox if b.label in ("axis 2", "axis 3")] == ["params", "macs"]
    at.sidebar.get("button_group")[0].set_value("Parallel").run()
    _ok(at)
    assert at.query_params["view"] in ("parallel", ["parallel"]) and "axes" not in at.query_params
    at.sidebar.get("button_group")[0].set_value("2D front").run()  # the page's usual view: the link names none
    _ok(at)
    assert "view" not in at.query_params


def test_a_pasted_link_reproduces_the_view(env):
    runs, _ = RunStore(env).list_runs("cifar10")
    run_id = runs[1]["run_id"]
    at = _page("fronts")
    at.query_params.update({"space": "cifar10", "device": "demo-gpu", "run": run_id})
    at.run()
    _ok(at)
    assert at.multiselect(key="sb_devices").value == ["demo-gpu"]
    assert at.multiselect(key="sb_runs").value == [run_id]
    assert any("Latency on demo-gpu" in c.value for c in at.caption)
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q == {"space": "cifar10", "device": "demo-gpu", "run": run_id}


@pytest.mark.parametrize(
    "value",
    ["[CLICK HERE](http://evil.example/login)", "![x](http://evil.example/pixel.png)", "http://evil.example/login", ":red[alarm] <b>bold</b>"],
)
def test_link_values_are_shown_as_plain_text_never_as_markdown(env, value):
    at = _page("fronts")
    at.query_params.update({"space": "cifar10", "device": value, "run": value})
    at.run()
    _ok(at)
    shown = [w.value for w in at.warning if "evil" in w.value or "alarm" in w.value]
    assert shown, [w.value for w in at.warning]
    for body in shown:
        # every bracket, parenthesis, angle bracket, "!" and ":" is escaped, so no link, image, HTML, autolink or directive forms
        assert not re.search(r"(?<!\\)[\[\]()<>!:]", body), body


# --------------------------------------------------------------------------- live validation
def test_validation_waits_its_turn_then_results_appear_everywhere(env):
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    sid = cat.points["id"].iloc[4]
    at = _page("subnet")
    at.query_params["subnet"] = sid
    at.run()
    _ok(at)
    with VALIDATION_QUEUE.turn(what="a validation started elsewhere"):
        at.button(key="val_go").click().run()
        _wait(at, lambda a: any("ahead of yours" in w.value for w in a.warning), 60)
        assert not any("started elsewhere" in w.value for w in at.warning)  # the message counts, it never names another visitor's subnet
    _wait(at, lambda a: any(s.value.startswith("Recorded") for s in a.success))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["test images"] == "50" and metrics["measured top-1"].endswith("%")
    assert at.get("plotly_chart")  # diagram, per-class bars, confusion matrix
    table = next(df.value for df in at.dataframe if "quantity" in df.value)
    assert "top-1 (measured)" in table["quantity"].tolist() and any(q.startswith("latency, measured here (") for q in table["quantity"])
    # the Fronts page shows the measurement next to the prediction
    fronts = _page("fronts")
    fronts.session_state["fr_measured"] = True  # before the first run: changing it redraws the chart, which clears a selection
    fronts.run()
    other = cat.points[cat.points["id"] != sid].iloc[:1]
    fronts.session_state["front2d-click"] = _selection(pd.concat([cat.points[cat.points["id"] == sid].iloc[:1], other]))
    fronts.run()
    _ok(fronts)
    table = next(df.value for df in fronts.dataframe if "Found by" in df.value)
    row = table[table["Subnet id"] == sid].iloc[0]
    assert row["Source"] == "measured" and row["Test images"] == 50
    assert table.loc[table["Subnet id"] != sid, "Test images"].isna().all()  # unmeasured: a blank cell


# --------------------------------------------------------------------------- robustness
def test_missing_dataset_is_explained(env, monkeypatch, tmp_path):
    monkeypatch.setenv("OFA_DASH_DATA", str(tmp_path / "no-data"))
    at = _page("subnet")
    at.query_params["subnet"] = "0000000000000000"
    at.run()
    _ok(at)
    text = " ".join(i.value for i in at.info)
    assert "download-data cifar10" in text and "no-data" in text
    assert not [b for b in at.button if b.label == "Validate now"]


def test_space_without_supernet_or_official_files_is_explained(env):
    at = _page("subnet")
    from ofa_dash.space import get_space

    at.query_params.update({"space": "ofa-mbv3-w1.2", "subnet": get_space("ofa-mbv3-w1.2").smallest().id})
    at.run()
    _ok(at)
    assert any("supernet weights" in i.value for i in at.info)
    fronts = _page("fronts")
    fronts.query_params["space"] = "ofa-mbv3-w1.2"
    fronts.run()
    _ok(fronts)
    text = " ".join(i.value for i in fronts.info)
    assert "OFA's published files" in text and "No stored search runs" in text


def test_a_corrupted_run_is_skipped_with_a_warning(env):
    runs, _ = RunStore(env).list_runs("cifar10")
    bad = runs[0]["run_id"]
    path = env / "cifar10" / "runs" / bad / SOLUTIONS
    path.write_bytes(b"garbage")
    at = _page("fronts").run()
    _ok(at)
    # warnings show file-derived text escaped (ui.text.plain); read as a visitor sees it
    assert any(bad in re.sub(r"\\(.)", r"\1", w.value) and "Skipped" in w.value for w in at.warning)
    assert at.get("plotly_chart")  # the other runs are still drawn


# --------------------------------------------------------------------------- search
def test_search_from_the_browser_joins_the_catalogue(env):
    at = _page("search").run()
    _ok(at)
    at.number_input(key="s_pop").set_value(8)
    at.number_input(key="s_gen").set_value(3)
    at.number_input(key="s_seed").set_value(7)
    next(b for b in at.button if b.label == "Start search").click().run()
    _ok(at)
    _wait(at, lambda a: any(s.value.startswith("Saved run") for s in a.success), 180)
    runs, _ = RunStore(env).list_runs("cifar10")
    assert len(runs) == 4 and any(r["seed"] == 7 and r["n_gen"] == 3 for r in runs)
    assert {m.label for m in at.metric} >= {"generation", "evaluations", "hypervolume"}
    assert len(at.multiselect(key="sb_runs").options) == 4  # the sidebar lists the new run


def test_three_sessions_asking_for_oversize_searches_get_the_limit_and_start_nothing(env, monkeypatch):
    from ofa_dash.ui import jobs

    monkeypatch.setenv("OFA_DASH_MAX_SEARCH_EVALS", "50000")
    before = len(jobs.running_jobs())
    for _ in range(3):
        at = _page("search").run()
        _ok(at)
        at.number_input(key="s_pop").set_value(2000)
        at.number_input(key="s_gen").set_value(5000)
        next(b for b in at.button if b.label == "Start search").click().run()
        _ok(at)
        assert any("larger than this server allows" in e.value for e in at.error), [e.value for e in at.error]
    assert len(jobs.running_jobs()) == before
    assert len(RunStore(env).list_runs("cifar10")[0]) == 3  # nothing was stored


def test_sidebar_choices_survive_page_changes(env):
    """Streamlit forgets a page's widgets when another page runs; the view must not."""
    at = _app().run()
    at.multiselect(key="sb_devices").set_value(["demo-gpu"]).run()
    _ok(at)
    assert at.query_params["device"] in (["demo-gpu"], "demo-gpu")
    at.switch_page("pages/search.py").run()
    _ok(at)
    assert at.title[0].value == "Search" and at.multiselect(key="sb_devices").value == ["demo-gpu"]
    at.selectbox(key="sb_space").set_value("ofa-mbv3-w1.2").run()
    _ok(at)
    at.switch_page("pages/fronts.py").run()
    _ok(at)
    assert at.selectbox(key="sb_space").value == "ofa-mbv3-w1.2"
    assert any("No stored search runs" in i.value for i in at.info)


@pytest.mark.parametrize("local", ["", "1"])
def test_visitors_cannot_point_the_server_at_other_folders_unless_in_local_mode(env, monkeypatch, local):
    monkeypatch.setenv("OFA_DASH_LOCAL", local)
    at = _page("subnet")
    at.run()
    _ok(at)
    keys = {w.key for w in at.text_input}
    if local:
        assert {"sb_official", "sb_data"} <= keys
    else:
        assert not {"sb_official", "sb_data"} & keys
        assert any("set by whoever runs this server" in c.value for c in at.caption)
