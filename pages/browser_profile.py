"""Profile a browser: time this space's layers and subnets in the visitor's browser (onnxruntime-web, WASM) and save the device."""

import streamlit as st

from ofa_dash.ui import state
from ofa_dash.ui.browser_profile import (
    ENV_SWITCH,
    browser_profiles_allowed,
    browser_settings,
    check_target,
    prepare_manifest,
    quality_note,
    run_in_browser,
    save_browser_profile,
)
from ofa_dash.ui.config import hide_absolute_paths, local_mode, shown_path
from ofa_dash.ui.text import plain

JOB = "browser_profile_job"
BACKEND_LABELS = {"wasm": "WebAssembly (CPU, 1 thread)", "webgpu": "WebGPU (the GPU, where the browser has it)"}
DONE = "browser_profile_done"

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
ss = st.session_state
st.title("Profile a browser")
st.markdown(
    f"""Measure latency on **this browser's device** (a laptop, or a phone: open this page's address on it, the dashboard
serving on the same network). The browser downloads {space.name}'s per-layer ONNX models and a set of whole subnets from
this server, times them with onnxruntime-web (WebAssembly, 1 thread; warm-up, then medians over rounds of runs) and sends
the timings back. The server builds the latency table exactly as `profile` does (per-layer table, correction fitted on
calibration subnets, Kendall tau and MAPE on held-out ones) and saves it as a device of {space.name}: it then appears in
the sidebar, on the Fronts page and as a search objective. Keep the tab in front and the device otherwise idle."""
)
address = getattr(getattr(st, "context", None), "url", None)
if address:
    st.caption(f"This page: `{address}` (from a phone, use this machine's network address instead of localhost).")

done = ss.pop(DONE, None)
if done:
    st.success(f"Saved device **{done['name']}**: Kendall tau {done['tau']}, MAPE {done['mape']} on {done['n']} held-out subnets.", icon=":material/check:")
    if done["note"]:
        st.warning(done["note"], icon=":material/warning:")
    st.caption(f"file: `{done['path']}`")
    st.page_link("pages/fronts.py", label="See it on the Fronts page", icon=":material/scatter_plot:")
    st.page_link("pages/devices.py", label="Compare it on the Devices page", icon=":material/speed:")

job = ss.get(JOB)
if not browser_profiles_allowed():
    st.info(f"Adding devices from the browser is turned off on this server ({ENV_SWITCH}=0).", icon=":material/block:")
elif job is None or job["space"] != space.name:
    name = st.text_input("device name", placeholder="my-phone", help="a-z, 0-9, '.', '_' or '-'; becomes the device's name everywhere")
    backend = st.radio(
        "runtime",
        list(BACKEND_LABELS),
        format_func=BACKEND_LABELS.get,
        horizontal=True,
        help="WebGPU, where the browser has it, is a separate device: profile the same browser twice under two names (e.g. my-phone, my-phone-gpu)",
    )
    with st.expander("how much to measure"):
        cols = st.columns(2)
        n_cal = cols[0].number_input("calibration subnets", 2, 200, 40, help="timed end to end to fit the correction")
        n_val = cols[1].number_input("validation subnets", 2, 200, 60, help="timed end to end, used only to report tau and MAPE")
        quick = st.checkbox("quick check (a few runs per model: tests the flow, rough figures)", value=False)
        may_replace = st.checkbox(
            "replace a device of the same name", value=False, disabled=not local_mode(), help="only on a single-user dashboard (OFA_DASH_LOCAL=1)"
        )
    if st.button("Start", type="primary", icon=":material/play_arrow:"):
        try:
            chosen = browser_settings(name, int(n_cal), int(n_val), quick, backend)
            check_target(space, settings.precomputed, chosen.name, may_replace and local_mode())
            bar = st.progress(0.0, text="Preparing the models…")
            manifest = prepare_manifest(space, chosen, lambda i, n, what: bar.progress(i / n, text=f"Preparing the models: {what}"))
            bar.empty()
        except ValueError as exc:
            st.error(plain(hide_absolute_paths(str(exc))), icon=":material/error:")
        else:
            ss[JOB] = {"space": space.name, "name": chosen.name, "manifest": manifest, "replace": may_replace and local_mode(), "quick": quick}
            st.rerun()
else:
    st.markdown(f"Measuring device **{job['name']}** in this browser ({len(job['manifest']['layers'])} layers, {len(job['manifest']['subnets'])} subnets)…")
    answer = run_in_browser(space, job["manifest"], key=f"browser_profiler_{job['manifest']['plan_id']}")
    if st.button("Cancel", icon=":material/close:"):
        ss.pop(JOB, None)
        st.rerun()
    if answer is not None:
        try:
            with st.spinner("Building the profile…"):
                saved = save_browser_profile(space, settings.precomputed, job["name"], job["manifest"], answer, job["replace"])
        except ValueError as exc:
            ss.pop(JOB, None)
            st.error(plain(hide_absolute_paths(str(exc))), icon=":material/error:")
        else:
            q = saved.profile.quality
            ss.pop(JOB, None)
            ss[DONE] = {
                "name": saved.profile.name,
                "tau": f"{q['kendall_tau']:.3f}" if q.get("kendall_tau") is not None else "n/a",
                "mape": f"{q['mape']:.1f} %" if q.get("mape") is not None else "n/a",
                "n": q.get("n_validation", 0),
                "path": shown_path(saved.path),
                "note": quality_note(q, job["quick"]),
            }
            st.rerun()
