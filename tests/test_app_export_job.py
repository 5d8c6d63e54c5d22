"""The Subnet page builds an export as a background job on its button, then offers the download."""

from __future__ import annotations

import time

import pytest
from apptest_helpers import _ok, _page

from ofa_dash.space import get_space
from ofa_dash.ui import jobs

pytestmark = pytest.mark.usefixtures("fresh_cache")  # nothing built yet


def test_build_button_runs_an_export_job_then_the_download_appears(env):
    at = _page("subnet")
    at.query_params["subnet"] = "0000000000000000"
    at.run()
    assert not at.exception
    assert not at.get("download_button")
    at.button(key="build_onnx").click().run()
    _ok(at)
    job_id = at.session_state[jobs.export_job_key(get_space("cifar10"), get_space("cifar10").arch_from_id("0000000000000000"), "onnx")]
    job = jobs.get_job(job_id)
    assert job is not None and job.kind == "export"
    job.thread.join(240)
    assert not job.running and job.error is None, job.error
    assert job.stage == "done" and job.done == job.total == len(jobs.EXPORT_STEPS)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception
        labels = [b.label for b in at.get("download_button")]
        if "ONNX (fp32) ✓" in labels:
            break
        time.sleep(0.5)
    assert "ONNX (fp32) ✓" in labels
    assert "Build ONNX (fp32)" not in [b.label for b in at.button] and "Build int8 ONNX" in [b.label for b in at.button]
