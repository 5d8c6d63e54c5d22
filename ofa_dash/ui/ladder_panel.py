"""The Fronts page's "Deployment ladder" control: choose K, build the ladder as a background job, download one zip.

The page calls :func:`ladder_panel` inside an expander below its chart; what
the ladder holds and how it is built is :mod:`ofa_dash.ui.ladder_view`'s.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ofa_dash.ladder.rungs import LadderColumns, select_rungs
from ofa_dash.space import SearchSpace
from ofa_dash.ui import jobs
from ofa_dash.ui.catalogue import LATENCY_PREFIX, DeviceInfo
from ofa_dash.ui.config import Settings, missing_data_message
from ofa_dash.ui.ladder_view import MAX_RUNGS, cached_ladder, ladder_job_key, ladder_work, latency_source
from ofa_dash.ui.text import plain

DEFAULT_RUNGS = 4


def ladder_panel(settings: Settings, space: SearchSpace, front: pd.DataFrame, device: str, info: DeviceInfo | None) -> None:
    """K models of the chart's front (``front``: its Pareto rows, latency axis on ``device``), exported and verified in the background, then one zip.

    The page passes the front it drew (its constraints and accuracy choice apply), so
    nothing is computed twice; ``info`` is the catalogue's word on the device's latencies.
    """
    st.caption(
        f"Export K subnets of the front on the chart (latency on **{plain(device)}**; its constraints apply), "
        "spread over its latency range, each a verified fp32 ONNX, "
        "with `ladder.json` (objectives and their sources) and a dependency-free `pick.py` "
        "(`python pick.py 0.5`: the most accurate model within 0.5 ms). "
        f"Command line: `python -m ofa_dash ladder --space {space.name} --device {plain(device)} --k K --out DIR`."
    )
    front = front.drop_duplicates("id")
    if len(front) < 2:
        st.info(f"The front on {plain(device)} holds {len(front)} subnet(s): a ladder needs at least two.")
        return
    if not settings.has_supernet(space):
        st.info("A ladder exports models, so it needs the supernet's weights, which this server does not have.")
        return
    if jobs.calibration_key(settings, space) is None:
        st.info(
            "A ladder re-estimates BN statistics for each model, on the dataset or on the space's shipped calibration sample, "
            "and this server has neither. " + missing_data_message(settings)
        )
        return
    most = min(MAX_RUNGS, len(front))
    # the bound is in the key: constraints that shrink the front start the control afresh instead of holding a K above it
    k = int(st.number_input("models (K)", 2, most, min(DEFAULT_RUNGS, most), key=f"ladder_k_{space.name}_{device}_{most}"))
    rungs = select_rungs(front, LadderColumns(LATENCY_PREFIX + device), k)
    st.caption("Rungs (fastest first): " + ", ".join(f"`{r['id']}` ({r[LATENCY_PREFIX + device]:.3f} ms, {r['top1']:.1f} %)" for _, r in rungs.iterrows()))
    ids = [str(i) for i in rungs["id"]]
    key = ladder_job_key(space, device)
    job = jobs.get_job(st.session_state.get(key))
    running = job is not None and job.running

    @st.fragment(run_every=1.0 if running else None)
    def status() -> None:
        job = jobs.get_job(st.session_state.get(key))
        built = cached_ladder(settings, space, device, ids)
        if job is not None and job.running:
            st.progress(job.fraction(), text=jobs.progress_text(job))
            if st.button("Cancel", key="ladder_cancel"):
                job.cancel.set()
            return
        if job is not None and running:
            st.rerun()  # the build ended: redraw the page without polling
        if built is not None:
            st.download_button(
                f"Download the ladder ({len(ids)} models, zip) ✓",
                data=lambda path=built: path.read_bytes(),
                file_name=f"{space.name}-{device}-ladder-k{len(ids)}.zip",
                mime="application/zip",
                key="ladder_download",
                on_click="ignore",
            )
            return
        if job is not None and job.error:
            st.error("cancelled" if job.error == "cancelled" else f"Ladder failed: {plain(job.error)}")
        if st.button(f"Build ladder ({len(ids)} models)", key="ladder_build", help="exports and verifies every model in the background"):
            try:
                job = jobs.start_job(
                    "ladder", f"ladder of {len(ids)} on {device} for {space.name}", ladder_work(settings, space, rungs, device, latency_source(info, device))
                )
            except jobs.JobRefused as exc:
                st.error(plain(exc))
            else:
                st.session_state[key] = job.id
                st.rerun()

    status()
