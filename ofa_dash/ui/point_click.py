"""One click on a chart marker names its subnet, in every drag mode.

Streamlit's ``st.plotly_chart(on_select=...)`` reports a click only as a
point *selection*, and only in some drag modes: in box or lasso mode (the
Fronts page's default, so that dragging brushes the table) a plain click on a
marker reports nothing. So :func:`plotly_chart` draws the chart with
Streamlit as before (box and lasso selections keep working) and mounts a tiny
``st.components.v2`` listener beside it: inline JavaScript, run in the app's
own page, that finds the chart by its widget key and sends the clicked
marker's subnet id back as a trigger value. It listens to plotly's
``plotly_click`` (box and lasso mode, 3D scenes; plotly never emits it for a
drag); in zoom and pan mode Streamlit sets ``clickmode`` to ``"none"`` (the
chart selects by box and lasso only, so that a click is not a one-point
selection racing the listener), and there a press and release on the plot
without moving counts as the click. Nothing is fetched from anywhere.

Which marker a click means: plotly's hover picks the point whose *centre* is
nearest (scaled by marker size), so a click on the edge of a large knee
diamond can name a small point beside it. The listener first looks for the
markers whose drawn disc holds the pointer and takes the one drawn on top
(the last trace: decision-aid marks are drawn last); only when no marker holds
the pointer (a 3D scene, or a click just beside a marker) does plotly's own
point count. A point's subnet id is the first entry of its ``customdata``
(see :mod:`ofa_dash.ui.figures`); points without one (the step line,
published references) never open anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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

export default function ({ data, setTriggerValue, parentElement }) {
    // the listener draws nothing: hide its slot so it adds no gap under the chart
    const root = parentElement.host || parentElement;
    const slot = root.closest ? root.closest('[data-testid="stElementContainer"]') : null;
    if (slot) slot.style.display = "none";

    const selector = ".st-key-" + CSS.escape(data.chart) + " .js-plotly-plot";
    let gd = null;
    const send = (id) => { if (id) setTriggerValue("clicked", id); };
    // plotly's own click (every 2D drag mode whose clickmode holds "event", and 3D scenes)
    const onClick = (ev) => {
        const point = ev && ev.points && ev.points[0];
        send(markerUnderPointer(gd, ev && ev.event) || (point ? idOf(point.customdata) : null));
    };
    // Streamlit sets clickmode "none" in zoom and pan mode when the chart selects by box and lasso only,
    // and plotly then emits no click: a press and release on the plot without moving counts as one
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
    const attach = () => {
        const now = document.querySelector(selector);
        if (!now || typeof now.on !== "function") return;
        // plotly keeps its emitter in gd._ev (a Node-style EventEmitter; a purged chart loses it)
        const listening = !!now._ev && typeof now._ev.listeners === "function" && now._ev.listeners("plotly_click").includes(onClick);
        if (now === gd && listening) return;
        if (gd && gd !== now && typeof gd.removeListener === "function") gd.removeListener("plotly_click", onClick);
        gd = now;
        if (!listening) gd.on("plotly_click", onClick);
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
        if (gd && typeof gd.removeListener === "function") gd.removeListener("plotly_click", onClick);
    };
}
"""

_listener = st.components.v2.component("ofa_dash.point_click", js=_JS)


def clicked_subnet(value: Any) -> str | None:
    """The subnet id a click sent, or None for anything that is not a well-formed id (a browser may send anything)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if _ID.match(value) else None


def _ignore() -> None:
    """Registers the ``clicked`` trigger with Streamlit; the value is read from the result instead."""


def plotly_chart(fig: go.Figure, key: str, **kwargs: Any) -> tuple[Any, str | None]:
    """Draw ``fig`` with ``st.plotly_chart(fig, key=key, **kwargs)``; return (its event, the subnet id a click just named).

    The id is set only in the run that the click caused, so a caller opens
    the subnet right away (``state.open_subnet``).
    """
    event = st.plotly_chart(fig, key=key, **kwargs)
    result = _listener(key=f"{key}-click", data={"chart": key}, on_clicked_change=_ignore)
    return event, clicked_subnet(getattr(result, "clicked", None))
