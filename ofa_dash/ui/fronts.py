"""What the Fronts page shows, computed without Streamlit: filtered points, Pareto flags, decision picks.

The page reads its widgets, calls :func:`front_view` and draws the result, so
everything a user can see on the front (which subnets survive the sliders,
which are on the front, where the knee is, which front points the predictor
cannot tell apart) is tested here directly.

Distinguishable (2D fronts): a front subnet whose accuracy interval (the
predictor's calibrated +-, :mod:`ofa_dash.predictors.intervals`) overlaps the
interval of its cheaper or its dearer front neighbour is "not distinguishable by
the predictor": the predicted gain over that neighbour is within the predictor's
own error. Only accuracy counts (the predictor's figure); a measured top-1 counts
as a point (no +-). Fronts with more than one cost axis have no "neighbours", so
3D fronts carry no such mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from ofa_dash import decision as decision_aids
from ofa_dash.predictors.int8_drop import MIN_INTERVAL_PAIRS
from ofa_dash.predictors.intervals import overlaps_neighbours, separable_steps
from ofa_dash.ui.catalogue import LATENCY_PREFIX, Constraints, apply_constraints, int8_axes, joined_per_id, objective_matrix, pareto_mask, with_accuracy
from ofa_dash.ui.counts import SubnetCounts, count_subnets

MAX_KNEES = 5
FELL_OFF = "fell off after re-scoring"  # the mark of subnets a re-scored run no longer holds on its front


@dataclass
class FrontView:
    """Points after constraints (``df``, with ``pareto`` flags), decision marks as row positions in ``df``, and a picks table.

    ``picks`` holds catalogue columns (``decision aid`` first, then the picked rows of ``df``), in
    the order the aids placed them; pages show it through :func:`ofa_dash.ui.tables.display_table`.
    ``counts`` is what captions and headings say (distinct subnets, see :mod:`ofa_dash.ui.counts`).
    """

    df: pd.DataFrame
    columns: list[str]
    marks: dict[str, list[int]] = field(default_factory=dict)
    picks: pd.DataFrame = field(default_factory=pd.DataFrame)
    hidden: int = 0  # points the constraints removed
    missing: int = 0  # points without a value on an axis (not drawn)
    counts: SubnetCounts = field(default_factory=lambda: SubnetCounts(0, 0, 0))

    @property
    def front(self) -> pd.DataFrame:
        return self.df[self.df["pareto"]]

    def distinguishable_phrase(self) -> str:
        """``"3 of 180 front subnets are distinguishable by the predictor from their neighbours; 17 steps along the front are
        (80 % intervals, top-1 ± 0.50 points)"``, or "" without intervals."""
        if "distinguishable" not in self.df:
            return ""
        front = self.front.drop_duplicates("id").sort_values([self.columns[1], "top1"], kind="stable")
        marked = front["distinguishable"].dropna()
        if not len(marked):
            return ""
        widths = front["top1_pm"].dropna()
        level = front["top1_level"].dropna()
        about = f" ({level.iloc[0]:.0f} % intervals, top-1 ± {widths.iloc[0]:.2f} points)" if len(widths) and len(level) else ""
        steps = separable_steps(front["top1"].to_numpy(dtype=float), front["top1_pm"].to_numpy(dtype=float))
        return (
            f"{int(marked.astype(bool).sum())} of {len(marked)} front subnets are distinguishable by the predictor from their neighbours; "
            f"{steps} steps along the front are{about}"
        )


def front_view(
    points: pd.DataFrame,
    columns: list[str],
    constraints: Constraints | None = None,
    prefer_measured: bool = False,
    knees: bool = True,
    weights: list[float] | None = None,
    reference: list[float] | None = None,
) -> FrontView:
    """Filter ``points`` by ``constraints``, flag the Pareto set on ``columns`` and place the decision aids.

    ``columns`` is ``["top1", <cost>, ...]`` (accuracy maximised, costs minimised).
    ``weights`` (one per column, for pseudo-weights) and ``reference`` (an aspiration
    point in the columns' units, for the ASF pick) are optional.
    """
    df = with_accuracy(points, prefer_measured, int8=int8_axes(columns))  # an int8 latency axis pairs with the int8 accuracy
    total = len(df)
    have = df[columns].notna().all(axis=1) if len(df) else pd.Series([], dtype=bool)
    missing = int((~have).sum())
    drawable = df[have]
    df = apply_constraints(drawable, constraints or Constraints()).reset_index(drop=True)
    df["pareto"] = pareto_mask(df, columns)
    if len(columns) == 2:
        df["distinguishable"] = distinguishable(df, columns[1])
    view = FrontView(df, list(columns), hidden=total - missing - len(df), missing=missing, counts=count_subnets(df, "pareto", before=drawable))
    if "fell_off" in df:  # runs re-scored by a newer predictor: the subnets that left their run's front are marked
        fell = df["fell_off"].fillna(False).to_numpy(dtype=bool) & ~df["pareto"].to_numpy()
        if fell.any():
            view.marks[FELL_OFF] = np.flatnonzero(fell).tolist()
    front_rows = np.flatnonzero(df["pareto"].to_numpy())
    if not len(front_rows):
        return view
    # one row per distinct point: duplicates across runs would count twice in the aids
    front = df.iloc[front_rows]
    distinct = front.drop_duplicates(subset=columns)
    rows = distinct.index.to_numpy()
    F = objective_matrix(distinct, columns)
    picks = []
    if knees:
        found = decision_aids.knee_points(F)
        if len(found) > MAX_KNEES:  # a dense front can have a whole knee region: show a few points spread over it
            order = found[np.argsort(F[found, 1])]
            found = order[np.linspace(0, len(order) - 1, MAX_KNEES).round().astype(int)]
        view.marks["knee"] = [int(rows[i]) for i in found]
        picks += [("knee (high trade-off)", int(rows[i])) for i in found]
    if weights is not None:
        i = decision_aids.pseudo_weight_pick(F, weights)
        view.marks["pseudo-weights"] = [int(rows[i])]
        picks.append((f"pseudo-weights {'/'.join(f'{w:.2f}' for w in weights)}", int(rows[i])))
    if reference is not None:
        ref = [-reference[0], *reference[1:]]
        i = decision_aids.asf_pick(F, ref)
        view.marks["reference point"] = [int(rows[i])]
        picks.append(("reference point (ASF)", int(rows[i])))
    if picks:
        table = df.iloc[[r for _, r in picks]].reset_index(drop=True)
        table.insert(0, "decision aid", [name for name, _ in picks])
        view.picks = table
    return view


def distinguishable(df: pd.DataFrame, cost: str) -> pd.Series:
    """Per row: True / False for a front subnet with an interval (see the module docstring), NA elsewhere.

    Computed once per subnet (copies from several runs share it), on the front in
    order of ``cost``; NA everywhere when no front subnet has an interval (point
    estimates alone say nothing about the predictor's error).
    """
    out = pd.Series(pd.NA, index=df.index, dtype="boolean")
    if "top1_pm" not in df or "pareto" not in df:
        return out
    front = df[df["pareto"].astype(bool)].drop_duplicates("id").sort_values([cost, "top1"], kind="stable")
    if not len(front) or front["top1_pm"].isna().all():
        return out
    apart = ~overlaps_neighbours(front["top1"].to_numpy(dtype=float), front["top1_pm"].to_numpy(dtype=float))
    by_id = pd.Series(apart, index=front["id"].to_numpy())
    on_front = df["pareto"].astype(bool).to_numpy()
    out[on_front] = df.loc[on_front, "id"].map(by_id).to_numpy(dtype=bool)
    return out


def latency_errors(devices: dict, names: list[str]) -> dict[str, float]:
    """Latency column -> the device profile's measured mean error (MAPE, percent) for the devices that have one."""
    out = {}
    for name in names:
        quality = getattr(devices.get(name), "quality", None) or {}
        if quality.get("mape") is not None:
            out[LATENCY_PREFIX + name] = float(quality["mape"])
    return out


def uncertainty_sources(interval: dict | None, device=None) -> str:
    """The Sources sentence on the front's error bars: how the accuracy interval was calibrated, what the latency ± is."""
    if interval is None:
        acc = "Accuracy has no interval (the predictor in use carries no calibrated one)."
    else:
        acc = (
            f"Accuracy ± is the predictor's {interval['level']:.0f} % interval (± {interval['half_width']:.2f} points, split-conformal "
            f"on its held-out subnets); measured coverage {interval['coverage']:.1f} % on {interval.get('n_calibration', '?')} held-out subnets."
        )
    quality = getattr(device, "quality", None) or {}
    if quality.get("mape") is None:
        return acc
    return (
        f"{acc} Latency ± is the device profile's mean absolute error ({quality['mape']:.1f} % on {quality.get('n_validation', '?')} subnets timed end to end)."
    )


def int8_sources(drop, columns: list[str], interval: dict | None = None) -> str:
    """The Sources sentence of a front on an int8 latency axis ("" on other fronts): which accuracy it shows and how far to trust it.

    ``interval``: the int8 interval calibrated on measured pairs (``Catalogue.int8_interval``), or None.
    """
    if not int8_axes(columns):
        return ""
    if not drop.known:
        return (
            "int8 axis: no subnet's int8 model has been measured on this supernet, so the int8 accuracy drop is unknown and the "
            "accuracy shown is the fp32 figure (tagged so). Validate a few subnets with --int8 to fit the drop model."
        )
    if interval is not None:
        trust = (
            f" Its ± is {interval['half_width']:.2f} points at {interval['level']} %, calibrated end to end on the "
            f"{interval['n_calibration']} measured pairs (measured coverage {interval['coverage']:.0f} %)."
        )
    else:
        trust = f" No calibrated ± yet: it needs {MIN_INTERVAL_PAIRS} measured pairs."
    return (
        f"int8 axis: accuracy is the int8 model's: the prediction minus the {drop.label()}; "
        "where a live validation measured the int8 model (validate --int8), that measurement is shown instead." + trust
    )


def rows_for_ids(df: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Every row of ``df`` (one per run that found it) for the subnet ids of a selection, in selection order."""
    if not ids or not len(df):
        return df.iloc[0:0]
    order = pd.Series(np.arange(len(ids), dtype=float), index=pd.Index(ids, dtype=object))
    rank = df["id"].map(order).to_numpy(dtype=float)
    keep = np.flatnonzero(~np.isnan(rank))
    keep = keep[np.argsort(rank[keep], kind="stable")]  # one take of the wide table, in selection order
    return df.iloc[keep].reset_index(drop=True)


def distinct_subnets(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per subnet id (first appearance order), with ``found_by`` ("nsga2 s1, spea2 s2") and ``runs``.

    A subnet found by several runs has identical objectives in each; listing
    it once per run only repeats it. The run-level rows stay in the store.
    """
    if not len(rows) or "id" not in rows:
        return rows
    first = rows.drop_duplicates("id").copy()
    if "algorithm" in rows and "seed" in rows:
        label = rows["algorithm"].astype(str) + " s" + rows["seed"].astype(str)
        first["found_by"] = first["id"].map(joined_per_id(rows["id"], label))
    first["runs"] = first["id"].map(rows["id"].value_counts()).astype(int)
    return first.reset_index(drop=True)


def within(value: float | None, rng: tuple[float, float], default: float) -> float:
    """``value`` clamped into a slider's range, or ``default`` when there is none (a link's limit on other data)."""
    return default if value is None else float(min(max(value, rng[0]), rng[1]))


def slider_range(series: pd.Series, pad: float = 0.0) -> tuple[float, float] | None:
    """(low, high) of a column for a slider, rounded outwards; None when empty or constant."""
    values = series.dropna().to_numpy(dtype=float)
    if not len(values):
        return None
    lo, hi = float(values.min()) - pad, float(values.max()) + pad
    if hi <= lo:
        return None
    step = 10 ** np.floor(np.log10(hi - lo)) / 100
    return float(np.floor(lo / step) * step), float(np.ceil(hi / step) * step)


def default_3d_axes(points: pd.DataFrame, axes: list[str]) -> tuple[str, str]:
    """The two cost axes (of ``axes``, in their order) whose values agree least: smallest absolute Spearman rank correlation.

    Two strongly correlated costs (two CPU latencies) put every subnet near
    one diagonal plane, so the 3D front is a thin sliver; the least correlated
    pair spreads it out. Computed over the distinct subnets of the catalogue;
    axes without at least three distinct values are skipped; ties keep the
    given order; fewer than two usable axes fall back to the first two.
    """
    if len(axes) < 2:
        raise ValueError(f"a 3D front needs two cost axes, got {axes}")
    distinct = points.drop_duplicates("id") if "id" in points else points
    usable = [a for a in axes if a in distinct and distinct[a].nunique(dropna=True) >= 3]
    if len(usable) < 2:
        return axes[0], axes[1]
    rho = distinct[usable].astype(float).corr(method="spearman", min_periods=3).abs()

    def strength(pair: tuple[str, str]) -> float:
        value = rho.loc[pair[0], pair[1]]
        return float(value) if np.isfinite(value) else np.inf

    return min(combinations(usable, 2), key=strength)
