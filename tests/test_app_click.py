"""AppTest: a row of the decision aids' picks table opens its subnet, on the 2D and the 3D front (synthetic demo root)."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from ofa_dash.testing.demo import ensure_demo

TIMEOUT = 300


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")


@pytest.fixture
def env(demo, tmp_path, monkeypatch):
    root = shutil.copytree(demo[0], tmp_path / "precomputed")
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    monkeypatch.setenv("OFA_DASH_DATA", str(demo[1]))
    monkeypatch.setenv("OFA_DASH_OFFICIAL", str(tmp_path / "no-official-files"))
    return root


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize(("mode", "tag"), [("2D front", "2d"), ("3D front", "3d")])
def test_a_picks_row_opens_its_subnet(env, mode, tag):
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT)
    at.session_state["fr_mode"] = mode
    at.run()
    _ok(at)
    picks = next(df.value for df in at.dataframe if "Decision aid" in df.value)
    assert len(picks) > 1
    at.session_state[f"picks_{tag}"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    _ok(at)
    assert at.title[0].value == "Subnet"
    assert any(s.value.startswith(f"{picks['Subnet id'].iloc[1]} · ") for s in at.subheader)
