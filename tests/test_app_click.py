"""AppTest: a row of the decision aids' picks table opens its subnet, on the 2D and the 3D front (synthetic demo root)."""

from __future__ import annotations

import pytest
from apptest_helpers import _app, _ok


@pytest.mark.parametrize(("mode", "tag"), [("2D front", "2d"), ("3D front", "3d")])
def test_a_picks_row_opens_its_subnet(env, mode, tag):
    at = _app()
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
