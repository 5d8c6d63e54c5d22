"""AppTests of the layout: the Fronts page's controls in the sidebar, the grouped run picker, presentation mode, no absolute paths."""

from __future__ import annotations

import pytest
from apptest_helpers import _app, _ok, _page
from streamlit.testing.v1 import AppTest

from ofa_dash.store import RunStore
from ofa_dash.ui.catalogue import build_catalogue

TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")


def _query(at: AppTest) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def _texts(at: AppTest) -> list[str]:
    return [str(e.value) for kind in TEXT_ELEMENTS for e in at.get(kind)]


def test_the_fronts_controls_live_in_the_sidebar_and_the_chart_follows_one_caption(env):
    at = _page("fronts").run()
    _ok(at)
    side_keys = {w.key for kind in ("selectbox", "toggle", "multiselect", "checkbox", "slider") for w in at.sidebar.get(kind)}
    assert {"fr_measured", "fr_sets", "fr_knee", "fr_pw", "fr_w"} <= side_keys
    assert any(k.startswith("fr_x_") for k in side_keys)  # the latency axis picker
    main_widgets = [w.key for kind in ("selectbox", "toggle", "multiselect", "checkbox", "slider", "segmented_control") for w in at.main.get(kind)]
    assert not [k for k in main_widgets if k and k.startswith("fr_")]
    # one short caption line; the sources are in the popover
    captions = [c.value for c in at.main.caption]
    assert any("on the Pareto front" in c and "Accuracy" not in c for c in captions)
    assert any(c.startswith("Accuracy: ") for c in captions)
    assert at.get("plotly_chart")


def test_runs_are_picked_by_group_and_the_link_names_the_runs(env):
    runs, _ = RunStore(env).list_runs("cifar10")
    nsga2 = sorted(r["run_id"] for r in runs if r["algorithm"] == "nsga2")
    at = _page("fronts").run()
    _ok(at)
    picker = at.multiselect(key="sb_run_groups")
    labels = [picker.format_func(o) for o in picker.options]
    assert sorted(labels) == ["NSGA-II · error + latency:demo-cpu · 16×6 · seeds 1-2", "SMS-EMOA · error + latency:demo-cpu · 16×6 · seed 1"]
    key = next(o for o in picker.options if picker.format_func(o).startswith("NSGA-II"))
    picker.set_value([key]).run()
    _ok(at)
    assert sorted(_query(at)["run"].split(",")) == nsga2
    assert sorted(at.multiselect(key="sb_runs").value) == nsga2  # the single-run picker agrees
    assert any(e.label == "single runs · 2 of 3 runs in 1 of 2 groups" for e in at.sidebar.expander)


def test_presentation_mode_hides_run_chips_and_paths_and_stays_in_links(env):
    at = _app()
    at.query_params.update({"space": "cifar10", "present": "1"})
    at.run()
    _ok(at)
    assert at.toggle(key="sb_present").value is True
    assert not [m for m in at.sidebar.multiselect if m.key in ("sb_run_groups", "sb_runs")]
    assert not any("data from" in c.value for c in at.sidebar.caption)
    assert any(c.value.startswith("3 of 3 runs") for c in at.sidebar.caption)
    # opening a subnet keeps presentation mode in the deep link
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    row = cat.points.iloc[0]
    at.session_state["front2d-click"] = {"selected": [row["id"]]}  # a small box around one subnet opens it
    at.run()
    _ok(at)
    assert at.title[0].value == "Subnet"
    assert _query(at).get("present") == "1"
    # switching it off brings the pickers back and drops the flag from the URL
    at.toggle(key="sb_present").set_value(False).run()
    _ok(at)
    assert "present" not in _query(at)
    assert at.multiselect(key="sb_run_groups")


@pytest.mark.parametrize("page", ["fronts", "subnet", "search", "devices"])
def test_no_page_shows_an_absolute_path(env, page, monkeypatch, tmp_path):
    monkeypatch.setenv("OFA_DASH_DATA", str(tmp_path / "no-data"))  # the Subnet page explains the missing dataset, naming its folder
    at = _page(page)
    if page == "subnet":
        at.query_params["subnet"] = "0000000000000000"
    at.run()
    _ok(at)
    texts = _texts(at)
    assert texts
    leaked = [t for t in texts if str(tmp_path) in t or str(env) in t]
    assert not leaked, leaked
    if page == "fronts":
        assert any("data from `precomputed`" in c.value for c in at.sidebar.caption)
    if page == "subnet":
        assert any("`no-data` does not exist" in t for t in texts)


@pytest.mark.parametrize("page", ["search", "devices"])
def test_the_other_pages_render_in_presentation_mode_without_run_chips(env, page):
    at = _page(page)
    at.query_params.update({"space": "cifar10", "present": "1"})
    at.run()
    _ok(at)
    assert at.toggle(key="sb_present").value is True
    assert not [m for m in at.sidebar.multiselect if m.key in ("sb_run_groups", "sb_runs")]
    assert _query(at).get("present") == "1"
