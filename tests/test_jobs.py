"""Background work yields the cores to the UI: job threads and exports run at a lower priority."""

import os
import sys
import threading

import pytest

from ofa_dash.ui import jobs

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
def test_a_job_runs_at_background_priority_and_the_caller_keeps_its_own():
    before = _nice()
    job = jobs.start_job("test", "nice check", lambda job: {"nice": _nice()})
    job.thread.join(10)
    assert job.error is None
    assert job.result["nice"] == min(19, before + jobs.BACKGROUND_NICENESS)
    assert _nice() == before


@linux_only
def test_run_at_background_priority_returns_and_raises_in_the_caller():
    before = _nice()
    assert jobs.run_at_background_priority(_nice) == min(19, before + jobs.BACKGROUND_NICENESS)
    with pytest.raises(ValueError, match="boom"):
        jobs.run_at_background_priority(lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert _nice() == before
