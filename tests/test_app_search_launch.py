"""The Search page starts work only on its button: Enter in a field (a form's submit) must launch nothing."""

from __future__ import annotations

from apptest_helpers import _ok, _page

from ofa_dash.store import RunStore
from ofa_dash.ui import jobs


def test_enter_in_a_field_starts_nothing_and_the_button_starts_the_search(env):
    at = _page("search").run()
    _ok(at)
    # the fields live outside any form: in a form, Enter in a field submits it (that is how a search used to launch)
    assert not at.get("form")
    stored = len(RunStore(env).list_runs("cifar10")[0])
    searches = len(jobs.running_jobs("search"))
    # what Enter does outside a form: the value is committed and the page reruns
    for key, value in (("s_pop", 8), ("s_gen", 2), ("s_seed", 11)):
        at.number_input(key=key).set_value(value).run()
        _ok(at)
    assert "search_job" not in at.session_state
    assert len(jobs.running_jobs("search")) == searches and len(RunStore(env).list_runs("cifar10")[0]) == stored
    assert not at.get("metric")  # no progress panel: nothing is running

    at.button(key="s_go").click().run()
    _ok(at)
    job = jobs.get_job(at.session_state["search_job"])
    assert job is not None and job.kind == "search" and "cifar10" in job.label
    assert {m.label for m in at.metric} >= {"generation", "evaluations", "hypervolume"}
    job.cancel.set()  # the launch is what this test is about; the run itself is tested in test_app.py
    job.thread.join(120)
    assert not job.running
