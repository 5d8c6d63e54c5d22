"""Helpers shared by the real-Chromium modules (``tests/test_browser*.py``); their fixtures (``browser``, ``demo_app``) are in conftest.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ofa_dash.testing import browser as bh

# each module's ``pytestmark``
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(bh.CHROMIUM).is_file(), reason=f"Debian's chromium is not installed at {bh.CHROMIUM} (apt-get install chromium)"),
]


def build_and_download(page, label: str, path: Path) -> Path:
    """On the Subnet page: "Build <label>" (built in the background), then its "<label> ✓" download button, saved to ``path``."""
    page.get_by_role("button", name=f"Build {label}").click()
    ready = page.get_by_role("button", name=re.compile(rf"^{re.escape(label)} ✓"))
    ready.wait_for(timeout=300_000)
    page.reload()  # a fresh page: no build polling redraws the button under the click
    bh.wait_ready(page, "Subnet")
    ready.wait_for(timeout=120_000)
    with page.expect_download(timeout=300_000) as dl:
        ready.click()
    dl.value.save_as(path)
    return path
