"""The Fronts page's "Deployment ladder": the control is there, and its button builds the ladder as a job, then offers one zip."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from apptest_helpers import _ok, _page
from streamlit.testing.v1 import AppTest

from ofa_dash.space import get_space
from ofa_dash.ui import jobs
from ofa_dash.ui.ladder_view import ladder_job_key

pytestmark = pytest.mark.usefixtures("fresh_cache")  # nothing built yet


def _ladder_k(at: AppTest):
    found = [n for n in at.number_input if n.label == "models (K)"]
    assert len(found) == 1
    return found[0]


def test_fronts_page_shows_the_ladder_control(env):
    at = _page("fronts")
    at.run()
    _ok(at)
    assert "Deployment ladder" in [e.label for e in at.expander]
    k = _ladder_k(at)
    assert k.value == 4 and k.min == 2
    assert at.button(key="ladder_build").label == "Build ladder (4 models)"
    assert any("pick.py" in str(c.value) and "python -m ofa_dash ladder" in str(c.value) for c in at.caption)
    assert not [b for b in at.get("download_button") if b.key == "ladder_download"]  # nothing built yet


def test_build_button_runs_a_ladder_job_then_offers_the_zip(env):
    at = _page("fronts")
    at.run()
    _ok(at)
    _ladder_k(at).set_value(2).run()
    _ok(at)
    at.button(key="ladder_build").click().run()
    _ok(at)
    job = jobs.get_job(at.session_state[ladder_job_key(get_space("cifar10"), "demo-cpu")])
    assert job is not None and job.kind == "ladder"
    job.thread.join(240)
    assert not job.running and job.error is None, job.error
    assert job.stage == "done" and job.done == job.total == 2
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at.run()
        _ok(at)
        offered = [b for b in at.get("download_button") if b.key == "ladder_download"]
        if offered:
            break
        time.sleep(0.5)
    assert offered and offered[0].label == "Download the ladder (2 models, zip) ✓"
    with zipfile.ZipFile(io.BytesIO(open(job.result["path"], "rb").read())) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read(next(n for n in names if n.endswith("/ladder.json"))))
    assert len(manifest["models"]) == 2 and any(n.endswith("/pick.py") for n in names)
    assert sum(n.endswith(".onnx") for n in names) == 2
