"""The 2D front's brush as geometry a link carries: parsing (visitor input), containment, and which selection wins."""

from __future__ import annotations

import pandas as pd
import pytest

from ofa_dash.ui.brush import MAX_VERTICES, Brush, brushed_ids, ranges_from_query, ranges_to_query, restored_ranges
from ofa_dash.ui.point_click import ChartPicks
from ofa_dash.ui.state import View, view_from_query, view_to_query

X = "latency:demo-cpu"
POINTS = pd.DataFrame({"id": ["a", "b", "c", "d", "a"], X: [0.1, 0.2, 0.3, 0.4, 0.1], "top1": [70.0, 75.0, 80.0, 85.0, 70.0]})


def test_a_box_round_trips_through_the_link_and_selects_inside_it():
    box = Brush.from_region({"kind": "box", "x": [0.35, 0.15], "y": [72, 90]}, X, "top1")
    assert box.xs == (0.15, 0.35) and box.to_query() == "box;latency:demo-cpu;top1;0.15,0.35,72,90"
    assert Brush.from_query(box.to_query()) == box
    assert box.ids_inside(POINTS) == ["b", "c"]
    assert box.selection_shape() == {"type": "rect", "x0": 0.15, "x1": 0.35, "y0": 72.0, "y1": 90.0}


def test_a_lasso_uses_the_even_odd_rule_and_is_thinned_for_the_link():
    tri = Brush.from_region({"kind": "lasso", "x": [0.0, 0.5, 0.0], "y": [60, 78, 96]}, X, "top1")
    assert tri.ids_inside(POINTS) == ["a", "b", "c"]  # d (0.4, 85) lies right of the edge from (0.5, 78) to (0, 96)
    assert Brush.from_query(tri.to_query()) == tri and tri.selection_shape()["path"] == "M0,60L0.5,78L0,96Z"
    many = Brush.from_region({"kind": "lasso", "x": [float(i) for i in range(500)], "y": [float(i % 7) for i in range(500)]}, X, "top1")
    assert len(many.xs) == MAX_VERTICES and many.xs[0] == 0.0 and many.xs[-1] == 499.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "box;latency:demo-cpu;top1;1,2,3",  # three numbers
        "circle;latency:demo-cpu;top1;1,2,3,4",
        "box;__import__('os');top1;1,2,3,4",
        "box;latency:demo-cpu;top1;1,2,3,nan",
        "box;latency:demo-cpu;top1;1,2,3,1e999",
        "lasso;latency:demo-cpu;top1;1,2,3,4",  # two vertices
        "lasso;top1;macs;" + ",".join(["1"] * (2 * MAX_VERTICES + 2)),
    ],
)
def test_a_malformed_link_brush_is_dropped(text):
    assert Brush.from_query(text) is None
    assert view_from_query({"space": "cifar10", "brush": text}).brush == ""


def test_the_view_carries_the_brush_in_its_query():
    view = view_from_query({"space": "cifar10", "brush": "box;latency:demo-cpu;top1;0.1,0.2,70,80"})
    assert view.brush == "box;latency:demo-cpu;top1;0.1,0.2,70,80" and view_to_query(view)["brush"] == view.brush
    assert "brush" not in view_to_query(View())
    assert Brush.from_region({"kind": "box", "x": [True, 1], "y": [1, 2]}, X, "top1") is None
    assert Brush.from_region({"kind": "box", "x": [0, 1], "y": [1, 2]}, "os.system", "top1") is None


def test_which_selection_wins():
    link = "box;latency:demo-cpu;top1;0.15,0.35,72,90"
    # nothing brushed in this session: the link's region selects
    assert brushed_ids(ChartPicks(), link, POINTS, X) == (["b", "c"], link)
    # a link drawn on other axes selects nothing here and stays in the URL
    assert brushed_ids(ChartPicks(), link, POINTS, "latency:demo-gpu") == ([], link)
    # the browser's own box wins and becomes the link's
    picks = ChartPicks(None, ["d"], True, {"kind": "box", "x": [0.39, 0.41], "y": [84, 86]})
    assert brushed_ids(picks, link, POINTS, X) == (["d"], "box;latency:demo-cpu;top1;0.39,0.41,84,86")
    # a cleared selection clears the link
    assert brushed_ids(ChartPicks(None, [], True), link, POINTS, X) == ([], "")


def test_parallel_ranges_round_trip_and_malformed_axes_are_dropped():
    ranges = {"top1": [(78.0, 82.5)], "latency:demo-cpu": [(0.1, 0.2), (0.3, 0.35)]}
    text = ranges_to_query(ranges)
    assert text == "top1=78~82.5;latency:demo-cpu=0.1~0.2+0.3~0.35" and ranges_from_query(text) == ranges
    assert ranges_from_query("top1=82~78") == {"top1": [(78.0, 82.0)]}
    assert ranges_from_query("os.system=1~2;top1=1~nan;macs=1~2~3;params=;peak_mem=5~6") == {"peak_mem": [(5.0, 6.0)]}
    view = view_from_query({"space": "cifar10", "pcbrush": "top1=78~82;bogus"})
    assert view.pc_brush == "top1=78~82" and view_to_query(view)["pcbrush"] == "top1=78~82"


def test_which_parallel_ranges_win():
    link = "top1=78~82"
    assert restored_ranges({}, False, link) == ({"top1": [(78.0, 82.0)]}, link)  # nothing brushed yet: the link's
    assert restored_ranges({"macs": [(1.0, 2.0)]}, True, link) == ({"macs": [(1.0, 2.0)]}, "macs=1~2")
    assert restored_ranges({}, True, link) == ({}, "")  # brushed, then cleared
