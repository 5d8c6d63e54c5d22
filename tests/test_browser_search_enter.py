"""In real Chromium: Enter in a Search field starts no search; the Start search button does.

The Search page once held its fields in an ``st.form``, which submits on Enter
in any field: a visitor changing the population and pressing Enter launched
(and stored) a search. Streamlit's AppTest cannot press keys, so this test does.
"""

from __future__ import annotations

from browser_helpers import BROWSER

from ofa_dash.store import RunStore
from ofa_dash.testing import browser as bh

pytestmark = BROWSER


def test_enter_in_a_search_field_starts_nothing(browser, demo_app):
    base, root = demo_app
    before = len(RunStore(root).list_runs("cifar10")[0])
    page = browser.new_page(viewport=bh.VIEWPORT)
    page.goto(f"{base}/search")
    bh.wait_ready(page, "Search")
    for label, value in (("population", "8"), ("generations", "2")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        bh.wait_ready(page, "Search")
    page.wait_for_timeout(3000)  # a launched search would show its progress panel within this time
    assert page.get_by_test_id("stMetricLabel").filter(has_text="generation").count() == 0
    assert len(RunStore(root).list_runs("cifar10")[0]) == before
    assert page.get_by_label("population", exact=True).input_value() == "8"  # Enter committed the value, nothing else

    page.get_by_role("button", name="Start search").click()
    page.get_by_text("Saved run").wait_for(timeout=240_000)
    assert len(RunStore(root).list_runs("cifar10")[0]) == before + 1
    page.close()
