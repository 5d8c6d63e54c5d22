"""Plotly figure builders for the pages (pure: a DataFrame in, a figure out; tests call them directly).

Conventions shared by every chart:

- colours per algorithm (and per device) come from :mod:`ofa_dash.ui.theme`;
- a point that stands for a subnet carries ``customdata = [id, ...]``,
  so a click or a box names subnets, not trace positions (traces change as
  filters change; ids do not); points without a subnet id (the step line, OFA's
  published reference markers) never open or select anything
  (:mod:`ofa_dash.ui.point_click` reads the ids in the browser);
- hover text is short (id, top-1 with its predicted / measured tag, the plotted costs, MACs)
  and fits inside the chart; the long provenance is in the caption and the tables' tooltips;
- uncertainty is text, not error bars: the predictor's calibrated interval
  ("top-1 78.10 % ± 0.50 (80 %)") and a latency's device-profile error ("± 2.0 %
  (mean error)") go into the hover, once per trace where every point shares them,
  so the ~4,000 markers of the shipped front cost nothing more to draw or to brush.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ofa_dash.ui.catalogue import LATENCY_PREFIX, column_label
from ofa_dash.ui.tables import decimals_for, round_significant, source_tags
from ofa_dash.ui.theme import HIGHLIGHT, colour_for, style

MARK_STYLES = {
    "knee": {"symbol": "diamond", "size": 18, "color": "#D62728", "label": "knee (high trade-off)"},
    "pseudo-weights": {"symbol": "star", "size": 22, "color": "#9467BD", "label": "pseudo-weights pick"},
    "reference point": {"symbol": "x", "size": 18, "color": "#111111", "label": "reference-point pick (ASF)"},
    "shortlist": {"symbol": "star-diamond", "size": 20, "color": "#FF7F0E", "label": "shortlisted"},
    "fell off after re-scoring": {"symbol": "x", "size": 11, "color": "#7F7F7F", "label": "fell off the front after re-scoring"},
}
ASPIRATION_STYLE = {"symbol": "cross-open", "size": 16, "color": "#111111"}


# --------------------------------------------------------------------------- hover
HOVER_UNITS = {"macs": ("MACs", "M"), "params": ("params", "M"), "peak_mem": ("peak memory", "MB")}
HOVER_HEADROOM = 70  # px above the plot: the top point's hover label (4 lines, centred on it) stays inside the chart


def _hover_line(column: str, field: str, latency_error: Mapping[str, float] | None = None) -> str:
    """One hover line: what a column is, its value and its unit (``latency on note10 21.4 ms``).

    ``latency_error`` (percent, per latency column) is the device profile's measured mean
    error of its estimates: ``latency on cpu-ort 1.23 ms ± 2.0 % (mean error)``.
    """
    if column.startswith(LATENCY_PREFIX):
        error = (latency_error or {}).get(column)
        tail = f" ± {error:.1f} % (mean error)" if error is not None and np.isfinite(error) else ""
        return f"latency on {column[len(LATENCY_PREFIX) :]} {field} ms{tail}"
    if column in HOVER_UNITS:
        what, unit = HOVER_UNITS[column]
        return f"{what} {field} {unit}"
    return f"{column_label(column)}: {field}"


def _constant_text(value, fmt: str) -> str:
    """A value every point of a trace shares, printed as the template would print it."""
    if not fmt or not isinstance(value, int | float | np.number) or not np.isfinite(value):
        return str(value)
    if fmt.endswith("r"):
        v = float(round_significant([value], 3)[0])
        return f"{v:.{decimals_for([v], 3)}f}"
    return format(value, fmt[1:])


def _interval_text(df: pd.DataFrame) -> pd.Series | str:
    """`` ± 0.50 (80 %)`` per row where the top-1 carries the predictor's interval, else ``""``."""
    if "top1_pm" not in df or not df["top1_pm"].notna().any():
        return ""
    pm, level = df["top1_pm"].to_numpy(dtype=float), df["top1_level"].to_numpy(dtype=float)
    text = [f" ± {p:.2f} ({lv:.0f} %)" if np.isfinite(p) and np.isfinite(lv) else "" for p, lv in zip(pm, level, strict=True)]
    return pd.Series(text, index=df.index, dtype=object)


def _hover_frame(df: pd.DataFrame, axes: Mapping[str, str], latency_error: Mapping[str, float] | None = None) -> tuple[np.ndarray, str]:
    """(customdata array, hovertemplate) for subnet points: short enough to read on a projector.

    The label says the id, the top-1 with its source tag (predicted / measured),
    the plotted costs and the MACs; the long provenance sentences live in the
    tables' column tooltips and the caption. The id is ``customdata[0]``
    (selections read it); only what varies within the trace follows it, and
    what every point shares goes into the template once: the customdata
    travels to the browser on every brush. ``axes`` maps plotted columns
    (``{"top1": "y"}``) to plotly's own fields; ``latency_error`` see :func:`_hover_line`.
    """
    d = df.assign(tag=source_tags(df["top1_source"]) if "top1_source" in df else "", pm=_interval_text(df))
    costs = [c for c in axes if c != "top1" and c in d]
    if "macs" in d and "macs" not in costs:
        costs.append("macs")
    columns: list[str] = ["id"]
    fields: dict[str, str] = {}
    for c, fmt in [("tag", ""), ("pm", ""), ("top1", ":.2f"), *[(c, ":.3r") for c in costs]]:  # d3's "r": 3 significant digits, never exponents
        values = d[c]
        if c in axes:
            fields[c] = "%{" + axes[c] + fmt + "}"
        elif len(d) and values.nunique(dropna=False) == 1:
            fields[c] = _constant_text(values.iloc[0], fmt)
        else:
            fields[c] = "%{customdata[" + str(len(columns)) + "]" + fmt + "}"
            columns.append(c)
    data = d[columns].to_numpy(dtype=object)
    for j, c in enumerate(columns):
        if d[c].dtype.kind == "f":
            data[:, j] = round_significant(d[c].to_numpy(dtype=float), 4)
    top1 = "top-1 " + fields["top1"] + " %" + fields["pm"] + (" (" + fields["tag"] + ")" if fields["tag"] else "")
    lines = ["<b>%{customdata[0]}</b>", top1, *[_hover_line(c, fields[c], latency_error) for c in costs]]
    return data, "<br>".join(lines) + "<extra></extra>"


# --------------------------------------------------------------------------- fronts
def significant(values: pd.Series, digits: int = 6) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits of their largest magnitude.

    A selected point comes back from the browser with its coordinates printed
    in full (17 digits); six are far below a pixel and shorten every brush.
    """
    v = np.asarray(values, dtype=float)
    finite = np.abs(v[np.isfinite(v)])
    if not len(finite) or finite.max() == 0:
        return v
    return np.round(v, max(0, digits - int(np.ceil(np.log10(finite.max())))))


def one_marker_per_subnet(df: pd.DataFrame) -> pd.DataFrame:
    """One row per subnet id: the copy of the algorithm whose trace is drawn last (on top), index kept.

    Runs and algorithms often find the same subnet; its copies share every
    objective, so they were drawn on top of each other and only the last
    algorithm's marker showed. Drawing that one alone looks the same, sends a
    third fewer markers to the browser (the shipped front: 6,378 -> 4,177;
    each SVG marker costs the page's first draw and every brush) and makes a
    box select each subnet once. Selections key on the id, so the tables
    still list every run that found it. Index labels are kept: the Pareto
    mask indexes by them.
    """
    if "id" not in df or not len(df):
        return df
    if "algorithm" not in df:
        return df.drop_duplicates("id", keep="last")
    order = np.argsort(df["algorithm"].astype(str).to_numpy(), kind="stable")  # the traces' drawing order
    return df.iloc[order].drop_duplicates("id", keep="last")


DOMINATED_GRID = 400  # cells per plotted range: dominated markers within one cell (under 2 px on a full-width chart) are drawn once
ALSO = "also"  # trace meta key: which customdata column lists the subnets a drawn marker stands for


def thin_dominated(df: pd.DataFrame, x: str, y: str, dominated: np.ndarray, grid: int = DOMINATED_GRID) -> tuple[pd.DataFrame, dict[str, str]]:
    """Draw dominated markers that fall in the same cell of a ``grid`` x ``grid`` raster of the plot once.

    Each SVG marker costs the Fronts page's first draw: the shipped cifar10 front
    has ~3,700 faded dominated markers, and 1,400 of them lie within 1/400 of the
    plotted ranges of another one (under 2 px apart on a full-width chart: the
    same spot to the eye). The last one in drawing order stays; the others are
    listed (space-separated ids) against it, so a box or lasso over the marker
    selects them all (:mod:`ofa_dash.ui.point_click` reads the list); zooming far
    in shows the kept marker only. Pareto markers are never thinned. Returns the
    rows to draw (index kept) and ``{kept id: ids it stands for}``.
    """
    if not len(df) or not dominated.any():
        return df, {}
    xs, ys = df[x].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    span = lambda v: (np.nanmax(v) - np.nanmin(v)) or 1.0  # noqa: E731
    cx = np.floor((xs - np.nanmin(xs)) / span(xs) * grid).astype(np.int64)
    cy = np.floor((ys - np.nanmin(ys)) / span(ys) * grid).astype(np.int64)
    cell = np.where(dominated, cx * (grid + 1) + cy, -1 - np.arange(len(df)))  # Pareto rows: a cell of their own
    last = pd.Series(np.arange(len(df))).groupby(cell).transform("max").to_numpy()
    keep = last == np.arange(len(df))
    ids = df["id"].astype(str).to_numpy()
    stands_for: dict[str, list[str]] = {}
    for hidden in np.flatnonzero(~keep):
        stands_for.setdefault(ids[last[hidden]], []).append(ids[hidden])
    return df.iloc[np.flatnonzero(keep)], {k: " ".join(v) for k, v in stands_for.items()}


def step_line(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The front's attainment line (cost on x minimised, accuracy on y maximised), sorted by x."""
    order = np.lexsort((-y, x))
    xs, ys = x[order], y[order]
    keep = ys >= np.maximum.accumulate(ys)  # drop points a cheaper one beats (duplicates across runs)
    return xs[keep], ys[keep]


def front_2d(
    df: pd.DataFrame,
    x: str,
    devices: list[str],
    y: str = "top1",
    pareto: str = "pareto",
    marks: dict[str, int | list[int]] | None = None,
    references: pd.DataFrame | None = None,
    aspiration: tuple[float, float] | None = None,
    title: str = "",
    height: int = 600,
    latency_error: Mapping[str, float] | None = None,
) -> go.Figure:
    """Accuracy against one cost: Pareto points bold per algorithm and joined by a step line, the rest faded.

    ``latency_error`` maps a latency column to its device profile's mean error in percent (hover only).
    ``marks`` maps a decision aid (``knee``, ``pseudo-weights``, ``reference point``) to row
    positions in ``df``; ``references`` holds published markers (``x``, ``y``, ``label``, ``hover``)
    drawn without a subnet id; ``aspiration`` is the reference point a user typed (x, y).
    ``devices`` is kept for callers: the hover names only the plotted latency (short labels).
    """
    fig = go.Figure()
    is_front = df[pareto].to_numpy(dtype=bool) if pareto in df else np.zeros(len(df), dtype=bool)
    drawn = one_marker_per_subnet(df)
    drawn, stands_for = thin_dominated(drawn, x, y, ~is_front[drawn.index.to_numpy()] if len(df) else np.zeros(0, bool))
    for algorithm, part in drawn.groupby("algorithm", sort=True):
        colour = colour_for(str(algorithm))
        mask = is_front[part.index.to_numpy()] if len(df) else np.zeros(0, bool)
        for on_front, sub in ((False, part[~mask]), (True, part[mask])):
            if not len(sub):
                continue
            data, template = _hover_frame(sub, {x: "x", y: "y"}, latency_error)
            meta = None
            if not on_front and stands_for:
                also = sub["id"].astype(str).map(stands_for).fillna("").to_numpy(dtype=object)
                data, meta = np.column_stack([data, also]), {ALSO: data.shape[1]}
            fig.add_trace(
                go.Scatter(
                    x=significant(sub[x]),
                    y=significant(sub[y]),
                    mode="markers",
                    name=f"{algorithm} (Pareto)" if on_front else f"{algorithm} (dominated)",
                    legendgroup=str(algorithm),
                    customdata=data,
                    meta=meta,
                    hovertemplate=template,
                    marker={
                        "color": colour,
                        "size": 11 if on_front else 7,
                        "opacity": 1.0 if on_front else 0.28,
                        "line": {"width": 1.2, "color": "#222"} if on_front else {"width": 0},
                    },
                    showlegend=on_front or not is_front.any(),
                )
            )
    if is_front.any():
        front = df[is_front]
        xs, ys = step_line(front[x].to_numpy(dtype=float), front[y].to_numpy(dtype=float))
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv", "color": "#333", "width": 2}, name="Pareto front (all chosen runs)", hoverinfo="skip")
        )
    for name, rows in (marks or {}).items():
        rows = [rows] if isinstance(rows, int | np.integer) else list(rows)
        if not rows:
            continue
        sub = df.iloc[rows]
        data, template = _hover_frame(sub, {x: "x", y: "y"}, latency_error)
        s = MARK_STYLES[name]
        fig.add_trace(
            go.Scatter(
                x=sub[x],
                y=sub[y],
                mode="markers",
                name=s["label"],
                customdata=data,
                hovertemplate=f"<b>{s['label']}</b><br>" + template,
                marker={"symbol": s["symbol"], "size": s["size"], "color": s["color"], "line": {"width": 1.5, "color": "white"}},
            )
        )
    if aspiration is not None:
        fig.add_trace(
            go.Scatter(
                x=[aspiration[0]],
                y=[aspiration[1]],
                mode="markers",
                name="your reference point",
                hovertemplate="reference (aspiration) point<br>%{x:.2f}, %{y:.2f}<extra></extra>",
                marker=ASPIRATION_STYLE,
            )
        )
    if references is not None and len(references):
        fig.add_trace(
            go.Scatter(
                x=references["x"],
                y=references["y"],
                mode="markers+text",
                text=references["label"],
                textposition="top left",
                textfont={"size": 12, "color": "#555"},
                name="OFA published (fine-tuned)",
                hovertext=references["hover"],
                hoverinfo="text",
                customdata=[[i] for i in references["id"]] if "id" in references else None,  # a click opens the subnet
                marker={"symbol": "triangle-up-open", "size": 14, "color": "#555", "line": {"width": 2}},
            )
        )
    fig.update_layout(title=title, xaxis_title=column_label(x), yaxis_title=column_label(y), dragmode="select", clickmode="event", hovermode="closest")
    fig = _hover_inside(_legend_below(style(fig, height=height)))
    # The margins above leave room for the legend and titles; letting plotly grow them made it draw the
    # ~6,000 markers twice on every page visit (a Chromium CPU profile: ~0.3 s of the Fronts page's 2 s).
    fig.update_layout(margin_autoexpand=False)
    return fig


def _hover_inside(fig: go.Figure) -> go.Figure:
    """Room above the plot for the label of the topmost (most accurate) point, which plotly centres on it."""
    fig.update_layout(margin={"t": max(fig.layout.margin.t or 0, HOVER_HEADROOM)}, hoverlabel={"align": "left"})
    return fig


def _legend_below(fig: go.Figure) -> go.Figure:
    """Many traces: a legend under the plot keeps the title and the top of the data readable."""
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0}, margin={"b": 140})
    return fig


def front_3d(df: pd.DataFrame, x: str, y: str, z: str, devices: list[str], pareto: str = "pareto3", marks: dict | None = None, height: int = 680) -> go.Figure:
    """Accuracy against two costs: the 3D Pareto set per algorithm, the rest faded, decision-aid marks last (on top, with their own ids)."""
    fig = go.Figure()
    is_front = df[pareto].to_numpy(dtype=bool) if pareto in df else np.ones(len(df), dtype=bool)
    for algorithm, part in one_marker_per_subnet(df).groupby("algorithm", sort=True):
        mask = is_front[part.index.to_numpy()]
        for on_front, sub in ((False, part[~mask]), (True, part[mask])):
            if not len(sub):
                continue
            data, template = _hover_frame(sub, {x: "x", y: "y", z: "z"})
            fig.add_trace(
                go.Scatter3d(
                    x=sub[x],
                    y=sub[y],
                    z=sub[z],
                    mode="markers",
                    name=f"{algorithm} ({'Pareto' if on_front else 'dominated'})",
                    customdata=data,
                    hovertemplate=template,
                    marker={"color": colour_for(str(algorithm)), "size": 5 if on_front else 2.5, "opacity": 0.95 if on_front else 0.25},
                )
            )
    for name, rows in (marks or {}).items():
        rows = [rows] if isinstance(rows, int | np.integer) else list(rows)
        if rows:
            sub = df.iloc[rows]
            data, template = _hover_frame(sub, {x: "x", y: "y", z: "z"})
            s = MARK_STYLES[name]
            fig.add_trace(
                go.Scatter3d(
                    x=sub[x],
                    y=sub[y],
                    z=sub[z],
                    mode="markers",
                    name=s["label"],
                    customdata=data,  # the pick's own id: a click on the mark opens this subnet
                    hovertemplate=f"<b>{s['label']}</b><br>" + template,
                    marker={"symbol": "diamond", "size": 9, "color": s["color"]},
                )
            )
    fig.update_layout(
        scene={"xaxis_title": column_label(x), "yaxis_title": column_label(y), "zaxis_title": column_label(z)}, margin={"l": 0, "r": 0, "t": 40, "b": 0}
    )
    return _hover_inside(style(fig, height=height))


# --------------------------------------------------------------------------- search progress and comparison
def hv_progress(history: pd.DataFrame, title: str = "hypervolume of the archive") -> go.Figure:
    """HV against evaluations for a running search."""
    fig = go.Figure(go.Scatter(x=history["n_evals"], y=history["hv"], mode="lines+markers", line={"color": HIGHLIGHT}, name="HV"))
    fig.update_layout(title=title, xaxis_title="evaluations", yaxis_title="hypervolume")
    return style(fig, height=360)


def hv_comparison(curves: pd.DataFrame, title: str = "") -> go.Figure:
    """Mean HV against evaluations per algorithm with a band of ±1 standard deviation over seeds."""
    fig = go.Figure()
    for algorithm, part in curves.groupby("algorithm", sort=True):
        colour = colour_for(str(algorithm))
        part = part.sort_values("n_evals")
        n = int(part["n_runs"].max())
        if n > 1:
            upper, lower = part["mean"] + part["std"], part["mean"] - part["std"]
            fig.add_trace(
                go.Scatter(
                    x=np.r_[part["n_evals"], part["n_evals"][::-1]],
                    y=np.r_[upper, lower[::-1]],
                    fill="toself",
                    fillcolor=_rgba(colour, 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(algorithm),
                )
            )
        fig.add_trace(
            go.Scatter(
                x=part["n_evals"],
                y=part["mean"],
                mode="lines",
                line={"color": colour, "width": 3},
                name=f"{algorithm} ({n} seed{'s' if n != 1 else ''})",
                legendgroup=str(algorithm),
            )
        )
    fig.update_layout(title=title, xaxis_title="evaluations", yaxis_title="hypervolume (mean ± std over seeds)", hovermode="x unified")
    return _legend_below(style(fig, height=560))


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# --------------------------------------------------------------------------- quality
def estimate_vs_measured(
    est: np.ndarray, meas: np.ndarray, groups: list[str] | np.ndarray, unit: str, title: str, labels: list[str] | None = None
) -> go.Figure:
    """Estimated (or predicted) against measured, one colour per group, with the y = x line."""
    est, meas = np.asarray(est, dtype=float), np.asarray(meas, dtype=float)
    groups = np.asarray(groups)
    fig = go.Figure()
    for gi, g in enumerate(dict.fromkeys(groups.tolist())):
        m = groups == g
        fig.add_trace(
            go.Scatter(
                x=meas[m],
                y=est[m],
                mode="markers",
                name=str(g),
                text=None if labels is None else np.asarray(labels)[m],
                marker={"size": 9, "color": ["#0072B2", "#E69F00", "#009E73", "#CC79A7"][gi % 4], "opacity": 0.85},
                hovertemplate=f"measured %{{x:.3f}} {unit}<br>estimated %{{y:.3f}} {unit}" + ("<br>%{text}" if labels is not None else "") + "<extra></extra>",
            )
        )
    if len(est):
        lo, hi = float(min(est.min(), meas.min())), float(max(est.max(), meas.max()))
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "#777"}, name="y = x", hoverinfo="skip"))
    fig.update_layout(title=title, xaxis_title=f"measured ({unit})", yaxis_title=f"estimated ({unit})")
    return _legend_below(style(fig, height=480))


def rank_agreement(percentiles: pd.DataFrame, verdicts: pd.Series, a: str, b: str, fast_percent: float) -> go.Figure:
    """Each subnet's rank percentile on device ``a`` against device ``b`` (0 = fastest), one colour per verdict, the fast zone shaded.

    Points on the diagonal rank alike on both devices; points far from it are
    fast on one and not the other.
    """
    fig = go.Figure()
    fig.add_shape(type="rect", x0=0, y0=0, x1=fast_percent, y1=fast_percent, line={"width": 0}, fillcolor="rgba(0, 158, 115, 0.12)", layer="below")
    for gi, verdict in enumerate(sorted(verdicts.unique())):
        m = (verdicts == verdict).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=percentiles[a].to_numpy()[m],
                y=percentiles[b].to_numpy()[m],
                mode="markers",
                name=verdict,
                text=percentiles.index.to_numpy()[m],
                marker={"size": 7, "color": ["#009E73", "#E69F00", "#0072B2", "#CC79A7", "#D55E00", "#56B4E9"][gi % 6], "opacity": 0.8},
                hovertemplate=f"%{{text}}<br>{a}: %{{x:.0f}}th percentile<br>{b}: %{{y:.0f}}th percentile<extra></extra>",
            )
        )
    fig.add_trace(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", line={"dash": "dash", "color": "#777"}, name="same rank", hoverinfo="skip"))
    fig.update_layout(
        title=f"rank on {a} against rank on {b} (0 = the fastest)",
        xaxis_title=f"rank percentile on {a}",
        yaxis_title=f"rank percentile on {b}",
        xaxis_range=[-2, 102],
        yaxis_range=[-2, 102],
    )
    return _legend_below(style(fig, height=480))


def per_class_bars(per_class: Mapping[str, float | None], title: str = "top-1 per class") -> go.Figure:
    names = list(per_class)
    values = [np.nan if v is None else float(v) for v in per_class.values()]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color="#0072B2", text=[f"{v:.1f}" if np.isfinite(v) else "n/a" for v in values], textposition="outside"))
    fig.update_layout(title=title, yaxis_title="top-1 (%)", yaxis_range=[0, 105])
    return style(fig, height=400)


def confusion_heatmap(confusion: list[list[int]], names: list[str], title: str = "confusion matrix (rows: true class)") -> go.Figure:
    z = np.asarray(confusion, dtype=float)
    names = list(names)[: len(z)] + [str(i) for i in range(len(names), len(z))]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            colorscale="Blues",
            text=z.astype(int),
            texttemplate="%{text}",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z:.0f} images<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title="true class")
    fig.update_xaxes(title="predicted class")
    fig.update_layout(title=title)
    return style(fig, height=520)
