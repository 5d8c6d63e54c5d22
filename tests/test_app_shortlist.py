"""AppTest: the parallel coordinates' brush fills the table; a pinned subnet and its note survive a new session; the report downloads."""

from __future__ import annotations

import pytest
from apptest_helpers import _app, _ok, _page

from ofa_dash import shortlist
from ofa_dash.ui.catalogue import build_catalogue, column_label
from ofa_dash.ui.parcoords import parcoords_rows

NOTE = "<script>alert(1)</script> fastest within a point"


def test_parallel_coordinates_brush_fills_the_table(env):
    at = _app().run()
    _ok(at)
    at.sidebar.get("button_group")[0].set_value("Parallel").run()  # the view control (fr_mode)
    _ok(at)
    assert any(
        c.value.endswith(
            "subnets drawn (the Pareto set over these axes). Drag along an axis to brush a range (several axes combine); a click on a brushed range clears it."
        )
        for c in at.caption
    )
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    axes = ["top1", "latency:demo-cpu", "latency:demo-gpu", "macs", "params", "peak_mem"]
    lines, _ = parcoords_rows(cat.points, axes)
    lo, hi = lines["top1"].quantile([0.5, 1.0]).tolist()
    at.session_state["frontpc-ranges"] = {"ranges": [{"label": column_label("top1"), "range": [lo, hi]}, {"label": "not an axis", "range": [0, 1]}]}
    at.run()
    _ok(at)
    inside = lines[(lines["top1"] >= lo) & (lines["top1"] <= hi)]
    assert len(inside) and any(s.value == f"Selected subnets ({len(inside)})" for s in at.subheader)
    table = next(df.value for df in at.dataframe if "Subnet id" in df.value)
    assert sorted(table["Subnet id"]) == sorted(inside["id"])


@pytest.fixture
def local(monkeypatch):
    monkeypatch.setenv("OFA_DASH_LOCAL", "1")


def _pin_on_subnet_page(sid: str, note: str):
    at = _page("subnet")
    at.query_params["subnet"] = sid
    at.run()
    _ok(at)
    at.text_area(key=f"sl_note_cifar10_{sid}").input(note)
    at.button(key="sl_pin").click().run()
    _ok(at)
    return at


def test_a_pin_and_its_note_survive_a_new_session_and_the_report_downloads(env, local):
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    sid = cat.points["id"].iloc[0]
    at = _pin_on_subnet_page(sid, NOTE)
    assert at.query_params["shortlist"] in (sid, [sid])  # the link shares it
    assert [(p.id, p.note) for p in shortlist.read(env / "cifar10" / "shortlist.json")] == [(sid, NOTE)]
    # a new session (a restart, another browser) reads it from the store
    again = _page("subnet")
    again.query_params["subnet"] = sid
    again.run()
    _ok(again)
    assert again.text_area(key=f"sl_note_cifar10_{sid}").value == NOTE
    assert [b.label for b in again.button if b.key in ("sl_pin", "sl_unpin")] == ["Update note", "Remove from shortlist"]
    page = _page("shortlist").run()
    _ok(page)
    table = page.dataframe[0].value
    assert table["subnet"].tolist() == [sid] and table["note"].tolist() == [NOTE]
    button = page.get("download_button")[0]
    assert button.proto.label == "Download decision report (HTML)"
    # the button's data is made on click; the page's builder is what it calls
    from ofa_dash.space import get_space
    from ofa_dash.ui.config import resolve_settings
    from ofa_dash.ui.shortlist_view import report_html

    html = report_html(resolve_settings(), get_space("cifar10"), None, ["demo-cpu"], shortlist.read(env / "cifar10" / "shortlist.json")).decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and f"pick-{sid}" in html
    # remove it from the Shortlist page: gone from the store
    page.button(key=f"sl_rm_{sid}").click().run()
    _ok(page)
    assert shortlist.read(env / "cifar10" / "shortlist.json") == []


def test_on_a_shared_server_pins_stay_in_the_session(env):
    cat = build_catalogue(env, "cifar10", sets=("archive",))
    sid = cat.points["id"].iloc[0]
    at = _pin_on_subnet_page(sid, "mine only")
    assert not (env / "cifar10" / "shortlist.json").exists()
    assert any("stay in this session" in c.value for c in at.caption)
    assert at.button(key="sl_unpin").label == "Remove from shortlist"


def test_a_damaged_shortlist_file_is_reported_and_left_alone(env, local):
    path = env / "cifar10" / "shortlist.json"
    path.write_text("{broken")
    at = _page("shortlist").run()
    _ok(at)
    assert any("cannot be read as JSON" in e.value for e in at.error)
    assert path.read_text() == "{broken"


def test_the_compare_page_pins_a_compared_subnet(env, local):
    ids = build_catalogue(env, "cifar10", sets=("archive",)).points["id"].drop_duplicates().iloc[:2].tolist()
    at = _page("compare")
    at.query_params["compare"] = ",".join(ids)
    at.run()
    _ok(at)
    at.button(key=f"cmp_pin_{ids[1]}").click().run()
    _ok(at)
    assert [p.id for p in shortlist.read(env / "cifar10" / "shortlist.json")] == [ids[1]]
    assert at.button(key=f"cmp_pin_{ids[1]}").label == "Pinned" and at.button(key=f"cmp_pin_{ids[0]}").label == "Pin to shortlist"
