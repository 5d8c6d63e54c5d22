"""Parallel coordinates in real Chromium: a drag along an axis brushes a range, and the table lists the subnets inside it.

The listener (:mod:`ofa_dash.ui.parcoords`) reads the brushed range from the
trace after plotly's ``plotly_restyle`` and sends it back; the server picks the
rows. The test checks the listed ids against the range plotly holds.
"""

from __future__ import annotations

import re

from browser_helpers import BROWSER

from ofa_dash.testing import browser as bh
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.parcoords import parcoords_rows, rows_in_ranges

pytestmark = BROWSER
CHART = "frontpc"
GD = f"document.querySelector('.st-key-{CHART} .js-plotly-plot')"


def test_brushing_an_axis_lists_the_subnets_inside_its_range(browser, demo_app):
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(demo_app.base + "/?space=cifar10&device=demo-cpu,demo-gpu")
    bh.wait_ready(page, "Fronts")
    page.get_by_text("Parallel", exact=True).click()
    page.wait_for_function(f"() => !!{GD} && !!{GD}._ofaRangeListener", timeout=120_000)
    page.locator(f".st-key-{CHART}").scroll_into_view_if_needed()
    bh.brush_axis(page, CHART, 0, 0.05, 0.6)  # top-1 (%)
    page.get_by_role("heading", name=re.compile(r"^Selected subnets \(\d+\)$")).wait_for(timeout=60_000)
    bh.wait_ready(page, "Fronts")
    brushed = page.evaluate(f"() => {GD}.data[0].dimensions[0].constraintrange")
    pairs = brushed if isinstance(brushed[0], list) else [brushed]
    cat = build_catalogue(demo_app.root, "cifar10", sets=("archive",))
    lines, _ = parcoords_rows(cat.points, ["top1", "latency:demo-cpu", "latency:demo-gpu", "macs", "params", "peak_mem"])
    expected = rows_in_ranges(lines, {"top1": [tuple(p) for p in pairs]})
    heading = page.get_by_role("heading", name=re.compile(r"^Selected subnets \(\d+\)$")).inner_text()
    assert len(expected) > 0 and heading == f"Selected subnets ({len(expected)})"
    page.close()
