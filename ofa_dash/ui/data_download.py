"""The Subnet page's answer to a missing dataset: how to get CIFAR-10, and in single-user mode a button that fetches it.

The button runs :func:`ofa_dash.ui.jobs.download_data_work` in the background
(163 MB from the official URL, or the mirror in ``OFA_DASH_CIFAR10_URL`` with
``OFA_DASH_CIFAR10_CHECKSUM``), into the folder :func:`ofa_dash.ui.config.data_download_target`
names. Only in single-user mode (``OFA_DASH_LOCAL=1``): on a server others can
reach, a visitor does not make it download 163 MB; its operator runs the
command shown instead.
"""

from __future__ import annotations

import os

import streamlit as st

from ofa_dash.ui import jobs
from ofa_dash.ui.config import ENV_CIFAR10_CHECKSUM, ENV_CIFAR10_URL, Settings, data_download_target, local_mode, missing_data_message, shown_path
from ofa_dash.ui.text import plain

JOB_KEY = "data_download_job"


def data_download_panel(settings: Settings) -> None:
    """Why validation cannot run, how to get CIFAR-10 and, in single-user mode, the download button with its progress."""
    st.info(missing_data_message(settings), icon=":material/dataset:")
    if not local_mode():
        return
    ss = st.session_state
    dest = data_download_target(settings)
    job = jobs.get_job(ss.get(JOB_KEY))
    running = job is not None and job.running

    @st.fragment(run_every=1.0 if running else None)
    def panel() -> None:
        job = jobs.get_job(ss.get(JOB_KEY))
        if job is not None and job.running:
            st.progress(job.fraction(), text=jobs.progress_text(job))
            if st.button("Cancel download", key="data_download_cancel"):
                job.cancel.set()
            return
        if job is not None and job.error:
            st.error("Download cancelled; nothing was kept." if job.error == "cancelled" else f"Download failed: {plain(job.error)}")
        if job is not None and job.result and ss.get("data_download_done") != job.id:
            ss["data_download_done"] = job.id
            override = dict(ss.get("settings_override", {"official": "", "data": ""}))
            override["data"] = job.result["dir"]
            ss["settings_override"] = override
            st.rerun()  # the whole page: the sidebar now reads the downloaded dataset
        if st.button(
            f"Download CIFAR-10 (163 MB) into {shown_path(dest)}",
            key="data_download_go",
            help="the official archive, checksum-verified; nothing is kept unless it is complete",
        ):
            url, checksum = os.environ.get(ENV_CIFAR10_URL) or None, os.environ.get(ENV_CIFAR10_CHECKSUM) or None
            try:
                job = jobs.start_job("download", "CIFAR-10", jobs.download_data_work(dest, url, checksum))
            except jobs.JobRefused as exc:
                st.error(plain(exc))
            else:
                ss[JOB_KEY] = job.id
                st.rerun()  # the whole page: the fragment polls now that a download runs

    panel()
