"""In real Chromium: the front's hover label is short and stays inside the chart; the subnet table reads as documented."""

from __future__ import annotations

import re

from browser_helpers import BROWSER

from ofa_dash.testing import browser as bh

pytestmark = BROWSER

TOPMOST_POINT = """() => {
    const gd = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
    const pts = Array.from(gd.querySelectorAll('.scatterlayer .trace .points path')).map(p => {
        const r = p.getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2};
    });
    pts.sort((a, b) => a.y - b.y);
    return pts[0];
}"""
HOVER_BOX = """() => {
    const gd = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
    const label = gd.querySelector('.hoverlayer .hovertext');
    if (!label) return null;
    const r = label.getBoundingClientRect(), c = gd.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
            chart: {top: c.top, bottom: c.bottom, left: c.left, right: c.right},
            lines: label.querySelectorAll('tspan.line').length, text: label.textContent};
}"""


def test_hover_on_the_most_accurate_point_is_short_and_inside_the_chart(browser, demo_app):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(demo_app.base)
    bh.wait_ready(page, "Fronts")
    page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
    page.locator("[data-testid='stPlotlyChart']").first.scroll_into_view_if_needed()
    top = page.evaluate(TOPMOST_POINT)
    page.mouse.move(top["x"] - 3, top["y"] + 3)
    page.mouse.move(top["x"], top["y"])
    page.wait_for_function("() => !!document.querySelector('.hoverlayer .hovertext')", timeout=30_000)
    box = page.evaluate(HOVER_BOX)
    assert box["top"] >= box["chart"]["top"] and box["bottom"] <= box["chart"]["bottom"], box
    assert box["left"] >= box["chart"]["left"] and box["right"] <= box["chart"]["right"], box
    assert box["lines"] <= 4, box["text"]  # id, top-1 with its tag, the axis latency, MACs
    assert re.search(r"top-1 [\d.]+ % \(predicted\)", box["text"]) and "synthetic" not in box["text"], box["text"]
    # three significant digits (d3's "r"): 0.948 ms, 1.58 ms, 12.3 ms
    assert re.search(r"latency on demo-cpu (0\.\d{3}|[1-9]\.\d{2}|[1-9]\d\.\d) ms", box["text"]), box["text"]
    page.close()


def test_the_selection_table_has_friendly_headers(browser, demo_app):
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(demo_app.base)
    bh.wait_ready(page, "Fronts")
    page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
    bh.box_select(page, 0.02, 0.98)
    page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).wait_for(timeout=60_000)
    bh.wait_ready(page, "Fronts")
    grid = page.locator(".st-key-table_2d [data-testid='stDataFrame']")  # the selection's table, by its widget key
    grid.locator("th[role=columnheader]").first.wait_for(state="attached", timeout=30_000)
    # glide-data-grid draws on a canvas; its accessible table (inside the canvas) names the headers
    headers = grid.locator("th[role=columnheader]").all_text_contents()
    assert headers[:3] == ["Top-1 (%)", "Source", "Latency demo-cpu (ms)"] and "Subnet id" in headers and "top1_source" not in headers, headers
    first_row = grid.locator("tbody tr").first.locator("td").all_text_contents()
    assert first_row[1] == "predicted", first_row
    page.close()
