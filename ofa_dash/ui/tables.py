"""Tables of subnets as a person reads them: friendly headers with units, rounded figures, best first.

Every table that lists subnets on a page goes through :func:`display_table`,
so a column reads the same wherever it appears: ``Top-1 (%)`` with two
decimals, ``Latency <device> (ms)`` with three significant digits, a short
``Source`` tag (predicted / measured) whose long provenance sentence sits in
the column's help tooltip instead of on every row, blanks where a subnet has
no measurement, and rows sorted by accuracy. The subnet id stays in the table
(a picked row opens its subnet) but is not the first thing a reader sees.

The CSV download is not made from here: external scripts read the catalogue's
raw columns (:func:`ofa_dash.ui.catalogue.selection_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ofa_dash.search.objectives import COUNTERS
from ofa_dash.ui.catalogue import LATENCY_PREFIX, with_accuracy

SOURCE_TAGS = ("predicted", "measured", "predicted int8", "measured int8", "fp32, int8 drop unknown")  # the part of a top1_source sentence before ":"
MS_DIGITS = 3  # significant digits of a time in milliseconds
DECIMALS = 2
LISTED_ROWS = 300  # rows a subnet table lists (most accurate first): thousands are unreadable and cost a dense brush most of its time; the CSV keeps all


@dataclass(frozen=True)
class ColumnSpec:
    """How one catalogue column reads in a table: its header, its rounding and its help tooltip."""

    header: str
    help: str = ""
    decimals: int | None = None  # round to this many decimals
    significant: int | None = None  # or to this many significant digits
    integer: bool = False  # whole numbers (blank where missing)
    shown_decimals: int | None = None  # how a significant-digits column prints: fixed decimals for its typical value

    @property
    def format(self) -> str | None:
        """printf format for ``st.column_config.NumberColumn`` (the values are rounded already; this keeps the display so).

        A significant-digits column prints with fixed decimals (0.200, 0.210, not 0.2, 0.21: aligned and
        honest about the digits), so :func:`display_table` sets ``shown_decimals`` from the column's values.
        """
        if self.decimals is not None:
            return f"%.{self.decimals}f"
        if self.shown_decimals is not None:
            return f"%.{self.shown_decimals}f"
        if self.significant is not None:
            return f"%.{self.significant}g"
        if self.integer:
            return "%d"
        return None


def _counter_spec(name: str, help_text: str) -> ColumnSpec:
    unit, _, what = COUNTERS[name]
    return ColumnSpec(f"{what[0].upper()}{what[1:]} ({unit})", help_text, decimals=DECIMALS)


# Columns in the order a table shows them (latency columns, one per device, go after the source tag).
LEAD_COLUMNS: dict[str, ColumnSpec] = {
    "decision aid": ColumnSpec("Decision aid", "Which decision aid picked this subnet (pymoo: knee points, pseudo-weights, achievement scalarisation)."),
    "top1": ColumnSpec("Top-1 (%)", "Top-1 accuracy on the test set, in percent.", decimals=DECIMALS),
    "source": ColumnSpec("Source", "Where the top-1 comes from."),
}
COST_COLUMNS: dict[str, ColumnSpec] = {
    "macs": ColumnSpec("MACs (M)", "Multiply-accumulate operations of one inference, in millions (counted from the architecture).", decimals=DECIMALS),
    "params": _counter_spec("params", "Parameters of the subnet, in millions (counted from the architecture)."),
    "peak_mem": _counter_spec("peak_mem", "Largest set of activations alive at once during one inference, in MB (10^6 bytes; counted)."),
}
INTERVAL_COLUMNS: dict[str, ColumnSpec] = {  # shown when some row has a value (a predictor with a calibrated interval)
    "top1_pm": ColumnSpec(
        "± (points)",
        "The predictor's calibrated interval: the measured top-1 lies within predicted ± this for the stated share of held-out subnets "
        "(blank: a measurement, or a predictor without an interval).",
        decimals=DECIMALS,
    ),
    "distinguishable": ColumnSpec(
        "Distinguishable",
        "Front subnets only: 'not distinguishable by the predictor' when this subnet's accuracy interval overlaps that of its cheaper "
        "or dearer neighbour on the front, i.e. the predicted difference is within the predictor's own error.",
    ),
}
DISTINGUISHABLE_TEXT = {True: "yes", False: "not distinguishable by the predictor"}
MEASURED_COLUMNS: dict[str, ColumnSpec] = {
    "top1_measured": ColumnSpec("Measured top-1 (%)", "Top-1 measured by a live validation of the exported subnet on this supernet.", decimals=DECIMALS),
    "top5_measured": ColumnSpec("Measured top-5 (%)", "Top-5 measured by the same live validation.", decimals=DECIMALS),
    "measured_images": ColumnSpec("Test images", "How many test images the live validation used.", integer=True),
    "measured_latency_ms": ColumnSpec(
        "Latency measured here (ms)",
        "Timed on the machine that ran the live validation (ONNX Runtime); not the device tables' estimate.",
        significant=MS_DIGITS,
    ),
}
TAIL_COLUMNS: dict[str, ColumnSpec] = {
    "id": ColumnSpec("Subnet id", "The subnet's id (from its architecture); pick a row to open the subnet."),
    "found_by": ColumnSpec("Found by", "The chosen runs (algorithm and seed) that found this subnet."),
    "runs": ColumnSpec("Runs", "How many of the chosen runs found this subnet.", integer=True),
    "algorithm": ColumnSpec("Algorithm", "The search algorithm of the run that found this subnet."),
    "seed": ColumnSpec("Seed", "The random seed of that run.", integer=True),
    "run_id": ColumnSpec("Run", "The stored run that found this subnet."),
    "set": ColumnSpec("Set", "archive: every non-dominated subnet a run saw; final: the algorithm's last population front."),
}


def latency_spec(device: str, note: str = "") -> ColumnSpec:
    """The column of one device's latency (the note says where the figure comes from)."""
    return ColumnSpec(f"Latency {device} (ms)", note or f"Latency on {device}, in milliseconds.", significant=MS_DIGITS)


def source_tag(sentence: object) -> str:
    """``predicted`` / ``measured`` from a provenance sentence such as ``"predicted: ofa-dash mlp ..."``; blank otherwise."""
    head = str(sentence).split(":", 1)[0].strip().lower() if sentence is not None else ""
    return head if head in SOURCE_TAGS else ""


def source_tags(sources: pd.Series) -> pd.Series:
    """:func:`source_tag` of every row, worked out once per distinct sentence (tables and charts have thousands of rows, a few sentences)."""
    return sources.map({s: source_tag(s) for s in pd.unique(sources.dropna())}).fillna("")


def round_significant(values, digits: int = MS_DIGITS) -> np.ndarray:
    """Each value rounded to ``digits`` significant digits (0.44712 -> 0.447, 34.71 -> 34.7, 1234 -> 1230); NaN stays NaN."""
    v = np.asarray(values, dtype=float).copy()
    ok = np.isfinite(v) & (v != 0)
    if ok.any():
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(v[ok]))))
        v[ok] = np.round(v[ok] * scale) / scale
    return v


def decimals_for(values, digits: int = MS_DIGITS) -> int:
    """Decimals that show ``digits`` significant digits of a column's median magnitude (0.447 -> 3, 34.7 -> 1, 1230 -> 0)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return digits - 1
    return int(np.clip(digits - 1 - np.floor(np.log10(np.median(v))), 0, 6))


def _with_shown_decimals(spec: ColumnSpec, values: pd.Series) -> ColumnSpec:
    if spec.significant is None:
        return spec
    return ColumnSpec(
        spec.header, spec.help, significant=spec.significant, shown_decimals=decimals_for(pd.to_numeric(values, errors="coerce"), spec.significant)
    )


def _rounded(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    if spec.decimals is not None:
        return pd.to_numeric(values, errors="coerce").astype(float).round(spec.decimals)
    if spec.significant is not None:
        return pd.Series(round_significant(pd.to_numeric(values, errors="coerce")), index=values.index)
    if spec.integer:
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    return values  # text: a missing value shows as a blank cell (the page's placeholder)


def provenance(sources: pd.Series) -> str:
    """The distinct long provenance sentences of a table's top-1 values, one each (the Source column's tooltip)."""
    distinct = [str(s) for s in pd.unique(sources.dropna())]
    sentences = sorted(s for s in distinct if source_tag(s) in ("predicted", "predicted int8", "fp32, int8 drop unknown"))
    if any(source_tag(s) == "measured" for s in distinct):
        sentences.append("measured: live validation of the exported subnet (the Test images column says on how many images)")
    if any(source_tag(s) == "measured int8" for s in distinct):
        sentences.append("measured int8: live validation of the subnet's int8 model (the int8 export's quantization)")
    return "; ".join(sentences) or "no accuracy figure"


@dataclass
class DisplayTable:
    """A table ready for ``st.dataframe``: ``frame`` (headers a person reads), the subnet id of each row, and per-header help and format."""

    frame: pd.DataFrame
    ids: list[str]
    specs: dict[str, ColumnSpec] = field(default_factory=dict)  # header -> spec
    total: int | None = None  # rows before ``limit`` cut the table (None: nothing was cut)

    @property
    def cut(self) -> bool:
        """Whether the table shows fewer rows than it was given."""
        return self.total is not None and self.total > len(self.frame)

    def id_at(self, row: int) -> str | None:
        """The subnet id of a picked row (``st.dataframe`` selections give row positions of ``frame``).

        None for a position the table no longer has: a selection outlives a rerun in
        which the table shrank (another brush, a tighter constraint).
        """
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def show(self, key: str) -> str | None:
        """Draw the table with single-row picking; the subnet id of the row just picked (None when none)."""
        import streamlit as st  # kept out of import time, as in column_config

        event = st.dataframe(
            self.frame,
            key=key,
            on_select="rerun",
            selection_mode="single-row",
            hide_index=True,
            width="stretch",
            column_config=self.column_config(),
            placeholder="",
        )
        try:
            rows = (event["selection"] or {}).get("rows")
        except (KeyError, TypeError):
            rows = None
        return self.id_at(int(rows[0])) if rows else None

    def column_config(self) -> dict:
        """``st.column_config`` per header: the help tooltip, and the number format matching the rounding."""
        import streamlit as st  # kept out of import time: the builder itself is pure and unit-tested without a page

        config = {}
        for header, spec in self.specs.items():
            if spec.format is not None:
                config[header] = st.column_config.NumberColumn(header, help=spec.help or None, format=spec.format)
            else:
                config[header] = st.column_config.TextColumn(header, help=spec.help or None)
        return config


def display_table(
    rows: pd.DataFrame,
    devices: Sequence[str],
    device_notes: Mapping[str, str] | None = None,
    sort: bool = True,
    limit: int | None = None,
) -> DisplayTable:
    """The readable table of ``rows`` (catalogue rows, one per subnet or per run that found it).

    ``devices`` name the latency columns to show (those present), ``device_notes``
    what each latency is (the column's tooltip). ``sort`` puts the most accurate
    first; tables whose order means something (the decision aids' picks) pass
    False. Measured columns appear only when some row has a measurement.
    """
    df = rows if "top1" in rows else with_accuracy(rows)
    if sort and len(df):
        df = df.sort_values("top1", ascending=False, kind="stable", na_position="last")
    total = len(df)
    if limit is not None:
        df = df.iloc[:limit]
    df = df.reset_index(drop=True)
    notes = device_notes or {}
    sources = df["top1_source"] if "top1_source" in df else pd.Series([None] * len(df), dtype=object)

    why = provenance(sources)
    plan: list[tuple[str, ColumnSpec, pd.Series]] = []
    for col, spec in LEAD_COLUMNS.items():
        if col == "source":
            plan.append((col, ColumnSpec(spec.header, f"{spec.help} {why}"), source_tags(sources)))
        elif col == "top1":
            plan.append((col, ColumnSpec(spec.header, f"{spec.help} {why}", decimals=spec.decimals), df[col]))
        elif col in df:
            plan.append((col, spec, df[col]))
    for col, spec in INTERVAL_COLUMNS.items():
        if col in df and df[col].notna().any():
            values = df[col].map(DISTINGUISHABLE_TEXT, na_action="ignore") if col == "distinguishable" else df[col]
            if col == "top1_pm" and "top1_level" in df and df["top1_level"].notna().any():
                spec = ColumnSpec(f"± ({df['top1_level'].dropna().iloc[0]:.0f} %, points)", spec.help, decimals=spec.decimals)
            plan.append((col, spec, values))
    for dev in devices:
        if LATENCY_PREFIX + dev in df:
            plan.append((LATENCY_PREFIX + dev, latency_spec(dev, notes.get(dev, "")), df[LATENCY_PREFIX + dev]))
    plan += [(c, s, df[c]) for c, s in COST_COLUMNS.items() if c in df]
    plan += [(c, s, df[c]) for c, s in MEASURED_COLUMNS.items() if c in df and df[c].notna().any()]
    tail = ["id", "found_by", "runs"] if "found_by" in df else ["id", "algorithm", "seed", "run_id", "set"]
    plan += [(c, TAIL_COLUMNS[c], df[c]) for c in tail if c in df]

    plan = [(col, _with_shown_decimals(spec, values), values) for col, spec, values in plan]
    frame = pd.DataFrame({spec.header: _rounded(values.reset_index(drop=True), spec) for _, spec, values in plan})
    ids = df["id"].astype(str).tolist() if "id" in df else [""] * len(df)
    return DisplayTable(frame, ids, {spec.header: spec for _, spec, _ in plan}, total)
