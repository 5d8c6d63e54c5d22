"""Clicks in real Chromium: one plain click on a marker opens its subnet, whatever the drag mode.

The Fronts chart starts in box-select mode (dragging brushes the table), where
Streamlit reports no click; :mod:`ofa_dash.ui.point_click` listens to plotly's
own ``plotly_click``. Each test compares the subnet the Subnet page shows with
the clicked marker's ``customdata`` id read from the drawn chart
(:mod:`ofa_dash.testing.plot_dom`). Runs on the synthetic demo root, like
``tests/test_browser.py``.
"""

from __future__ import annotations

import math
import re

import pytest
from browser_helpers import BROWSER

from ofa_dash.testing import browser as bh
from ofa_dash.testing import plot_dom

pytestmark = BROWSER
CHART = "front2d"
# what a page without the listener would do: plotly's click events go nowhere (Streamlit ignores them in box mode)
DISABLE_LISTENER_JS = """(key) => {
    const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
    gd._ev.removeListener('plotly_click', gd._ofaClickListener);
    const on = gd.on;
    gd.on = (name, fn) => (name === 'plotly_click' ? gd : on(name, fn));  // keep the listener from attaching again
}"""


def _fronts(browser, base: str):
    """A fresh Fronts page with its chart drawn, scrolled into view, and the click listener attached."""
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(base)
    bh.wait_ready(page, "Fronts")
    page.wait_for_selector(f".st-key-{CHART} .js-plotly-plot", timeout=120_000)
    page.locator(f".st-key-{CHART}").scroll_into_view_if_needed()
    page.wait_for_function(f"() => !!document.querySelector('.st-key-{CHART} .js-plotly-plot')._ofaClickListener", timeout=60_000)
    return page


def _opened(page) -> str:
    """The subnet id the Subnet page shows (its heading) once it has loaded; it must match the URL."""
    bh.wait_ready(page, "Subnet")
    heading = page.get_by_role("heading", level=3).filter(has_text=re.compile(r"^[0-9a-z]+ · ")).first
    shown = heading.inner_text().split(" · ")[0].strip()
    assert re.search(r"subnet=([0-9a-z]+)", page.url)[1] == shown
    return shown


def _isolated_subnet_marker(page) -> dict:
    points = plot_dom.inside_plot(page, CHART, plot_dom.markers(page, CHART))
    plain = [p for p in plot_dom.isolated(points) if p["name"].endswith(("(Pareto)", "(dominated)"))]  # not a decision aid
    assert plain, "no isolated marker to click"
    return plain[0]


def _hovered_id(page, key: str, x: float, y: float) -> str | None:
    """The subnet plotly's own hover names at a page pixel (its nearest-centre rule, not the listener's)."""
    page.mouse.move(x, y)
    return page.evaluate(
        "(key) => { const h = document.querySelector('.st-key-' + key + ' .js-plotly-plot')._hoverdata;"
        " return h && h.length && h[0].customdata ? h[0].customdata[0] : null; }",
        key,
    )


@pytest.mark.parametrize("mode", [None, "Lasso", "Zoom", "Pan"])
def test_plain_click_opens_the_clicked_marker_in_every_drag_mode(browser, demo_app, mode):
    page = _fronts(browser, demo_app.base)
    gd = f"document.querySelector('.st-key-{CHART} .js-plotly-plot')"
    if mode is None:
        assert page.evaluate(f"() => {gd}._fullLayout.dragmode") == "select"  # the default: box select
    else:
        # the chart's own drag-mode buttons (Streamlit keeps box and lasso off the toolbar of a chart it does not select on)
        page.locator(f".st-key-{CHART} g.updatemenu-button", has_text=mode).click()
        page.wait_for_function(f"() => {gd}._fullLayout.dragmode === {{'Lasso': 'lasso', 'Zoom': 'zoom', 'Pan': 'pan'}}['{mode}']")
    target = _isolated_subnet_marker(page)
    page.mouse.click(target["x"], target["y"])
    assert _opened(page) == target["id"]
    page.close()


def test_without_the_listener_a_plain_click_opens_nothing(browser, demo_app):
    """The control for the test above: the same click with the listener removed leaves the Fronts page as it was."""
    page = _fronts(browser, demo_app.base)
    page.evaluate(DISABLE_LISTENER_JS, CHART)
    target = _isolated_subnet_marker(page)
    page.mouse.click(target["x"], target["y"])
    page.wait_for_timeout(8_000)  # generous on a busy machine: with the listener this click navigates within a second or two
    assert "subnet=" not in page.url
    assert page.get_by_role("heading", name="Fronts", level=1).is_visible()
    page.close()


def _selected_count(page) -> int:
    page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).wait_for(timeout=60_000)
    bh.wait_ready(page, "Fronts")
    return int(re.search(r"\((\d+)\)", page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).inner_text())[1])


def _ids_inside(page, x0: float, x1: float, y0: float = 0.02, y1: float = 0.98, slack: float = 0.0) -> set[str]:
    """Subnet ids of the drawn markers whose centres lie in a box given as fractions of the plot (``slack`` px wider each side)."""
    b = bh.plot_box(page)
    left, right = b["left"] + x0 * b["width"] - slack, b["left"] + x1 * b["width"] + slack
    top, bottom = b["top"] + y0 * b["height"] - slack, b["top"] + y1 * b["height"] + slack
    inside = [p for p in plot_dom.markers(page, CHART) if p.get("id") and left <= p["x"] <= right and top <= p["y"] <= bottom]
    return {i for p in inside for i in [p["id"], *p.get("also", [])]}  # with the subnets a faded marker stands for


def test_box_drag_still_brushes_and_opens_nothing(browser, demo_app):
    page = _fronts(browser, demo_app.base)
    surely, maybe = _ids_inside(page, 0.05, 0.6, slack=-1.5), _ids_inside(page, 0.05, 0.6, slack=1.5)
    bh.box_select(page, 0.05, 0.6)
    count = _selected_count(page)
    assert count > 1 and "subnet=" not in page.url
    assert len(surely) <= count <= len(maybe)  # the listener's ids are the subnets drawn inside the box (give or take a pixel at its edge)
    # the drawn box outlives the rerun it caused (the chart is not redrawn without it)
    gd = f"document.querySelector('.st-key-{CHART} .js-plotly-plot')"
    assert page.evaluate(f"() => ({gd}.layout.selections || []).length") == 1
    # a double click clears the selection and the table with it
    b = bh.plot_box(page)
    page.mouse.dblclick(b["left"] + 0.97 * b["width"], b["top"] + 0.97 * b["height"])
    page.get_by_text("Drag a box over the front").wait_for(timeout=60_000)
    page.close()


def test_a_box_travels_in_the_link_and_a_pasted_link_restores_the_table(browser, demo_app):
    page = _fronts(browser, demo_app.base)
    bh.box_select(page, 0.05, 0.6)
    count = _selected_count(page)
    page.wait_for_function("() => window.location.search.includes('brush=box')", timeout=60_000)
    link = page.url
    assert count > 1 and "brush=box" in link
    page.close()
    pasted = _fronts(browser, link)
    assert _selected_count(pasted) == count
    gd = f"document.querySelector('.st-key-{CHART} .js-plotly-plot')"
    assert pasted.evaluate(f"() => ({gd}.layout.selections || []).length") == 1  # the box is drawn where it was
    pasted.close()


def test_a_lasso_brushes_the_table(browser, demo_app):
    page = _fronts(browser, demo_app.base)
    page.locator(f".st-key-{CHART} g.updatemenu-button", has_text="Lasso").click()
    page.wait_for_function(f"() => document.querySelector('.st-key-{CHART} .js-plotly-plot')._fullLayout.dragmode === 'lasso'")
    b = bh.plot_box(page)
    corners = [(0.02, 0.02), (0.7, 0.02), (0.7, 0.98), (0.02, 0.98), (0.02, 0.03)]
    page.mouse.move(b["left"] + corners[0][0] * b["width"], b["top"] + corners[0][1] * b["height"])
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(b["left"] + fx * b["width"], b["top"] + fy * b["height"], steps=6)
    page.mouse.up()
    assert _selected_count(page) > 1 and "subnet=" not in page.url
    page.close()


def test_click_on_a_knee_diamond_opens_the_knee_not_its_neighbour(browser, demo_app):
    """A click inside the diamond where plotly's own nearest-centre rule names another subnet still opens the knee.

    Zooming out crowds the demo's front the way a dense real front is crowded
    at full size, so such a spot exists; the test first proves it does.
    """
    page = _fronts(browser, demo_app.base)
    spot = None
    for _zoom in range(3):  # zoom out until the front is crowded enough
        page.locator(f".st-key-{CHART} .modebar-btn[data-title='Zoom out']").click()
        page.wait_for_timeout(500)
        points = plot_dom.inside_plot(page, CHART, plot_dom.markers(page, CHART))
        aids = [p for p in points if not p["name"].endswith(("(Pareto)", "(dominated)"))]
        for knee in [p for p in aids if p["name"].startswith("knee")]:
            for radius in (0.3, 0.45, 0.6, 0.75):
                for angle in range(0, 360, 15):
                    x = knee["x"] + radius * knee["radius"] * math.cos(math.radians(angle))
                    y = knee["y"] + radius * knee["radius"] * math.sin(math.radians(angle))
                    if any(a["curve"] >= knee["curve"] and a["id"] != knee["id"] and math.hypot(a["x"] - x, a["y"] - y) <= a["radius"] + 2 for a in aids):
                        continue  # under a mark drawn above the knee, or inside a neighbouring knee's diamond (the nearer centre wins)
                    hovered = _hovered_id(page, CHART, x, y)
                    if hovered and hovered != knee["id"]:
                        spot = (x, y, knee)
                        break
                if spot:
                    break
            if spot:
                break
        if spot:
            break
    assert spot, "no spot inside a knee diamond where plotly's own pick names another subnet"
    x, y, knee = spot
    page.mouse.click(x, y)
    assert _opened(page) == knee["id"]
    page.close()


def _open_picks(page, tag: str):
    """The picks table's grid (the 2D page keeps it in a collapsed expander)."""
    if tag == "2d":
        page.get_by_text(re.compile(r"Decision aids' picks \(\d+\)")).click()
    grid = page.locator(f".st-key-picks_{tag} [data-testid='stDataFrame']")
    grid.wait_for(timeout=60_000)
    return grid


def _settled_box(page, grid) -> dict:
    """The grid's pixel box once the app is idle and the box has stopped moving (elements drawn late above it shift it)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    grid.scroll_into_view_if_needed()
    box = None
    for _ in range(40):
        page.wait_for_timeout(250)
        now = grid.bounding_box()
        if now == box:
            break
        box = now
    return box


def _click_first_row(page, grid) -> None:
    """Pick the first row; until the Subnet page's URL shows, measure the grid again and click again (at most three times).

    glide-data-grid draws on a canvas: the row-marker column comes first; the header row and each
    data row are 35 px high. In full-suite runs a click once landed where the grid had been before
    something above it finished drawing (the page never left Fronts), so the box is taken only once
    it has stopped moving, and afresh for every try.
    """
    for attempt in range(3):
        box = _settled_box(page, grid)
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
        try:
            page.wait_for_url(re.compile(r"/subnet\?"), timeout=45_000)
            return
        except Exception:
            if attempt == 2:
                raise


def test_a_row_of_the_picks_table_opens_its_subnet(browser, demo_app):
    page = _fronts(browser, demo_app.base)
    first_knee = next(p for p in plot_dom.markers(page, CHART) if p["name"].startswith("knee"))  # the picks table lists the knees first, in the same order
    _click_first_row(page, _open_picks(page, "2d"))
    assert _opened(page) == first_knee["id"]
    page.close()


def _fronts_3d(browser, base: str):
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(base)
    bh.wait_ready(page, "Fronts")
    page.get_by_text("3D front", exact=True).click()
    page.wait_for_selector(".st-key-front3d .js-plotly-plot", timeout=120_000)
    bh.wait_ready(page, "Fronts")
    page.locator(".st-key-front3d").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const gd = document.querySelector('.st-key-front3d .js-plotly-plot'); return !!gd._ofaClickListener && !!gd._fullLayout.scene._scene; }"
    )
    page.wait_for_timeout(1_500)  # the scene's first frame
    return page


def test_3d_click_on_a_knee_opens_it(browser, demo_app):
    page = _fronts_3d(browser, demo_app.base)
    drawn = plot_dom.markers_3d(page, "front3d")
    knees = [p for p in drawn if p["name"].startswith("knee")]
    # a knee no other marker's projection crowds (in 3D the nearer one takes the pointer)
    knee = max(knees, key=lambda k: min((math.hypot(o["x"] - k["x"], o["y"] - k["y"]) for o in drawn if o["id"] != k["id"]), default=1e9))
    page.evaluate(
        "() => { window.__hovered = null; document.querySelector('.st-key-front3d .js-plotly-plot').on('plotly_hover', e => { window.__hovered = e.points[0].customdata[0]; }); }"
    )
    page.mouse.move(knee["x"] - 20, knee["y"] - 20)
    page.mouse.move(knee["x"], knee["y"])
    page.wait_for_function("() => window.__hovered !== null", timeout=30_000)
    assert page.evaluate("() => window.__hovered") == knee["id"]  # the projection found the knee's marker
    # plotly's 3D scene sees a click in its render loop: hold the button for a few frames on a busy machine
    page.mouse.down()
    page.wait_for_timeout(400)
    page.mouse.up()
    assert _opened(page) == knee["id"]
    page.close()


def test_3d_picks_table_row_opens_its_subnet(browser, demo_app):
    page = _fronts_3d(browser, demo_app.base)
    first_knee = next(p for p in plot_dom.markers_3d(page, "front3d") if p["name"].startswith("knee"))
    _click_first_row(page, _open_picks(page, "3d"))
    assert _opened(page) == first_knee["id"]
    page.close()
