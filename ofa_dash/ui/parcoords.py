"""Parallel coordinates over every objective of a run, brushable, its brush read back as ranges.

With three or more objectives no scatter shows them all; a parallel-coordinates
chart does, one axis per objective (top-1, latency per device, MACs, params,
peak memory), one line per subnet. Plotly's ``go.Parcoords`` lets a visitor drag
ranges on its axes (``dimensions[i].constraintrange``), but Streamlit's
``on_select`` does not cover it. So, like :mod:`ofa_dash.ui.point_click`, a tiny
``st.components.v2`` listener beside the chart listens to the trace's
``plotly_restyle`` and sends back the brushed *ranges* per axis label (a few
numbers, whatever the number of lines), and the server picks the rows with
:func:`rows_in_ranges` (pure, tested). Axes are matched by label, so dragging
an axis to a new place changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ofa_dash.ui.catalogue import LATENCY_PREFIX, Constraints, column_label
from ofa_dash.ui.fronts import distinct_subnets, front_view

MAX_INTERVALS = 16  # brushed intervals per axis a browser may send (plotly allows several per axis)

_JS = r"""
export default function ({ data, setStateValue, parentElement }) {
    const root = parentElement.host || parentElement;
    const slot = root.closest ? root.closest('[data-testid="stElementContainer"]') : null;
    if (slot) slot.style.display = "none";
    const selector = ".st-key-" + CSS.escape(data.chart) + " .js-plotly-plot";
    let gd = null;
    // every axis' label and its brushed range(s), read from the trace after plotly applied the brush
    const send = () => {
        const trace = gd && gd.data && gd.data.find((t) => t.type === "parcoords");
        if (!trace) return;
        const out = (trace.dimensions || []).map((d) => ({ label: d.label, range: d.constraintrange || null }));
        setStateValue("ranges", out);
    };
    const onRestyle = (ev) => {
        const change = ev && ev[0];
        if (change && Object.keys(change).some((k) => k.includes("constraintrange"))) send();
    };
    const attach = () => {
        const now = document.querySelector(selector);
        if (!now || typeof now.on !== "function") return;
        const listening = !!now._ev && typeof now._ev.listeners === "function" && now._ev.listeners("plotly_restyle").includes(onRestyle);
        if (now === gd && listening) return;
        if (gd && typeof gd.removeListener === "function") gd.removeListener("plotly_restyle", onRestyle);
        gd = now;
        if (!listening) gd.on("plotly_restyle", onRestyle);
        gd._ofaRangeListener = onRestyle;  // lets a test see the listener
    };
    attach();
    const timer = setInterval(attach, 250);
    return () => {
        clearInterval(timer);
        if (gd && typeof gd.removeListener === "function") gd.removeListener("plotly_restyle", onRestyle);
    };
}
"""

_listener = st.components.v2.component("ofa_dash.parcoords_ranges", js=_JS)


def axes_of(points: pd.DataFrame, devices: list[str]) -> list[str]:
    """The objective columns to draw, in reading order: top-1 (the catalogue's ``with_accuracy`` column), latency per chosen device, MACs, params, peak memory (those present)."""
    costs = [LATENCY_PREFIX + d for d in devices] + ["macs", "params", "peak_mem"]
    return ["top1", *[c for c in costs if c in points and points[c].notna().any()]]


def many_objectives(runs: list[dict]) -> bool:
    """True when every chosen run searched three or more objectives: there the parallel coordinates open first."""
    return bool(runs) and all(len(e.get("objectives", [])) >= 3 for e in runs)


def parcoords_rows(
    points: pd.DataFrame, axes: list[str], constraints: Constraints | None = None, prefer_measured: bool = False, pareto_only: bool = True
) -> tuple[pd.DataFrame, int]:
    """One row per subnet to draw as a line (the Pareto set over ``axes``, or every drawable subnet), and how many subnets were drawable.

    The same rows feed the chart and :func:`rows_in_ranges`, so a brushed range
    lists exactly the lines inside it.
    """
    view = front_view(points, axes, constraints, prefer_measured, knees=False)
    df = view.df[view.df["pareto"]] if pareto_only else view.df
    return distinct_subnets(df), int(view.df["id"].nunique()) if len(view.df) else 0


def _interval(pair: Any) -> tuple[float, float] | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None
    try:
        lo, hi = float(pair[0]), float(pair[1])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return (min(lo, hi), max(lo, hi))


def ranges_from_browser(value: Any, labels: Mapping[str, str]) -> dict[str, list[tuple[float, float]]]:
    """The brushed intervals per column from what the listener sent (``[{label, range}, ...]``); anything malformed is dropped.

    ``labels`` maps an axis label (as drawn) to its column. ``range`` is plotly's
    ``constraintrange``: ``[lo, hi]``, a list of such pairs, or null.
    """
    out: dict[str, list[tuple[float, float]]] = {}
    if not isinstance(value, list | tuple):
        return out
    for item in value[: len(labels) + 8]:
        if not isinstance(item, Mapping) or item.get("label") not in labels:
            continue
        raw = item.get("range")
        if not isinstance(raw, list | tuple) or not raw:
            continue
        pairs = raw if isinstance(raw[0], list | tuple) else [raw]
        intervals = [iv for iv in (_interval(p) for p in pairs[:MAX_INTERVALS]) if iv is not None]
        if intervals:
            out[labels[item["label"]]] = intervals
    return out


def rows_in_ranges(df: pd.DataFrame, ranges: Mapping[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """The rows of ``df`` inside every brushed axis (inside any of an axis' intervals); no ranges: no rows.

    No brush selects nothing rather than everything, as a 2D chart's empty
    box does: the table below lists what the visitor marked.
    """
    ranges = {c: iv for c, iv in ranges.items() if c in df and iv}
    if not ranges or not len(df):
        return df.iloc[0:0]
    keep = np.ones(len(df), dtype=bool)
    for col, intervals in ranges.items():
        values = df[col].to_numpy(dtype=float)
        inside = np.zeros(len(df), dtype=bool)
        for lo, hi in intervals:
            inside |= (values >= lo) & (values <= hi)
        keep &= inside
    return df.iloc[np.flatnonzero(keep)].reset_index(drop=True)


def axis_labels(axes: list[str]) -> dict[str, str]:
    """Axis label as drawn -> column (labels are unique: the catalogue's column labels)."""
    return {column_label(c): c for c in axes}


def parcoords_figure(df: pd.DataFrame, axes: list[str], title: str = "", ranges: Mapping[str, list[tuple[float, float]]] | None = None) -> go.Figure:
    """One line per row of ``df`` over ``axes``, coloured by top-1 (where drawn), the better end of each axis at the top.

    Costs run downwards (low latency at the top) so that a line high on every
    axis is a good subnet; the brush ranges are still in the columns' units.
    ``ranges``: brushed intervals per column to draw (a link's, :mod:`ofa_dash.ui.brush`).
    """
    dims = []
    for col in axes:
        values = df[col].to_numpy(dtype=float)
        lo, hi = (float(np.nanmin(values)), float(np.nanmax(values))) if len(values) else (0.0, 1.0)
        span = [lo, hi] if col == "top1" else [hi, lo]
        dim = {"label": column_label(col), "values": values, "range": span}
        if ranges and ranges.get(col):
            intervals = [list(iv) for iv in ranges[col]]
            dim["constraintrange"] = intervals[0] if len(intervals) == 1 else intervals
        dims.append(dim)
    colour = df["top1"].to_numpy(dtype=float) if "top1" in df else None
    line = {"color": colour, "colorscale": "Viridis", "showscale": True, "colorbar": {"title": {"text": "top-1 %"}}} if colour is not None else {}
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line, labelangle=0, labelside="top"))
    fig.update_layout(title=title or None, margin={"l": 60, "r": 60, "t": 90, "b": 30}, height=480)
    return fig


def parcoords_chart(fig: go.Figure, key: str, labels: Mapping[str, str], **kwargs: Any) -> dict[str, list[tuple[float, float]]]:
    """Draw ``fig`` (``st.plotly_chart(fig, key=key)``) and return the ranges the visitor brushed, per column."""
    st.plotly_chart(fig, key=key, **kwargs)
    result = _listener(key=f"{key}-ranges", data={"chart": key}, default={"ranges": []}, on_ranges_change=lambda: None)
    raw = getattr(result, "ranges", None)
    if raw:  # the browser has sent its axes' ranges (possibly all cleared) in this session: a link's ranges no longer apply
        st.session_state[f"{key}-sent"] = True
    return ranges_from_browser(raw, labels)


def browser_has_brushed(key: str) -> bool:
    """Whether the visitor brushed (or cleared) the chart ``key`` in this session (see :func:`parcoords_chart`)."""
    return bool(st.session_state.get(f"{key}-sent"))
