"""The layout in real Chromium at 1280x720: the front is the first thing on screen; presentation mode clears the stage.

Same synthetic demo root and server harness as ``tests/test_browser.py``
(``streamlit run app.py`` from the repository root, so ``.streamlit/config.toml``
is read).
"""

from __future__ import annotations

from browser_helpers import BROWSER

from ofa_dash.store import RunStore
from ofa_dash.testing import browser as bh

pytestmark = BROWSER
SMALL_SCREEN = {"width": 1280, "height": 720}
CHART = "[data-testid='stPlotlyChart']"


def _open_fronts(browser, url: str):
    page = browser.new_page(viewport=SMALL_SCREEN)
    page.goto(url)
    bh.wait_ready(page, "Fronts")
    page.wait_for_selector(f"{CHART} .js-plotly-plot", timeout=120_000)
    return page


def _tick_font_px(page) -> float:
    return page.evaluate(f'() => parseFloat(getComputedStyle(document.querySelector("{CHART} .xtick text")).fontSize)')


def test_the_front_starts_in_the_upper_half_of_a_1280x720_screen(browser, demo_app):
    base, _ = demo_app
    page = _open_fronts(browser, base)
    top = page.evaluate(f'() => document.querySelector("{CHART}").getBoundingClientRect().top')
    assert 0 < top < SMALL_SCREEN["height"] / 2, f"the chart starts {top:.0f} px down"
    # config.toml's viewer toolbar: no Deploy button even for a visitor on localhost
    assert page.locator("[data-testid='stAppDeployButton']").count() == 0
    # the run picker and the data folder are there outside presentation mode (relative, never absolute)
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_text("single runs · 3 of 3 runs").count() == 1
    assert sidebar.get_by_text("data from").count() == 1
    assert "/" not in sidebar.get_by_text("data from").inner_text().split("data from", 1)[1].strip()
    page.close()


def test_presentation_mode_hides_toolbar_paths_and_run_chips_and_enlarges_the_chart_text(browser, demo_app):
    base, _ = demo_app
    normal = _open_fronts(browser, base)
    normal_tick = _tick_font_px(normal)
    normal.close()

    page = _open_fronts(browser, base + "/?present=1")
    assert not page.locator("[data-testid='stToolbar']").is_visible()
    assert not page.locator("[data-testid='stMainMenu']").is_visible()
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_text("single runs").count() == 0  # no run picker, no chips
    assert sidebar.get_by_text("data from").count() == 0  # no paths
    assert sidebar.get_by_text("3 of 3 runs").count() == 1  # one line instead
    assert _tick_font_px(page) > normal_tick
    # the toggle turns it off again, and the toolbar comes back
    sidebar.get_by_text("presentation mode").click()
    page.wait_for_function("() => !new URL(location.href).searchParams.has('present')", timeout=120_000)
    bh.wait_ready(page, "Fronts")
    page.locator("[data-testid='stToolbar']").wait_for(state="visible", timeout=60_000)
    page.close()


def test_a_chosen_run_group_reads_in_full_in_the_sidebar(browser, demo_app):
    base, root = demo_app
    runs, _ = RunStore(root).list_runs("cifar10")
    nsga2 = ",".join(r["run_id"] for r in runs if r["algorithm"] == "nsga2")
    page = _open_fronts(browser, f"{base}/?space=cifar10&run={nsga2}")
    chip = (
        page.get_by_test_id("stSidebar")
        .get_by_test_id("stMultiSelectTagsContainer")
        .get_by_text("NSGA-II · error + latency:demo-cpu · 16×6 · seeds 1-2", exact=True)
    )
    chip.wait_for(timeout=60_000)
    # no part of the chip is cut off: every element inside it shows all of its content
    clipped = chip.evaluate(
        "(el) => [el, ...el.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1 || getComputedStyle(e).textOverflow === 'ellipsis')"
    )
    assert not clipped
    page.close()
