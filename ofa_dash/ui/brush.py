"""The 2D front's box / lasso selection as geometry in data coordinates, so a link restores the selected table.

Why geometry and not ids: a dense box holds hundreds of subnets (a URL of
kilobytes), and the ids of one catalogue mean nothing once a new run joins it;
the region a person drew ("under 0.3 ms, above 80 %") still does. A link carries
``brush=box;<x column>;<y column>;x0,x1,y0,y1`` or ``brush=lasso;<x>;<y>;x1,y1,x2,y2,...``
(at most :data:`MAX_VERTICES` vertices: a longer lasso is thinned evenly). The
browser sends the region with the selection (:mod:`ofa_dash.ui.point_click`);
here it is checked like any visitor input (known column names, finite numbers,
bounded sizes; nothing is evaluated) and turned back into the subnets inside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_VERTICES = 64  # a lasso in a link keeps at most this many vertices
_COLUMN = re.compile(r"^(latency:[A-Za-z0-9._-]{1,64}|top1|macs|params|peak_mem)$")
_NUMBER = re.compile(r"^-?\d{1,12}(\.\d{1,12})?([eE][-+]?\d{1,3})?$")
KINDS = ("box", "lasso")


@dataclass(frozen=True)
class Brush:
    """A box (``xs = (x0, x1)``, ``ys = (y0, y1)``) or a lasso (its vertices) over columns ``x`` and ``y`` of a front."""

    kind: str
    x: str
    y: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def to_query(self) -> str:
        """``box;latency:cpu;top1;0.1,0.3,70,80`` (box: x0, x1, y0, y1; lasso: x1, y1, x2, y2, ...)."""
        values = [*self.xs, *self.ys] if self.kind == "box" else [v for pair in zip(self.xs, self.ys, strict=True) for v in pair]
        return f"{self.kind};{self.x};{self.y};" + ",".join(f"{v:.6g}" for v in values)

    @classmethod
    def from_query(cls, text: object) -> Brush | None:
        """The brush a link names, or None for anything of another shape (never evaluated)."""
        parts = str(text or "").split(";")
        if len(parts) != 4 or parts[0] not in KINDS or not _COLUMN.match(parts[1]) or not _COLUMN.match(parts[2]):
            return None
        items = parts[3].split(",")
        if not all(_NUMBER.match(v.strip()) for v in items):
            return None
        values = [float(v) for v in items]
        if not all(math.isfinite(v) for v in values):
            return None
        if parts[0] == "box":
            return cls("box", parts[1], parts[2], tuple(values[:2]), tuple(values[2:])) if len(values) == 4 else None
        if len(values) % 2 or not 3 <= len(values) // 2 <= MAX_VERTICES:
            return None
        return cls("lasso", parts[1], parts[2], tuple(values[0::2]), tuple(values[1::2]))

    @classmethod
    def from_region(cls, region: Any, x: str, y: str) -> Brush | None:
        """The brush of a region the browser sent (``{"kind": "box"|"lasso", "x": [...], "y": [...]}``) on axes ``x``, ``y``; None when malformed."""
        if not isinstance(region, Mapping) or region.get("kind") not in KINDS or not (_COLUMN.match(x) and _COLUMN.match(y)):
            return None
        xs, ys = _floats(region.get("x")), _floats(region.get("y"))
        if xs is None or ys is None or len(xs) != len(ys):
            return None
        if region["kind"] == "box":
            return cls("box", x, y, (min(xs), max(xs)), (min(ys), max(ys))) if len(xs) == 2 else None
        if len(xs) < 3:
            return None
        if len(xs) > MAX_VERTICES:  # thinned evenly: the link stays short, the shape stays the same to the eye
            keep = np.linspace(0, len(xs) - 1, MAX_VERTICES).round().astype(int)
            xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
        return cls("lasso", x, y, tuple(xs), tuple(ys))

    def contains(self, df: pd.DataFrame) -> np.ndarray:
        """Per row of ``df``: inside the box (edges included) or the lasso (even-odd rule); False where a value is missing."""
        if self.x not in df or self.y not in df:
            return np.zeros(len(df), dtype=bool)
        px, py = df[self.x].to_numpy(dtype=float), df[self.y].to_numpy(dtype=float)
        if self.kind == "box":
            return (px >= self.xs[0]) & (px <= self.xs[1]) & (py >= self.ys[0]) & (py <= self.ys[1])
        inside = np.zeros(len(df), dtype=bool)
        vx, vy = np.asarray(self.xs), np.asarray(self.ys)
        for i in range(len(vx)):
            x1, y1, x2, y2 = vx[i - 1], vy[i - 1], vx[i], vy[i]
            crosses = (y1 > py) != (y2 > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (px < at)
        return inside

    def ids_inside(self, df: pd.DataFrame) -> list[str]:
        """The distinct subnet ids of the rows inside, in row order."""
        return list(dict.fromkeys(df.loc[self.contains(df), "id"].astype(str))) if len(df) else []

    def selection_shape(self) -> dict:
        """Plotly's ``layout.selections`` entry that draws this region on the chart again (``fig.add_selection(**shape)``)."""
        if self.kind == "box":
            return {"type": "rect", "x0": self.xs[0], "x1": self.xs[1], "y0": self.ys[0], "y1": self.ys[1]}
        return {"type": "path", "path": "M" + "L".join(f"{a:.6g},{b:.6g}" for a, b in zip(self.xs, self.ys, strict=True)) + "Z"}


def _floats(values: Any) -> list[float] | None:
    if not isinstance(values, list | tuple) or not 1 <= len(values) <= 10_000:
        return None
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def brushed_ids(picks, linked: str, df: pd.DataFrame, x: str, y: str = "top1") -> tuple[list[str], str]:
    """(selected subnet ids, the ``brush=`` value the URL should hold) for a 2D front on columns ``x``, ``y``.

    The browser's own selection wins (``picks``: :class:`ofa_dash.ui.point_click.ChartPicks`), and
    its region becomes the link's; a cleared selection clears it. Before this session has
    brushed anything, the link's brush (``linked``) selects the rows of ``df`` inside it when
    it was drawn on the same axes; a brush of other axes stays in the link untouched.
    """
    if picks.selected:
        brush = Brush.from_region(picks.region, x, y)
        return list(picks.selected), brush.to_query() if brush else ""
    if picks.selection_changed:
        return [], ""
    brush = Brush.from_query(linked)
    if brush is None:
        return [], ""
    if (brush.x, brush.y) != (x, y):
        return [], linked
    return brush.ids_inside(df), linked


# --------------------------------------------------------------------------- parallel coordinates
MAX_RANGE_AXES = 16
MAX_AXIS_INTERVALS = 16  # as ofa_dash.ui.parcoords.MAX_INTERVALS


def ranges_to_query(ranges: Mapping[str, list[tuple[float, float]]]) -> str:
    """Parallel-coordinates brush ranges as a link carries them: ``top1=78~82;latency:cpu-ort=0.1~0.3+0.5~0.6``."""
    parts = []
    for col, intervals in ranges.items():
        if intervals and _COLUMN.match(col):
            parts.append(f"{col}=" + "+".join(f"{lo:.6g}~{hi:.6g}" for lo, hi in intervals[:MAX_AXIS_INTERVALS]))
    return ";".join(parts[:MAX_RANGE_AXES])


def ranges_from_query(text: object) -> dict[str, list[tuple[float, float]]]:
    """The ranges a link names (see :func:`ranges_to_query`); malformed axes are dropped, nothing is evaluated."""
    out: dict[str, list[tuple[float, float]]] = {}
    for part in str(text or "").split(";")[:MAX_RANGE_AXES]:
        col, _, spec = part.partition("=")
        if not _COLUMN.match(col) or not spec:
            continue
        intervals = []
        for item in spec.split("+")[:MAX_AXIS_INTERVALS]:
            lo, _, hi = item.partition("~")
            if not (_NUMBER.match(lo) and _NUMBER.match(hi)):
                intervals = []
                break
            a, b = float(lo), float(hi)
            if not (math.isfinite(a) and math.isfinite(b)):
                intervals = []
                break
            intervals.append((min(a, b), max(a, b)))
        if intervals:
            out[col] = intervals
    return out


def restored_ranges(browser: Mapping[str, list[tuple[float, float]]], brushed: bool, linked: str) -> tuple[dict, str]:
    """(ranges to select with, the ``pcbrush=`` value the URL should hold) for the parallel coordinates.

    The browser's ranges win once the visitor brushed or cleared in this session
    (``brushed``); before that, the link's ranges select.
    """
    if browser or brushed:
        return dict(browser), ranges_to_query(browser)
    return ranges_from_query(linked), linked
