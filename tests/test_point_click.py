"""The pure parts of clicking a subnet: reading what a click or a table row sent, and marks that carry their own id."""

from __future__ import annotations

import pytest

from ofa_dash.testing.demo import ensure_demo
from ofa_dash.ui import figures
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.fronts import front_view
from ofa_dash.ui.point_click import MAX_SELECTED, ChartPicks, clicked_subnet, selected_subnets


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    root, _ = ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")
    points = build_catalogue(root, "cifar10", sets=("archive",)).points
    return front_view(points, ["top1", "latency:demo-cpu", "macs"], weights=[0.5, 0.25, 0.25])


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("01qcgrumxxusori0", "01qcgrumxxusori0"),
        (" 01QCGRUMXXUSORI0 ", "01qcgrumxxusori0"),
        ({"id": "025qo371hbdfgw00"}, "025qo371hbdfgw00"),
        (None, None),
        ("", None),
        (42, None),
        (["01qcgrumxxusori0"], None),
        ("<img src=x onerror=alert(1)>", None),
        ("../../etc/passwd", None),
        ("a" * 65, None),
    ],
)
def test_clicked_subnet_accepts_only_well_formed_ids(sent, expected):
    assert clicked_subnet(sent) == expected


def test_selected_subnets_keeps_well_formed_distinct_ids_in_order():
    sent = ["02cwdypkry833eo1", "<b>x</b>", "02CWDYPKRY833EO1", None, 7, "01xi6f98s9529161", ["nested"]]
    assert selected_subnets(sent) == ["02cwdypkry833eo1", "01xi6f98s9529161"]
    assert selected_subnets(None) == [] and selected_subnets("02cwdypkry833eo1") == [] and selected_subnets({"0": "a"}) == []
    assert len(selected_subnets([f"{i:x}" for i in range(MAX_SELECTED + 5)])) == MAX_SELECTED


def test_a_click_opens_and_only_a_new_one_subnet_selection_does():
    assert ChartPicks(clicked="abc", selected=["x", "y"]).opened == "abc"
    assert ChartPicks(selected=["x"], selection_changed=True).opened == "x"  # a small box drawn around one point
    assert ChartPicks(selected=["x"], selection_changed=False).opened is None  # the same box, seen again on a later run
    assert ChartPicks(selected=["x", "y"], selection_changed=True).opened is None
    assert ChartPicks().opened is None


def test_2d_marks_are_drawn_last_with_their_own_ids(view):
    fig = figures.front_2d(view.df, "latency:demo-cpu", ["demo-cpu"], marks=view.marks)
    labels = {figures.MARK_STYLES[name]["label"]: name for name in view.marks}
    assert labels, "the demo front has decision-aid picks"
    first_mark = min(i for i, t in enumerate(fig.data) if t.name in labels)
    assert all(t.name in labels for t in fig.data[first_mark:])  # nothing with a subnet id is drawn above a mark
    for t in fig.data[first_mark:]:
        assert [row[0] for row in t.customdata] == view.df.iloc[view.marks[labels[t.name]]]["id"].tolist()


def test_3d_marks_carry_their_own_ids(view):
    fig = figures.front_3d(view.df, "latency:demo-cpu", "macs", "top1", ["demo-cpu"], pareto="pareto", marks=view.marks)
    labels = {figures.MARK_STYLES[name]["label"]: name for name in view.marks}
    marks = [t for t in fig.data if t.name in labels]
    assert len(marks) == len(view.marks) and fig.data[-len(marks) :] == tuple(marks)
    for t in marks:
        assert [row[0] for row in t.customdata] == view.df.iloc[view.marks[labels[t.name]]]["id"].tolist()
        assert "%{customdata[0]}" in t.hovertemplate


def test_picks_table_rows_name_the_marked_subnets(view):
    """The picks table (rows opened by id) lists the same subnets as the marks, in mark order."""
    marked = [view.df.iloc[r]["id"] for rows in view.marks.values() for r in rows]
    assert view.picks["id"].tolist() == marked
