"""The "Profile a browser" page in AppTest: what it asks for and what it refuses before any model is exported.

The browser part (the component, onnxruntime-web) runs only in real Chromium: tests/test_browser_profile.py.
"""

from __future__ import annotations

import pytest
from apptest_helpers import _ok, _page


def _start(env, name: str):
    at = _page("browser_profile")
    at.run()
    _ok(at)
    at.text_input[0].set_value(name)
    at.button[0].click().run()
    _ok(at)
    return at


def test_the_page_asks_for_a_name_and_explains_itself(env):
    at = _page("browser_profile")
    at.run()
    _ok(at)
    assert at.title[0].value == "Profile a browser"
    assert "onnxruntime-web" in at.markdown[0].value or any("onnxruntime-web" in m.value for m in at.markdown)
    assert at.text_input[0].label == "device name" and at.button[0].label == "Start"


@pytest.mark.parametrize(
    ("name", "words"),
    [("", "name the device"), ("My Phone!", "40 characters"), ("note10", "reserved"), ("demo-cpu", "already exists")],
)
def test_a_bad_or_taken_name_is_refused_and_nothing_is_prepared(env, fresh_cache, name, words):
    at = _start(env, name)
    assert at.error and words in at.error[0].value
    assert not (fresh_cache / "browser-models").exists()  # no model was exported
    assert sorted(p.name for p in (env / "cifar10" / "devices").glob("*.json")) == ["demo-cpu.json", "demo-gpu.json"]


def test_the_operator_can_turn_the_page_off(env, monkeypatch):
    monkeypatch.setenv("OFA_DASH_BROWSER_PROFILES", "0")
    at = _page("browser_profile")
    at.run()
    _ok(at)
    assert not at.button and not at.text_input
    assert "turned off" in at.info[0].value
