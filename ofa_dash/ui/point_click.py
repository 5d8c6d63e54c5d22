"""Clicks and box / lasso selections on a chart, named by subnet id, in every drag mode.

Streamlit's ``st.plotly_chart(on_select=...)`` reports a click only as a
point *selection*, only in some drag modes, and reports a box by sending
every selected point's record (coordinates, customdata) to the server: ~0.5 MB
for a dense box of the Fronts page, rebuilt there into Python objects, which
was most of a brush's time. So :func:`plotly_chart` draws the chart with
Streamlit without ``on_select`` and mounts a tiny ``st.components.v2``
listener beside it: inline JavaScript, run in the app's own page, that finds
the chart by its widget key and sends back

- the clicked marker's subnet id as a trigger value (plotly's ``plotly_click``,
  which it emits in every drag mode and in 3D scenes, never for a drag); and,
  with ``select=True``, the distinct subnet ids a box or lasso holds as a state
  value (``plotly_selected``; a double click clears it). The chart's toolbar
  keeps its box and lasso buttons, and plotly keeps the drawn selection
  across the fragment's reruns.

Nothing is fetched from anywhere, and what comes back is checked like any
visitor input: only well-formed ids pass.

Which marker a click means: plotly's hover picks the point whose *centre* is
nearest (scaled by marker size), so a click on the edge of a large knee
diamond can name a small point beside it. The listener first looks for the
markers whose drawn disc holds the pointer and takes the one drawn on top
(the last trace: decision-aid marks are drawn last); only when no marker holds
the pointer (a 3D scene, or a click just beside a marker) does plotly's own
point count. A point's subnet id is the first entry of its ``customdata``
(see :mod:`ofa_dash.ui.figures`); points without one (the step line,
published references) never open or select anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import streamlit as st

# ids are short base-36 strings (``SearchSpace.arch_to_id``); anything else a browser sends is ignored
_ID = re.compile(r"^[0-9a-z]{1,64}$")

_JS = r"""
function idOf(customdata) {
    const first = Array.isArray(customdata) ? customdata[0] : customdata;
    return (typeof first === "string" && first) ? first : null;
}

// The subnet whose drawn marker holds the pointer, topmost trace first; null when none does.
function markerUnderPointer(gd, mouse) {
    if (!mouse || !gd._fullLayout || !gd.calcdata) return null;
    const box = gd.getBoundingClientRect();
    for (let i = gd.calcdata.length - 1; i >= 0; i--) {
        const cd = gd.calcdata[i];
        const trace = cd && cd[0] && cd[0].trace;
        if (!trace || trace.visible !== true || trace.type !== "scatter" || !trace.customdata) continue;
        if (typeof trace.mode !== "string" || !trace.mode.includes("markers")) continue;
        const xa = gd._fullLayout["xaxis" + trace.xaxis.slice(1)];
        const ya = gd._fullLayout["yaxis" + trace.yaxis.slice(1)];
        if (!xa || !ya) continue;
        let best = null, bestDist = Infinity;
        for (const pt of cd) {
            if (pt.i === undefined || !isFinite(pt.x) || !isFinite(pt.y)) continue;
            const px = box.left + xa._offset + xa.c2p(pt.x);
            const py = box.top + ya._offset + ya.c2p(pt.y);
            const size = Array.isArray(trace.marker.size) ? trace.marker.size[pt.i] : trace.marker.size;
            const radius = Math.max(4, (pt.mrc || size / 2 || 3) + 1);
            const dist = Math.hypot(mouse.clientX - px, mouse.clientY - py);
            if (dist <= radius && dist < bestDist) {
                const id = idOf(trace.customdata[pt.i]);
                if (id) { best = id; bestDist = dist; }
            }
        }
        if (best) return best;
    }
    return null;
}

function hoveredId(gd) {
    const h = gd && gd._hoverdata;
    return h && h.length ? idOf(h[0].customdata) : null;
}

export default function ({ data, setTriggerValue, setStateValue, parentElement }) {
    // the listener draws nothing: hide its slot so it adds no gap under the chart
    const root = parentElement.host || parentElement;
    const slot = root.closest ? root.closest('[data-testid="stElementContainer"]') : null;
    if (slot) slot.style.display = "none";

    const selector = ".st-key-" + CSS.escape(data.chart) + " .js-plotly-plot";
    let gd = null;
    const send = (id) => { if (id) setTriggerValue("clicked", id); };
    // a box or lasso sends the distinct subnet ids it holds, not plotly's per-point records
    const onSelected = (ev) => {
        const ids = [], seen = new Set();
        const add = (id) => { if (id && !seen.has(id)) { seen.add(id); ids.push(id); } };
        for (const p of (ev && ev.points) || []) {
            add(idOf(p.customdata));
            // a faded marker drawn once for several subnets at the same spot lists the others (figures.thin_dominated)
            const col = p.data && p.data.meta && p.data.meta.also;
            const also = Number.isInteger(col) && Array.isArray(p.customdata) ? p.customdata[col] : null;
            if (typeof also === "string") for (const id of also.split(" ")) add(id);
        }
        // the region itself, in data coordinates, so a link can carry it (ofa_dash.ui.brush)
        let region = null;
        if (ev && ev.range && Array.isArray(ev.range.x) && Array.isArray(ev.range.y)) region = { kind: "box", x: ev.range.x, y: ev.range.y };
        else if (ev && ev.lassoPoints && Array.isArray(ev.lassoPoints.x)) region = { kind: "lasso", x: ev.lassoPoints.x, y: ev.lassoPoints.y };
        setStateValue("region", region);
        setStateValue("selected", ids);
    };
    const onDeselect = () => { setStateValue("region", null); setStateValue("selected", []); };
    const events = () => data.select ? [["plotly_click", onClick], ["plotly_selected", onSelected], ["plotly_deselect", onDeselect]] : [["plotly_click", onClick]];
    // plotly's own click (every 2D drag mode whose clickmode holds "event", and 3D scenes)
    const onClick = (ev) => {
        const point = ev && ev.points && ev.points[0];
        send(markerUnderPointer(gd, ev && ev.event) || (point ? idOf(point.customdata) : null));
    };
    // a chart whose clickmode lacks "event" (Streamlit sets "none" in zoom and pan mode on charts drawn with
    // on_select) emits no click: there a press and release on the plot without moving counts as one
    let down = null;
    const onDown = (e) => {
        const onPlot = e.button === 0 && gd && gd.contains(e.target) && e.target.closest(".nsewdrag");
        down = onPlot ? { x: e.clientX, y: e.clientY } : null;
    };
    const onUp = (e) => {
        const start = down;
        down = null;
        if (!start || !gd || !gd._fullLayout || String(gd._fullLayout.clickmode).includes("event")) return;
        if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > 3) return;  // a drag (zoom box, pan), not a click
        send(markerUnderPointer(gd, e) || hoveredId(gd));
    };
    const detach = () => {
        if (gd && typeof gd.removeListener === "function") for (const [name, fn] of events()) gd.removeListener(name, fn);
    };
    const attach = () => {
        const now = document.querySelector(selector);
        if (!now || typeof now.on !== "function") return;
        // plotly keeps its emitter in gd._ev (a Node-style EventEmitter; a purged chart loses it)
        const listening = !!now._ev && typeof now._ev.listeners === "function" && now._ev.listeners("plotly_click").includes(onClick);
        if (now === gd && listening) return;
        detach();
        gd = now;
        if (!listening) for (const [name, fn] of events()) gd.on(name, fn);
        gd._ofaClickListener = onClick;  // lets a test see (and remove) the listener
    };
    attach();
    // Streamlit may draw the chart after this runs, or redraw it into a new element: keep looking
    const timer = setInterval(attach, 250);
    document.addEventListener("mousedown", onDown, true);
    document.addEventListener("mouseup", onUp, true);
    return () => {
        clearInterval(timer);
        document.removeEventListener("mousedown", onDown, true);
        document.removeEventListener("mouseup", onUp, true);
        detach();
    };
}
"""

_listener = st.components.v2.component("ofa_dash.point_click", js=_JS)
MAX_SELECTED = 200_000  # ids a selection may name; a browser that sends more is cut here


def clicked_subnet(value: Any) -> str | None:
    """The subnet id a click sent, or None for anything that is not a well-formed id (a browser may send anything)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if _ID.match(value) else None


def selected_subnets(value: Any) -> list[str]:
    """The well-formed, distinct subnet ids of a selection the browser sent, in its order (anything else is dropped)."""
    if not isinstance(value, list | tuple):
        return []
    out: list[str] = []
    seen: set[str] = set()
    for item in value[:MAX_SELECTED]:
        sid = clicked_subnet(item)
        if sid and sid not in seen:
            seen.add(sid)
            out.append(sid)
    return out


@dataclass(frozen=True)
class ChartPicks:
    """What the visitor did to a chart in this run: the subnet a click named, and the subnets a box or lasso holds."""

    clicked: str | None = None
    selected: list[str] = field(default_factory=list)
    selection_changed: bool = False  # the selection differs from the one of the chart's previous run
    region: dict | None = None  # the box or lasso in data coordinates as the browser sent it (unchecked: ofa_dash.ui.brush checks it)

    @property
    def opened(self) -> str | None:
        """The subnet to open now: a clicked one, or the only subnet of a box or lasso just drawn around one point."""
        if self.clicked:
            return self.clicked
        return self.selected[0] if self.selection_changed and len(self.selected) == 1 else None


DRAG_MODES = {"Box": "select", "Lasso": "lasso", "Zoom": "zoom", "Pan": "pan"}  # button label -> plotly dragmode


def drag_mode_buttons(active: str = "select") -> dict:
    """Plotly buttons above the plot that switch what a drag does.

    Streamlit takes the box and lasso buttons off a chart's toolbar unless it
    handles the selection itself (``on_select``), so the chart carries its own:
    labelled, they are also easier to find on a projector than toolbar icons.
    """
    modes = list(DRAG_MODES.values())
    return {
        "type": "buttons",
        "direction": "right",
        "showactive": True,
        "active": modes.index(active) if active in modes else 0,
        "x": 1.0,
        "xanchor": "right",
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"b": 6},
        "font": {"size": 12},
        "buttons": [{"label": label, "method": "relayout", "args": [{"dragmode": mode}]} for label, mode in DRAG_MODES.items()],
    }


def _ignore() -> None:
    """Registers the listener's events with Streamlit; the values are read from the result instead."""


def plotly_chart(fig: go.Figure, key: str, select: bool = False, **kwargs: Any) -> ChartPicks:
    """Draw ``fig`` with ``st.plotly_chart(fig, key=key, **kwargs)``; return what a click or a selection just named.

    The clicked id is set only in the run that the click caused, so a caller
    opens the subnet right away (``state.open_subnet``). With ``select``, box
    and lasso selections (the chart's own toolbar buttons) come back as the
    distinct ids they hold: Streamlit's ``on_select`` would send every
    selected point's record (x, y, customdata: ~0.5 MB for a dense box) and
    rebuild them on the server, the largest part of a brush's time.
    """
    if select:
        fig.update_layout(dragmode=fig.layout.dragmode or "select", clickmode="event", updatemenus=[drag_mode_buttons(fig.layout.dragmode or "select")])
    st.plotly_chart(fig, key=key, **kwargs)
    callbacks = {"on_clicked_change": _ignore, **({"on_selected_change": _ignore, "on_region_change": _ignore} if select else {})}
    result = _listener(key=f"{key}-click", data={"chart": key, "select": select}, default={"selected": []} if select else None, **callbacks)
    picks = ChartPicks(clicked_subnet(getattr(result, "clicked", None)))
    if not select:
        return picks
    selected = selected_subnets(getattr(result, "selected", None))
    last_key = f"{key}-last-selection"
    changed = st.session_state.get(last_key, []) != selected
    st.session_state[last_key] = selected
    region = getattr(result, "region", None)
    return ChartPicks(picks.clicked, selected, changed, region if isinstance(region, Mapping) else None)
