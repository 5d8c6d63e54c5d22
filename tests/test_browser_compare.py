"""The Compare page in real Chromium: the Subnet page's "Add to comparison" opens it with both subnets, and the link keeps them."""

from __future__ import annotations

from browser_helpers import BROWSER

from ofa_dash.space import get_space
from ofa_dash.testing import browser as bh

pytestmark = BROWSER
CIFAR = get_space("cifar10")


def test_add_to_comparison_opens_the_compare_page_and_the_link_restores_it(browser, demo_app):
    large, small = CIFAR.largest().id, CIFAR.smallest().id
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(f"{demo_app.base}/subnet?space=cifar10&subnet={large}&compare={small}")
    bh.wait_ready(page, "Subnet")
    page.get_by_role("button", name="Add to comparison").click()
    bh.wait_ready(page, "Compare")
    assert f"compare={small}%2C{large}" in page.url or f"compare={small},{large}" in page.url
    page.get_by_text("Where the time goes").wait_for(timeout=60_000)
    link = page.url
    other = browser.new_page(viewport=bh.VIEWPORT)
    other.goto(link)
    bh.wait_ready(other, "Compare")
    grid_text = other.locator("[data-testid='stDataFrame']").first.inner_text(timeout=60_000)
    assert "quantity" in grid_text.lower() or other.get_by_text("Objectives").is_visible()
    # the buttons are drawn after the objectives table: wait for them rather than test once (a loaded machine lags)
    other.get_by_role("button", name=f"Open {large}").wait_for(timeout=60_000)
    other.get_by_role("button", name=f"Open {small}").wait_for(timeout=60_000)
    page.close()
    other.close()
