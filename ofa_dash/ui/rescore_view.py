"""The pages' refit and re-score controls: validated subnets added to the predictor's data, and stored runs re-scored.

Refitting (:mod:`ofa_dash.refit`: holdout measurements, a refit, a re-score) is a
background job of a minute or more and changes the predictor everyone sees, so
it is offered in local mode only; a shared server shows the CLI commands an
administrator runs instead. After a refit, the fronts' accuracy is the old
predictor's until re-scored. The re-score button runs
:func:`ofa_dash.rescore.rescore_runs` (a few thousand predictions: seconds, so no
background job); the runs' own files are never rewritten, and the Fronts page then
marks the subnets that fell off their run's front.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ofa_dash.progress import Cancelled
from ofa_dash.rescore import predictor_info, rescore_runs
from ofa_dash.space import SearchSpace
from ofa_dash.store import RunStore
from ofa_dash.ui import jobs, loaders
from ofa_dash.ui.catalogue import current_supernet_version
from ofa_dash.ui.config import Settings, hide_absolute_paths, local_mode
from ofa_dash.ui.job_panel import show_running
from ofa_dash.ui.text import plain


def stale_runs(root, space: str, predictor, entries: list[dict] | None = None) -> list[str]:
    """Runs with an error objective whose accuracy (re-scored or original) comes from another predictor (name or version) than ``predictor``.

    ``entries``: the space's valid run entries when the caller has them (the pages' cached list);
    otherwise the store lists them (validating every run's files).
    """
    store = RunStore(root)
    if entries is None:
        entries, _ = store.list_runs(space)
    current = predictor_info(predictor)
    out = []
    for entry in entries:
        if "error" not in entry["objectives"]:
            continue
        rescored = store.rescore_info(space, entry["run_id"])
        used = rescored.get("predictor") if rescored is not None else (entry.get("versions") or {}).get("predictor")
        used = used or {}
        if (used.get("name"), used.get("version")) != (current["name"], current["version"]):
            out.append(entry["run_id"])
    return out


def refit_work(settings: Settings, space: SearchSpace, arch_ids: list[str], data_path) -> Callable[[jobs.Job], dict]:
    """The body of a refit job: the dataset loaded once per process (shared with validations), then :func:`ofa_dash.refit.refit_with`."""

    def work(job: jobs.Job) -> dict:
        from ofa_dash.refit import refit_with  # deferred: torch loads only when a job runs

        job.update("loading the dataset")
        data = jobs.shared_dataset(data_path, progress=lambda stage, done, total: job.update(stage, done, total), space=space)
        result = refit_with(space, arch_ids, data, root=settings.precomputed, progress=job.update, cancel=job.cancel.is_set)
        if result.cancelled:
            raise Cancelled("refit cancelled")
        return result.to_dict()

    return work


def refit_panel(settings: Settings, space: SearchSpace, key: str = "refit") -> None:
    """Validated subnets not yet in the predictor's data: a refit button (local mode) or the commands that do it (shared server)."""
    from ofa_dash.refit import validated_not_in_predictor_data  # deferred: pyarrow loads when the panel is opened

    folder = settings.folder(space)
    version = current_supernet_version(settings.precomputed, space.name)
    if not folder.measured.is_file() or version is None:
        return  # a published predictor (OFA's), or no trained supernet: nothing of ours to refit
    pending = validated_not_in_predictor_data(settings.precomputed, space, version)
    job = jobs.get_job(st.session_state.get(f"{key}_job"))
    running = job is not None and job.running
    if pending and not running:
        ids = ",".join(pending)
        st.caption(
            f"{len(pending)} validated subnet(s) are not in the predictor's data yet. Adding them measures each on the holdout split "
            "(what the predictor learns), refits the predictor and re-scores the stored runs."
        )
        data = settings.data_for(space)
        if not local_mode():
            st.caption("On a shared server an administrator does it (it changes the predictor every visitor sees):")
            st.code(
                f"python -m ofa_dash measure --space {space.name} --arch {ids} --data DATA\npython -m ofa_dash fit-predictor --space {space.name} --rescore",
                language="bash",
            )
        elif data is None or not settings.has_supernet(space):
            st.caption("Refitting needs the dataset and the supernet weights.")
        elif st.button(f"Add {len(pending)} subnet(s) to the predictor's data and refit", key=f"{key}_go", icon=":material/model_training:"):
            try:
                job = jobs.start_job("refit", f"refit {space.name}", refit_work(settings, space, pending, data))
            except jobs.JobRefused as exc:
                st.error(plain(exc))
            else:
                st.session_state[f"{key}_job"] = job.id
                st.rerun()

    @st.fragment(run_every=1.0 if running else None)
    def refit_status() -> None:
        job = jobs.get_job(st.session_state.get(f"{key}_job"))
        if job is None or show_running(job, f"{key}_cancel"):
            return
        if job.error == "cancelled":
            st.info("Refit cancelled: the holdout measurements made so far are kept; the predictor and the runs are unchanged.")
        elif job.error:
            st.error(f"Refit failed: {plain(hide_absolute_paths(job.error))}")
        elif job.result:
            p = job.result["predictor"]
            st.success(
                f"Added {len(job.result['measured'])} subnet(s) ({job.result['rows']} measured in all); predictor {p['model_name']} refitted "
                f"(held-out RMSE {p['rmse']:.2f} points, Kendall tau {p['kendall_tau']:.3f}); {len(job.result['rescored'])} run(s) re-scored."
            )
        if st.session_state.get(f"{key}_refreshed") != job.id:
            st.session_state[f"{key}_refreshed"] = job.id
            st.rerun()  # once, so the fronts and the captions read the new predictor

    refit_status()


def rescore_panel(settings: Settings, space: SearchSpace, predictor, key: str = "rescore") -> None:
    """The refit control, a caption saying how many runs the current predictor did not score, and a button re-scoring every run with it."""
    refit_panel(settings, space, key=f"{key}_refit")
    if predictor is None:
        st.caption("No accuracy predictor here, so the stored runs cannot be re-scored.")
        return
    stale = stale_runs(settings.precomputed, space.name, predictor, loaders.list_runs(settings, space.name)[0])  # cached list: no checksums per rerun
    info = predictor_info(predictor)
    if stale:
        st.caption(
            f"{len(stale)} stored run(s) were scored by another predictor than the current one ({info['name']}, {info['version']}). "
            "After refitting (`python -m ofa_dash fit-predictor`) on new measurements, re-score them: the runs keep their original objectives."
        )
    else:
        st.caption(f"Every stored run's accuracy comes from the current predictor ({info['name']}, {info['version']}).")
    if st.button("Re-score the fronts with the current predictor", key=key, disabled=not stale, icon=":material/refresh:"):
        try:
            with st.spinner("Re-scoring the stored runs…"):
                done = rescore_runs(settings.precomputed, space.name, predictor, stale)
        except (ValueError, OSError) as exc:
            st.error(plain(f"Re-scoring failed: {exc}"))
            return
        fell = sum(r["fell_off"] for r in done)
        st.session_state[f"{key}_done"] = f"Re-scored {len(done)} run(s); {fell} subnet(s) fell off their run's front (marked on the Fronts page)."
        st.rerun()
    if message := st.session_state.pop(f"{key}_done", None):
        st.success(message)
