"""The parallel-coordinates brush: ranges read from the browser, checked, and the rows inside them picked on the server."""

import numpy as np
import pandas as pd

from ofa_dash.ui import parcoords
from ofa_dash.ui.catalogue import column_label


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "top1": [90.0, 92.0, 94.0, 96.0],
            "latency:cpu": [1.0, 2.0, 3.0, 4.0],
            "macs": [10.0, 20.0, 30.0, 40.0],
        }
    )


def test_rows_inside_every_brushed_axis():
    df = _rows()
    picked = parcoords.rows_in_ranges(df, {"top1": [(91.0, 95.0)], "latency:cpu": [(2.5, 10.0)]})
    assert picked["id"].tolist() == ["c"]


def test_several_intervals_on_one_axis_are_a_union():
    picked = parcoords.rows_in_ranges(_rows(), {"macs": [(5.0, 15.0), (35.0, 45.0)]})
    assert picked["id"].tolist() == ["a", "d"]


def test_no_brush_selects_nothing_and_unknown_columns_are_ignored():
    df = _rows()
    assert parcoords.rows_in_ranges(df, {}).empty
    assert parcoords.rows_in_ranges(df, {"nope": [(0.0, 1.0)]}).empty


def test_ranges_from_browser_match_labels_and_drop_malformed_input():
    labels = parcoords.axis_labels(["top1", "latency:cpu", "macs"])
    sent = [
        {"label": column_label("top1"), "range": [95, 91]},  # reversed: read as (91, 95)
        {"label": column_label("latency:cpu"), "range": [[1, 2], [3, "x"], [np.inf, 5]]},  # one good pair of three
        {"label": column_label("macs"), "range": None},
        {"label": "<script>", "range": [0, 1]},  # not an axis of the chart
        "garbage",
    ]
    assert parcoords.ranges_from_browser(sent, labels) == {"top1": [(91.0, 95.0)], "latency:cpu": [(1.0, 2.0)]}
    assert parcoords.ranges_from_browser("not a list", labels) == {}
    assert parcoords.ranges_from_browser(None, labels) == {}


def test_too_many_intervals_are_cut():
    labels = parcoords.axis_labels(["macs"])
    sent = [{"label": column_label("macs"), "range": [[i, i + 0.5] for i in range(100)]}]
    assert len(parcoords.ranges_from_browser(sent, labels)["macs"]) == parcoords.MAX_INTERVALS


def test_figure_draws_one_axis_per_objective_costs_downwards():
    df = _rows()
    fig = parcoords.parcoords_figure(df, ["top1", "latency:cpu", "macs"])
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == [column_label(c) for c in ("top1", "latency:cpu", "macs")]
    assert list(dims[0].range) == [90.0, 96.0]  # accuracy: better at the top
    assert list(dims[1].range) == [4.0, 1.0]  # latency: lower at the top


def test_axes_and_many_objectives():
    points = pd.DataFrame({"top1_pred": [1.0], "latency:cpu": [1.0], "latency:gpu": [np.nan], "macs": [1.0], "params": [1.0]})
    assert parcoords.axes_of(points, ["cpu", "gpu"]) == ["top1", "latency:cpu", "macs", "params"]
    assert parcoords.many_objectives([{"objectives": ["error", "latency:a", "params"]}])
    assert not parcoords.many_objectives([{"objectives": ["error", "latency:a", "params"]}, {"objectives": ["error", "latency:a"]}])
    assert not parcoords.many_objectives([])
