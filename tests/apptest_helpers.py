"""Helpers shared by the Streamlit AppTest modules (``tests/test_app*.py``); their fixtures (``demo``, ``env``, ``fresh_cache``) are in conftest.py.

Relative script paths are resolved by ``AppTest.from_file`` against the file that calls it: this one, in tests/ like the tests.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 300


def _app() -> AppTest:
    return AppTest.from_file("../app.py", default_timeout=TIMEOUT)


def _page(name: str) -> AppTest:
    return AppTest.from_file(f"../pages/{name}.py", default_timeout=TIMEOUT)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
