"""Parallel coordinates and the shortlist in real Chromium: a drag along an axis lists the subnets inside it; a pin's report opens offline.

The listener (:mod:`ofa_dash.ui.parcoords`) reads the brushed range from the
trace after plotly's ``plotly_restyle`` and sends it back; the server picks the
rows. The test checks the listed ids against the range plotly holds.
"""

from __future__ import annotations

import re

from browser_helpers import BROWSER

from ofa_dash.space import get_space
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
    # the ranges travel in the link; pasted into a new page, it opens on the parallel view with the same table
    page.wait_for_function("() => window.location.search.includes('pcbrush=')", timeout=60_000)
    link = page.url
    page.close()
    pasted = browser.new_page(viewport=bh.VIEWPORT)
    pasted.goto(link)
    bh.wait_ready(pasted, "Fronts")
    pasted.get_by_role("heading", name=re.compile(r"^Selected subnets \(\d+\)$")).wait_for(timeout=120_000)
    assert pasted.get_by_role("heading", name=re.compile(r"^Selected subnets \(\d+\)$")).inner_text() == heading
    pasted.wait_for_function(f"() => !!{GD} && !!{GD}.data[0].dimensions[0].constraintrange", timeout=60_000)  # drawn on its axis again
    pasted.close()


def test_a_pin_reaches_the_shortlist_page_and_its_report_opens_as_html(browser, demo_app, tmp_path):
    """On the demo server (shared mode: pins stay in the session) a pin with a hostile note; the report downloads and opens offline."""
    sid = get_space("cifar10").largest().id
    note = "<img src=x onerror=alert(1)> fastest"
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(f"{demo_app.base}/subnet?space=cifar10&subnet={sid}")
    bh.wait_ready(page, "Subnet")
    page.get_by_test_id("stMainBlockContainer").get_by_text("Shortlist", exact=True).click()  # the expander
    field = page.get_by_label("note (why this one)")
    field.fill(note)
    field.press("Control+Enter")  # commit the note and let its rerun finish: a click racing that rerun can be lost on a busy machine
    bh.wait_ready(page, "Subnet")
    page.get_by_role("button", name="Pin to shortlist").click()
    page.get_by_role("button", name="Remove from shortlist").wait_for(timeout=60_000)
    assert f"shortlist={sid}" in page.url
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Shortlist").click()
    bh.wait_ready(page, "Shortlist")
    page.get_by_text(note).first.wait_for(timeout=60_000)  # shown as text
    with page.expect_download(timeout=300_000) as dl:
        page.get_by_role("button", name="Download decision report (HTML)").click()
    report = tmp_path / "report.html"
    dl.value.save_as(report)
    offline = browser.new_page(viewport=bh.VIEWPORT)
    offline.goto(report.as_uri())
    offline.wait_for_selector("#front .main-svg", timeout=60_000)  # plotly drew the front from the inline script
    assert offline.locator(f"#pick-{sid} .note").inner_text() == note
    assert offline.locator("img").count() == 0
    page.close()
    offline.close()
