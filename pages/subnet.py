"""Subnet: architecture, every objective with its source, live validation and downloads."""

import streamlit as st

from ofa_dash.export import FORMATS
from ofa_dash.ui import figures, jobs, loaders, state
from ofa_dash.ui.arch_diagram import arch_figure
from ofa_dash.ui.config import hide_absolute_paths, missing_data_message, shown_path
from ofa_dash.ui.int8_note import int8_note
from ofa_dash.ui.subnet_view import objectives_table, predicted_payload, runs_containing, validation_summary
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import for_audience
from ofa_dash.validation import best_measurement
from ofa_dash.validation_queue import VALIDATION_QUEUE

QUICK_IMAGES = 1000

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
ss = st.session_state
st.title("Subnet")
state.show_problems(ctx)

current = ctx.view.subnet
typed = st.text_input(
    "subnet id (or `largest`, `smallest`, or an architecture JSON)",
    value=current or "",
    key=f"sn_input_{current}",
    placeholder="open one from the Fronts page, or type an id",
)
if typed and typed.strip().lower() != (current or ""):
    try:
        arch = space.parse_arch(typed)
    except ValueError as exc:
        st.error(f"Not a subnet of {space.name}: {plain(exc)}")
        st.stop()
    state.set_subnet(arch.id)
    st.rerun()
if not current:
    st.info("No subnet chosen yet: click a point on the **Fronts** page, or type an id above.", icon=":material/search:")
    st.stop()
arch = space.arch_from_id(current)

cat = loaders.catalogue(settings, space.name, None)
rows = cat.points[cat.points["id"] == arch.id]
devices, _ = loaders.devices(settings, space.name)
predictor, _ = loaders.predictor(settings, space.name)
measured = best_measurement(space.name, cat.supernet_version, arch.id, store_root=settings.precomputed) if cat.supernet_version else None
table = objectives_table(space, arch, predictor, devices, rows, cat.devices, measured)

st.subheader(f"{arch.id} · {arch.r}×{arch.r} · depths {list(arch.d)}")
left, right = st.columns([3, 2])
with left:
    st.plotly_chart(for_audience(arch_figure(space, arch), ctx.view.present), width="stretch", key="arch")
with right:
    st.markdown("**Objectives and where each comes from**")
    st.dataframe(table, hide_index=True, width="stretch")
    found = runs_containing(cat.points, arch.id)
    st.caption(f"In {len(found)} stored run(s)." if len(found) else "Not in any stored run (values computed here).")
with st.expander("blocks", expanded=False):
    st.dataframe(space.describe(arch), width="stretch", hide_index=True)
    st.code(arch.to_json(), language="json")


def show_result(result: dict, title: str) -> None:
    """Headline figures, per-class accuracy and the confusion matrix of one validation."""
    s = validation_summary(result)
    st.markdown(f"**{title}** · {s['subset']}")
    m = st.columns(4)
    m[0].metric("measured top-1", f"{s['top1']:.2f} %")
    m[1].metric("measured top-5", f"{s['top5']:.2f} %")
    m[2].metric(
        "latency here",
        f"{s['latency_ms']:.3f} ms" if s["latency_ms"] is not None else "n/a",
        help=result.get("latency_source") or "ONNX Runtime, 1 thread, batch 1",
    )
    m[3].metric("test images", f"{s['n_images']:,}")
    if result.get("per_class"):
        c1, c2 = st.columns(2)
        c1.plotly_chart(for_audience(figures.per_class_bars(result["per_class"]), ctx.view.present), width="stretch", key=f"pc_{title}")
        if result.get("confusion"):
            confusion = figures.confusion_heatmap(result["confusion"], list(result["per_class"]))
            c2.plotly_chart(for_audience(confusion, ctx.view.present), width="stretch", key=f"cm_{title}")
    st.caption(
        f"supernet {result.get('supernet_version')} · data {shown_path(result.get('data'))} · BN recalibrated on {result.get('calib_images')} training images"
    )


st.header("Live validation")
ready = False
if not settings.has_supernet(space):
    st.info(
        f"Validation and export need the supernet weights of **{space.name}** (`{shown_path(settings.supernet_path(space))}` does not exist). "
        + (
            f"Training publishes them with `python -m ofa_dash train --space {space.name} --data DIR`."
            if space.trained_here
            else f"{space.weights} is not available here, so this space can be searched and compared but not validated or exported."
        ),
        icon=":material/block:",
    )
elif settings.data is None:
    st.info(missing_data_message(settings), icon=":material/dataset:")
else:
    ready = True

if ready:
    job = jobs.get_job(ss.get("val_job"))
    mine_running = job is not None and job.running
    c1, c2 = st.columns([2, 1])
    mode = c1.radio(
        "mode", [f"quick ({QUICK_IMAGES:,} test images, class-balanced)", "full (every test image: 10,000 for CIFAR-10)"], horizontal=True, key="val_mode"
    )
    c1.caption(f"data: `{shown_path(settings.data)}`")
    if c2.button("Validate now", type="primary", disabled=mine_running, key="val_go"):
        limit = QUICK_IMAGES if mode.startswith("quick") else None
        try:
            job = jobs.start_job("validation", f"{space.name} {arch.id}", jobs.validation_work(settings, space, arch, settings.data, limit, VALIDATION_QUEUE))
        except jobs.JobRefused as exc:
            st.error(plain(exc))
        else:
            ss["val_job"], ss["val_arch"] = job.id, arch.id
            mine_running = True
    if not mine_running and VALIDATION_QUEUE.busy():
        st.warning(
            f"Another validation is running; {jobs.validations_ahead(VALIDATION_QUEUE.ahead())} if you start one now.",
            icon=":material/hourglass_top:",
        )

    @st.fragment(run_every=1.0 if mine_running else None)
    def validation_panel() -> None:
        job = jobs.get_job(ss.get("val_job"))
        if job is None or ss.get("val_arch") != arch.id:
            return
        if job.running:
            if job.stage == "waiting":
                st.warning(plain(job.message) if job.message else "waiting for the running validation…", icon=":material/hourglass_top:")
            else:
                st.progress(job.fraction(), text=f"{job.stage} {job.done:,}/{job.total:,}" if job.total else job.stage)
            if st.button("Cancel", key="val_cancel"):
                job.cancel.set()
            return
        if job.error == "cancelled":
            st.info("Validation cancelled; nothing was recorded.")
        elif job.error:
            st.error(f"Validation failed: {plain(hide_absolute_paths(job.error))}")
        elif job.result:
            show_result(job.result, "this validation")
            st.success("Recorded: the measured figures now appear next to the predictions here and on the Fronts page.")
        if ss.get("val_refreshed") != job.id:
            ss["val_refreshed"] = job.id
            st.rerun()  # once, so the objectives table and the catalogue pick up the new measurement

    validation_panel()
    if measured and not (ss.get("val_arch") == arch.id and jobs.get_job(ss.get("val_job"))):
        show_result(measured, "last recorded validation")

st.header("Download")
# Exports calibrate BN on the dataset, or without one on the space's shipped calibration sample (the same images).
calib_key = jobs.calibration_key(settings, space)
if not settings.has_supernet(space) or calib_key is None:
    st.caption(
        "Exports need the supernet and calibration images: the dataset, or the space's shipped calibration sample "
        "(BN recalibration uses the same 2,000 training images as validation)."
    )
else:
    st.caption(
        "The first download of each format builds and verifies it (int8 and the bundle take longest); later downloads reuse the file."
        + (
            " No dataset is set: BN statistics are re-estimated on the shipped calibration sample, the very training images "
            "validation re-estimates them on, so the model is the validated one (its files report no test accuracy)."
            if settings.data is None
            else ""
        )
    )
    payload = predicted_payload(table, arch)
    cols = st.columns(len(FORMATS))
    for col, (fmt, spec) in zip(cols, FORMATS.items(), strict=True):

        def make(fmt=fmt):
            return jobs.export_cached(settings, space, arch, fmt, predicted=payload, measured=measured).read_bytes()

        cached = jobs.cached_export(settings, space, arch, fmt)
        name = spec.file_for(f"{space.name}-{arch.id}")
        col.download_button(
            f"{spec.label}{' ✓' if cached else ''}", data=make, file_name=name, mime=spec.mime, key=f"dl_{fmt}", on_click="ignore", width="stretch"
        )
        if fmt == "onnx-int8":
            note = int8_note(jobs.int8_against_fp32(cached), devices, space.encode(arch))
            if note is not None and note.slower:
                col.warning(plain(note.text), icon=":material/speed:")
            elif note is not None:
                col.caption(plain(note.text))
