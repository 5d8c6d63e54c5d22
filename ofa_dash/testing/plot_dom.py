"""Reading a drawn plotly chart from the page: where each marker is and which subnet it stands for.

Browser tests click a marker and compare the subnet that opens with the
marker's own ``customdata`` id, so both come from the chart the browser drew
(``gd.calcdata`` / ``gd._fullData`` and the axes' ``c2p``), not from a second
computation of the front in Python.
"""

from __future__ import annotations

import math

_MARKERS_JS = """(key) => {
    const gd = document.querySelector('.st-key-' + CSS.escape(key) + ' .js-plotly-plot');
    if (!gd || !gd.calcdata) return [];
    const box = gd.getBoundingClientRect();
    const out = [];
    gd.calcdata.forEach((cd, curve) => {
        const trace = cd[0].trace;
        if (trace.type !== 'scatter' || !trace.customdata || !String(trace.mode).includes('markers')) return;
        const xa = gd._fullLayout['xaxis' + trace.xaxis.slice(1)], ya = gd._fullLayout['yaxis' + trace.yaxis.slice(1)];
        for (const pt of cd) {
            if (pt.i === undefined || !isFinite(pt.x) || !isFinite(pt.y)) continue;
            const cdat = trace.customdata[pt.i];
            const col = trace.meta && trace.meta.also;
            const also = Number.isInteger(col) && Array.isArray(cdat) && cdat[col] ? String(cdat[col]).split(' ') : [];
            out.push({curve, name: trace.name, id: Array.isArray(cdat) ? cdat[0] : cdat, also,
                      x: box.left + xa._offset + xa.c2p(pt.x), y: box.top + ya._offset + ya.c2p(pt.y),
                      radius: pt.mrc || trace.marker.size / 2});
        }
    });
    return out;
}"""


def markers(page, key: str) -> list[dict]:
    """Every drawn subnet marker of the 2D chart with widget key ``key``: curve, trace name, id, page pixel (x, y), radius."""
    return page.evaluate(_MARKERS_JS, key)


def inside_plot(page, key: str, points: list[dict], margin: float = 6.0) -> list[dict]:
    """The ``points`` that lie inside the chart's plotting area (not under the legend or an axis)."""
    r = page.evaluate(
        "(key) => { const b = document.querySelector('.st-key-' + CSS.escape(key) + ' .nsewdrag').getBoundingClientRect();"
        " return {l: b.left, t: b.top, r: b.right, b: b.bottom}; }",
        key,
    )
    return [p for p in points if r["l"] + margin < p["x"] < r["r"] - margin and r["t"] + margin < p["y"] < r["b"] - margin]


def isolated(points: list[dict], gap: float = 24.0) -> list[dict]:
    """Points with no marker of another subnet within ``gap`` pixels, largest first."""
    out = [p for p in points if all(q["id"] == p["id"] or math.hypot(q["x"] - p["x"], q["y"] - p["y"]) > gap for q in points)]
    return sorted(out, key=lambda p: -p["radius"])


def nearest_other(points: list[dict], target: dict) -> dict | None:
    """The marker of another subnet nearest to ``target`` (None when there is none)."""
    others = [q for q in points if q["id"] != target["id"]]
    return min(others, key=lambda q: math.hypot(q["x"] - target["x"], q["y"] - target["y"]), default=None)


_MARKERS_3D_JS = """(key) => {
    const gd = document.querySelector('.st-key-' + CSS.escape(key) + ' .js-plotly-plot');
    const layout = gd && gd._fullLayout.scene;
    const scene = layout && layout._scene;
    if (!scene || !scene.glplot) return [];
    // the scene's own projection (as plotly places 3D annotations): model, view and projection matrices, column-major
    const cam = scene.glplot.cameraParams, scale = scene.dataScale;
    const mul = (m, v) => [0, 1, 2, 3].map(r => m[r] * v[0] + m[4 + r] * v[1] + m[8 + r] * v[2] + m[12 + r] * v[3]);
    const rect = scene.container.getBoundingClientRect();
    const out = [];
    gd._fullData.forEach((trace, curve) => {
        if (trace.type !== 'scatter3d' || !trace.customdata) return;
        for (let i = 0; i < trace.x.length; i++) {
            const v = [layout.xaxis.d2l(trace.x[i]) * scale[0], layout.yaxis.d2l(trace.y[i]) * scale[1], layout.zaxis.d2l(trace.z[i]) * scale[2], 1];
            const p = mul(cam.projection, mul(cam.view, mul(cam.model, v)));
            const cdat = trace.customdata[i];
            out.push({curve, name: trace.name, id: Array.isArray(cdat) ? cdat[0] : cdat,
                      x: rect.left + (1 + p[0] / p[3]) / 2 * rect.width, y: rect.top + (1 - p[1] / p[3]) / 2 * rect.height});
        }
    });
    return out;
}"""


def markers_3d(page, key: str) -> list[dict]:
    """Every subnet marker of the 3D chart with widget key ``key``, projected to page pixels with the scene's camera."""
    return page.evaluate(_MARKERS_3D_JS, key)
