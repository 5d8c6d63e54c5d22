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


def test_server_limits_refuse_long_fine_tunes_from_a_page(monkeypatch):
    from ofa_dash.ui import jobs

    jobs.check_finetune_size(10)  # the default limit
    with pytest.raises(jobs.JobRefused, match=r"11 epochs is more than this server fine-tunes from a page \(10\)"):
        jobs.check_finetune_size(11)
    monkeypatch.setenv("OFA_DASH_MAX_FINETUNE_EPOCHS", "2")
    with pytest.raises(jobs.JobRefused, match=r"command line"):
        jobs.check_finetune_size(3)
    monkeypatch.setenv("OFA_DASH_MAX_FINETUNE_EPOCHS", "two")
    with pytest.raises(ValueError, match="must be numbers"):
        jobs.JobLimits.from_env()


def test_server_limits_refuse_oversize_searches_and_too_many_jobs(monkeypatch):
    import threading

    from ofa_dash.ui import jobs

    monkeypatch.setenv("OFA_DASH_MAX_SEARCH_EVALS", "10000")
    monkeypatch.setenv("OFA_DASH_MAX_JOBS", "1")
    with pytest.raises(jobs.JobRefused, match=r"2000 x 5000 = 10,000,000 evaluations is larger than this server allows \(10,000\)"):
        jobs.check_search_size(2000, 5000)
    jobs.check_search_size(100, 100)
    release = threading.Event()
    first = jobs.start_job("search", "holds the only slot", lambda job: release.wait(30) and {})
    try:
        for _ in range(3):  # three sessions asking at once all get the limit message
            with pytest.raises(jobs.JobRefused, match="already running 1 background job"):
                jobs.start_job("search", "another", lambda job: {})
    finally:
        release.set()
        first.thread.join(10)
    assert not first.running


def test_a_job_nobody_polls_any_more_is_cancelled():
    import time

    from ofa_dash.ui import jobs

    limits = jobs.JobLimits(max_jobs=5, orphan_seconds=60)
    job = jobs.start_job("search", "its tab was closed", lambda job: job.cancel.wait(30) and {"cancelled": True}, limits)
    try:
        assert jobs.reap_orphans(limits, now=time.time()) == []  # just started: its session is still there
        assert jobs.get_job(job.id) is job  # a poll keeps it alive
        assert jobs.reap_orphans(limits, now=time.time() + 61) == [job]
        job.thread.join(10)
        assert job.cancelled and not job.running and "tab was closed" in job.message
    finally:
        job.cancel.set()


def test_the_queue_message_counts_and_never_names_another_visitors_subnet():
    from ofa_dash.ui.jobs import queue_message

    assert queue_message(1) == "1 validation ahead of yours; yours starts when it ends"
    assert queue_message(2).startswith("2 validations ahead of yours")
