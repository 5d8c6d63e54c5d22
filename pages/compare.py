"""Compare: two to four subnets side by side (architecture, objectives, where the time goes, per-class accuracy, int8)."""

import plotly.express as px
import streamlit as st

from ofa_dash.ui import jobs, loaders, state
from ofa_dash.ui.compare_view import arch_diff, compared_ids, int8_against_fp32_estimates, latency_breakdown, objectives_side_by_side, per_class_accuracy
from ofa_dash.ui.int8_note import INT8_SUFFIX, int8_note
from ofa_dash.ui.job_panel import show_running
from ofa_dash.ui.rescore_view import rescore_panel
from ofa_dash.ui.shortlist_view import current_pins, pin_subnet
from ofa_dash.ui.subnet_view import objectives_table
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import for_audience, style
from ofa_dash.validation import best_measurement
from ofa_dash.validation_queue import VALIDATION_QUEUE

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
st.title("Compare")
state.show_problems(ctx)

typed = st.text_input(
    f"subnet ids, comma-separated (2 to {state.MAX_COMPARED}; or `largest`, `smallest`)",
    value=", ".join(ctx.view.compare),
    key=f"cmp_input_{'-'.join(ctx.view.compare)}",
    placeholder="add subnets from the Subnet page, or type ids",
)
wanted = []
for item in typed.split(","):
    if item.strip():
        try:
            wanted.append(space.parse_arch(item).id)
        except ValueError as exc:
            st.error(f"Not a subnet of {space.name}: {plain(exc)}")
            st.stop()
if compared_ids(wanted) != ctx.view.compare:
    state.set_comparison(compared_ids(wanted))
    st.rerun()
ids = ctx.view.compare
if len(ids) < 2:
    st.info(
        "Choose two to four subnets: **Add to comparison** on the Subnet page, or type their ids above.",
        icon=":material/compare_arrows:",
    )
    st.stop()

archs = {sid: space.arch_from_id(sid) for sid in ids}
cat = loaders.catalogue(settings, space.name, None)
devices, _ = loaders.devices(settings, space.name)
predictor, _ = loaders.predictor(settings, space.name)
measured = {sid: best_measurement(space.name, cat.supernet_version, sid, store_root=settings.precomputed) if cat.supernet_version else None for sid in ids}
tables = {sid: objectives_table(space, a, predictor, devices, cat.points[cat.points["id"] == sid], cat.devices, measured[sid]) for sid, a in archs.items()}

st.subheader("Objectives")
st.dataframe(objectives_side_by_side(tables), hide_index=True, width="stretch")
st.caption("predicted: the accuracy predictor or the stored run; measured: a live validation. The Subnet page names each source in full.")
pinned = {p.id for p in current_pins(settings, space)[0]}  # a note is added on the Subnet or Shortlist page
cols = st.columns(len(ids))
for col, sid in zip(cols, ids, strict=True):
    if col.button(f"Open {sid}", key=f"cmp_open_{sid}", width="stretch"):
        state.open_subnet(sid)
    if col.button("Remove", key=f"cmp_drop_{sid}", width="stretch"):
        state.set_comparison([i for i in ids if i != sid])
        st.rerun()
    if col.button("Pinned" if sid in pinned else "Pin to shortlist", key=f"cmp_pin_{sid}", width="stretch", disabled=sid in pinned, icon=":material/push_pin:"):
        if error := pin_subnet(settings, space, sid, ""):
            st.error(plain(error))
        else:
            st.rerun()

st.subheader("Architecture")
diff = arch_diff(space, archs)
only_diff = st.toggle("only the rows that differ", value=True, key="cmp_only_diff")
shown = diff[diff["differs"]] if only_diff else diff
st.dataframe(shown.drop(columns="differs"), hide_index=True, width="stretch")
st.caption(
    f"{int(diff['differs'].sum())} of {len(diff)} rows differ. A block reads k (kernel size) and e (expand ratio); blank: the stage's depth leaves it out."
)

st.subheader("Where the time goes")
if devices:
    names = list(devices)
    device = st.selectbox("device", names, index=names.index(ctx.view.devices[0]) if ctx.view.devices and ctx.view.devices[0] in names else 0, key="cmp_device")
    parts = latency_breakdown(devices[device], archs)
    fig = px.bar(parts, x="ms", y="subnet", color="part", orientation="h", labels={"ms": f"estimated latency on {device} (ms)", "subnet": ""})
    st.plotly_chart(for_audience(style(fig, height=120 + 60 * len(ids)), ctx.view.present), width="stretch", key="cmp_breakdown")
    st.caption(
        f"The {device} lookup table's entries per part, times its fitted scale; the fitted offset is its own part, so each bar adds up to the estimate the front plots."
    )
    pairs = int8_against_fp32_estimates(devices, space, archs)
    if len(pairs):
        st.markdown("**int8 against fp32**")
        st.dataframe(pairs, hide_index=True, width="stretch")
        for sid, arch in archs.items():
            note = int8_note(jobs.int8_against_fp32(jobs.cached_export(settings, space, arch, "onnx-int8")), devices, space.encode(arch))
            if note is not None:
                (st.warning if note.slower else st.caption)(f"{sid}: {plain(note.text)}")
else:
    st.info(f"No device latency tables for {space.name} here.", icon=":material/speed:")

st.subheader("Measure them")
QUICK_IMAGES = 1000
ss = st.session_state
job = jobs.get_job(ss.get("cmp_val_job"))
running = job is not None and job.running
if not settings.has_supernet(space) or settings.data is None:
    st.caption("Validating needs the supernet and the dataset: the Subnet page says what is missing and offers the download.")
else:
    todo = [sid for sid in ids if not measured[sid]]
    label = f"Validate {'the ' + str(len(todo)) + ' not yet validated' if todo and len(todo) < len(ids) else 'all ' + str(len(ids))} (quick: {QUICK_IMAGES:,} test images each)"
    with_int8 = any(name.endswith(INT8_SUFFIX) for name in devices or {}) and st.checkbox(
        "also score each one's int8 model",
        value=False,
        key="cmp_val_int8",
        help="Quantized as the int8 export is and scored on the same images: measured int8 accuracy on int8 device axes, and pairs for the int8 drop model.",
    )
    if st.button(label, key="cmp_val_go", disabled=running, type="primary"):
        try:
            job = jobs.start_job(
                "validation",
                f"{space.name}: {len(todo or ids)} subnets",
                jobs.batch_validation_work(
                    settings, space, [archs[s] for s in (todo or ids)], settings.data, QUICK_IMAGES, VALIDATION_QUEUE, int8=bool(with_int8)
                ),
            )
        except jobs.JobRefused as exc:
            st.error(plain(exc))
        else:
            ss["cmp_val_job"] = job.id
            st.rerun()

    @st.fragment(run_every=1.0 if running else None)
    def batch_panel() -> None:
        job = jobs.get_job(ss.get("cmp_val_job"))
        if job is None:
            return
        if show_running(job, "cmp_val_cancel"):
            return
        if job.error:
            st.error(
                "Validation cancelled; the subnets validated before it stopped are recorded."
                if job.error == "cancelled"
                else f"Validation failed: {plain(job.error)}"
            )
        elif job.result:
            st.success(
                f"Validated {len(job.result['validated'])} of {job.result['asked']}: the measured figures are in the tables above and on the Fronts page."
            )
        if ss.get("cmp_val_refreshed") != job.id:
            ss["cmp_val_refreshed"] = job.id
            st.rerun()  # once, so the tables pick up the new measurements

    batch_panel()
rescore_panel(settings, space, predictor, key="cmp_rescore")  # after a refit on new measurements, the fronts' accuracy catches up here

st.subheader("Per-class accuracy")
per_class = per_class_accuracy(measured)
if len(per_class.columns) > 1:
    st.dataframe(per_class, hide_index=True, width="stretch")
    missing = [sid for sid in ids if sid not in per_class.columns]
    st.caption(
        "Top-1 (%) per class from each subnet's live validation"
        + (", classes sorted by the spread between the subnets" if "spread" in per_class else "")
        + (f". Not validated yet: {', '.join(missing)} (Validate on the Subnet page)." if missing else ".")
    )
else:
    st.info("None of these subnets has been validated yet: Validate on the Subnet page to see per-class accuracy here.", icon=":material/fact_check:")
