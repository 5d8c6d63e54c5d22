"""Devices & predictors: how far each latency table and the accuracy predictor can be trusted."""

import streamlit as st

from ofa_dash.ui import figures, loaders, state
from ofa_dash.ui.config import hide_absolute_paths, missing_official_message, shown_path
from ofa_dash.ui.devices_view import (
    BROWSER_COMMAND,
    PROFILE_COMMAND,
    compare_catalogue_devices,
    correction_line,
    device_reports,
    machines_table,
    meta_table,
    predictor_quality,
    tau_matrix,
)
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import for_audience

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
st.title("Devices & predictors")
state.show_problems(ctx)
if space.needs_official_files and settings.official is None:
    st.info(missing_official_message(settings), icon=":material/info:")

st.header("Latency tables")
reports = device_reports(space, settings.precomputed, settings.official)
if not reports:
    st.info(f"No device profiles for {space.name} in `{shown_path(settings.folder(space).devices)}` yet (see below for how to make one).")
for rep in reports:
    with st.container(border=True):
        st.subheader(rep.name)
        if rep.problem:
            st.warning(plain(f"This profile cannot be used: {hide_absolute_paths(rep.problem)}"), icon=":material/warning:")
            continue
        left, right = st.columns([2, 3])
        with left:
            q = rep.quality or {}
            m = st.columns(3)
            m[0].metric("Kendall tau", f"{q['kendall_tau']:.3f}" if q.get("kendall_tau") is not None else "n/a")
            m[1].metric("MAPE", f"{q['mape']:.1f} %" if q.get("mape") is not None else "n/a")
            m[2].metric("validation subnets", q.get("n_validation", "n/a"))
            if rep.correction:
                st.caption(correction_line(rep.correction))
            st.dataframe(meta_table(rep.meta), hide_index=True, width="stretch")
            if rep.path:
                st.caption(f"file: `{shown_path(rep.path)}`")
        with right:
            if len(rep.points):
                fig = figures.estimate_vs_measured(
                    rep.points["estimated_ms"],
                    rep.points["measured_ms"],
                    rep.points["split"],
                    "ms",
                    f"{rep.name}: estimated vs measured whole subnets",
                    list(rep.points["id"]),
                )
                st.plotly_chart(for_audience(fig, ctx.view.present), width="stretch", key=f"dev_{rep.name}")
            else:
                st.info("Published tables: no whole-subnet measurements come with them, so their accuracy cannot be shown here.")

st.header("Devices side by side")
machines = machines_table(reports)
if machines.shape[1] > 1:
    st.markdown("**Where each profile was measured** (load averages: 1 / 5 / 15 minutes; older profiles did not record every field)")
    st.dataframe(machines, hide_index=True, width="stretch")
compared = compare_catalogue_devices(loaders.catalogue(settings, space.name, ctx.run_ids))
if compared.comparison is None:
    st.info(plain(hide_absolute_paths(compared.problem or "")))
else:
    cmp = compared.comparison
    st.markdown(
        f"**Rank agreement** on {compared.subnets}: Kendall tau between the devices' latency estimates (1: the same order). "
        f"A subnet is *fast* on a device when it is in the fastest {cmp.fast_percent:.0f} % there."
    )
    left, right = st.columns([2, 3])
    left.dataframe(tau_matrix(cmp), hide_index=True, width="stretch")
    left.dataframe(cmp.summary(), hide_index=True, width="stretch")
    worst = cmp.pairs().iloc[0]  # the pair that agrees least
    fig = figures.rank_agreement(cmp.percentiles, cmp.verdicts(), worst["device a"], worst["device b"], cmp.fast_percent)
    right.plotly_chart(for_audience(fig, ctx.view.present), width="stretch", key="dev_rank_agreement")
    st.markdown("**Subnets the devices rank most differently** (rank percentile per device: 0 = the fastest, 100 = the slowest)")
    st.dataframe(cmp.disagreements().round(1), hide_index=True, width="stretch")

st.header("Accuracy predictor")
predictor, why = loaders.predictor(settings, space.name)
pq = predictor_quality(space, settings.precomputed, settings.official, predictor)
if pq.report is None:
    st.info(f"No accuracy predictor for {space.name}: {plain(hide_absolute_paths(pq.problem or why))}")
else:
    r = pq.report
    m = st.columns(3)
    m[0].metric("held-out RMSE", f"{r['rmse']:.2f} points" if r.get("rmse") is not None else "n/a")
    m[1].metric("Kendall tau", f"{r['kendall_tau']:.3f}" if r.get("kendall_tau") is not None else "n/a")
    m[2].metric("measured subnets", r.get("n_measured") if r.get("n_measured") is not None else "n/a")
    st.caption(f"{r.get('name')}: {r.get('source')} · `{shown_path(r.get('path'))}`")
    if pq.problem:
        st.warning(plain(hide_absolute_paths(pq.problem)))
    if len(pq.points):
        fig = figures.estimate_vs_measured(
            pq.points["predicted"],
            pq.points["measured"],
            ["held-out subnets"] * len(pq.points),
            "%",
            "predicted vs measured top-1 (held out from the fit)",
            list(pq.points["id"]),
        )
        fig.update_layout(yaxis_title="predicted top-1 (%)", xaxis_title="measured top-1 (%)")
        st.plotly_chart(for_audience(fig, ctx.view.present), width="stretch", key="pred_scatter")
    elif r.get("rmse") is None:
        st.info("OFA's published predictor: its quality on this project's measurements is unknown (no ImageNet measurements here).")
    if r.get("comparison"):
        st.markdown("**Candidates compared when fitting** (chosen by cross-validated Kendall tau)")
        st.dataframe(r["comparison"], hide_index=True, width="stretch")

st.header("Profile your own device")
st.markdown(
    f"""Run this on the machine you deploy to (quiet, nothing else busy):

```bash
{PROFILE_COMMAND.format(space=space.name)}
```

It times every distinct layer and about 100 whole subnets, fits the correction on some of them (affine, or per stage
where enough calibration subnets show that it predicts better) and reports
Kendall tau and MAPE on the rest. The table is written to `{shown_path(settings.folder(space).devices / "my-cpu.json")}`
(`--runtime` is `ort`, `ort-int8`, `torch`, `cuda` or `openvino`). Copy that file into the same folder of the dashboard's
precomputed root and it joins everywhere by itself: as a device in the sidebar, a latency column on the fronts, and an
objective (`latency:my-cpu`) on the Search page."""
)
st.markdown(
    f"**A browser or a phone** needs no install: open [Profile a browser](browser_profile?space={space.name}) on it (this dashboard's address, on the same network), "
    "name the device and press Start. It is timed with onnxruntime-web (WebAssembly, 1 thread) and saved through the same "
    f"builder. `{BROWSER_COMMAND.format(space=space.name)}` does the same in headless Chromium on the server's machine."
)
