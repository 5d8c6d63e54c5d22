"""Subnet: architecture, every objective with its source, live validation, downloads and fine-tuning."""

import streamlit as st

from ofa_dash.export import page_formats
from ofa_dash.ui import figures, finetune_view, jobs, loaders, state
from ofa_dash.ui.arch_diagram import arch_figure
from ofa_dash.ui.config import hide_absolute_paths, missing_data_message, missing_supernet_message, shown_path
from ofa_dash.ui.data_download import data_download_panel
from ofa_dash.ui.int8_note import int8_note
from ofa_dash.ui.job_panel import show_running
from ofa_dash.ui.shortlist_view import pin_panel
from ofa_dash.ui.subnet_view import measured_source, objectives_table, predicted_payload, runs_containing, validation_summary
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
specialized = {s.arch.id: s for s in loaders.specialized(settings, space.name)}
if specialized:
    pick = st.selectbox(
        "or open one of OFA's published specialized subnets of this space",
        [None, *specialized],
        format_func=lambda sid: "choose one" if sid is None else specialized[sid].label,
        key=f"sn_specialized_{current}",
    )
    if pick and pick != current:
        state.set_subnet(pick)
        st.rerun()
if not current:
    st.info("No subnet chosen yet: click a point on the **Fronts** page, or type an id above.", icon=":material/search:")
    st.stop()
arch = space.arch_from_id(current)
if arch.id in specialized:
    ofa = specialized[arch.id]
    st.info(
        f"OFA's specialized subnet **{ofa.name}**: OFA published {ofa.top1_published:.1f} % ImageNet top-1 for it after "
        f"{ofa.finetune_epochs} epochs of fine-tuning. The weights here are the supernet's, not fine-tuned: validate to measure them.",
        icon=":material/verified:",
    )

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
    st.dataframe(table, hide_index=True, width="stretch", column_order=["quantity", "value", "unit", "source"])
    found = runs_containing(cat.points, arch.id)
    st.caption(f"In {len(found)} stored run(s)." if len(found) else "Not in any stored run (values computed here).")
    compared = ctx.view.compare
    if arch.id in compared:
        st.page_link(state.PAGES["compare"], label=f"Compare ({len(compared)} subnets)", icon=":material/compare_arrows:")
    elif st.button(
        "Add to comparison",
        key="sn_compare_add",
        icon=":material/compare_arrows:",
        help=f"side by side with up to {state.MAX_COMPARED - 1} others on the Compare page",
    ):
        state.compare_with(arch.id)
    with st.expander("Shortlist", expanded=arch.id in ctx.view.shortlist):
        pin_panel(settings, space, arch.id)
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
        help=f"{s['latency_label']}: {measured_source(result)}" if s["latency_label"] else "not timed",
    )
    m[3].metric("test images", f"{s['n_images']:,}")
    if s["latency_label"]:
        st.caption(f"Latency {plain(s['latency_label'])}; the table estimates above are for their devices, not for this machine.")
    if s["latency_busy"]:
        st.warning(
            f"This machine was busy while timing ({plain(s['latency_busy'])}): the measured latency is likely higher than on a quiet machine.",
            icon=":material/speed:",
        )
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
data_folder = settings.data_for(space)  # the folder of this space's kind of data (SearchSpace.data)
if not settings.has_supernet(space):
    st.info(missing_supernet_message(settings, space), icon=":material/block:")
    if data_folder is None and not space.data_kind.downloadable:
        st.info(missing_data_message(settings, space), icon=":material/dataset:")
elif data_folder is None and space.data_kind.downloadable:
    data_download_panel(settings)
elif data_folder is None:
    st.info(missing_data_message(settings, space), icon=":material/dataset:")
else:
    ready = True

if ready:
    job = jobs.get_job(ss.get("val_job"))
    mine_running = job is not None and job.running
    c1, c2 = st.columns([2, 1])
    mode = c1.radio(
        "mode",
        [f"quick ({QUICK_IMAGES:,} {space.data_kind.test_split} images, class-balanced)", f"full (every {space.data_kind.test_split} image)"],
        horizontal=True,
        key="val_mode",
    )
    c1.caption(f"data: `{shown_path(data_folder)}`")
    if c2.button("Validate now", type="primary", disabled=mine_running, key="val_go"):
        limit = QUICK_IMAGES if mode.startswith("quick") else None
        try:
            job = jobs.start_job("validation", f"{space.name} {arch.id}", jobs.validation_work(settings, space, arch, data_folder, limit, VALIDATION_QUEUE))
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
        if show_running(job, "val_cancel"):
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
        + ("" if data_folder is not None or space.data_kind.downloadable else " " + missing_data_message(settings, space))
    )
else:
    st.caption(
        "Each format is built and verified once (a minute or two; int8 and the bundle take longest), in the background with its steps shown; "
        "then its download button appears, and later downloads reuse the file."
        + (
            " No dataset is set: BN statistics are re-estimated on the shipped calibration sample, the very training images "
            "validation re-estimates them on, so the model is the validated one (its files report no test accuracy)."
            if data_folder is None
            else ""
        )
    )
    payload = predicted_payload(table, arch)
    weights = "supernet"
    if finetune_view.finetune_record(settings, space, arch) is not None:
        choice = st.radio("weights", ["the supernet's", "fine-tuned (see Fine-tune below)"], horizontal=True, key="dl_weights")
        weights = "finetuned" if choice.startswith("fine") else "supernet"
    stem = f"{space.name}-{arch.id}" + ("-finetuned" if weights == "finetuned" else "")
    formats = page_formats()
    export_jobs = {fmt: jobs.get_job(ss.get(jobs.export_job_key(space, arch, fmt, weights))) for fmt in formats}
    building = any(j is not None and j.running for j in export_jobs.values())

    @st.fragment(run_every=1.0 if building else None)
    def downloads() -> None:
        cols = st.columns(len(formats))
        for col, (fmt, spec) in zip(cols, formats.items(), strict=True):
            key = jobs.export_job_key(space, arch, fmt, weights)
            job = jobs.get_job(ss.get(key))
            cached = jobs.cached_export(settings, space, arch, fmt, weights)
            if cached is not None:
                col.download_button(
                    f"{spec.label} ✓",
                    data=lambda path=cached: path.read_bytes(),
                    file_name=spec.file_for(stem),
                    mime=spec.mime,
                    key=f"dl_{fmt}",
                    on_click="ignore",
                    width="stretch",
                )
            elif job is not None and job.running:
                col.progress(job.fraction(), text=jobs.progress_text(job))
                if col.button("Cancel", key=f"export_cancel_{fmt}", width="stretch"):
                    job.cancel.set()
            else:
                if job is not None and job.error:
                    col.error("cancelled" if job.error == "cancelled" else f"Export failed: {plain(job.error)}")
                if col.button(f"Build {spec.label}", key=f"build_{fmt}", width="stretch", help="builds and verifies the file in the background"):
                    try:
                        job = jobs.start_job(
                            "export",
                            f"{spec.label} of {space.name} {arch.id}" + (" (fine-tuned)" if weights == "finetuned" else ""),
                            jobs.export_work(settings, space, arch, fmt, payload, measured if weights == "supernet" else None, weights),
                        )
                    except jobs.JobRefused as exc:
                        col.error(plain(exc))
                    else:
                        ss[key] = job.id
                        st.rerun()  # the whole page: the fragment starts polling now that a build is running
            if fmt == "onnx-int8":
                note = int8_note(jobs.int8_against_fp32(cached), devices, space.encode(arch))
                if note is not None and note.slower:
                    col.warning(plain(note.text), icon=":material/speed:")
                elif note is not None:
                    col.caption(plain(note.text))
        finished = [j for j in (jobs.get_job(ss.get(jobs.export_job_key(space, arch, f, weights))) for f in formats) if j is not None and not j.running]
        if building and len(finished) == sum(j is not None for j in export_jobs.values()):
            st.rerun()  # every build ended: stop polling

    downloads()

st.header("Fine-tune")
record = finetune_view.finetune_record(settings, space, arch)
if record is not None:
    st.markdown(finetune_view.record_summary(record))
    st.caption("The downloads above offer these weights (choose **fine-tuned**); from the command line:")
    st.code(finetune_view.export_command(space, arch), language="bash")
if not settings.has_supernet(space) or settings.data is None:
    st.caption("Fine-tuning needs the supernet weights and the dataset (training images, and the test split for top-1 before and after).")
else:
    ft_key = finetune_view.job_key(space, arch)
    ft_job = jobs.get_job(ss.get(ft_key))
    ft_running = ft_job is not None and ft_job.running
    c1, c2, c3 = st.columns([1, 1, 1])
    epochs = c1.number_input("epochs", min_value=1, max_value=500, value=3, step=1, key="ft_epochs")
    recipe = c2.selectbox(
        "recipe",
        finetune_view.RECIPES,
        key="ft_recipe",
        help="batch size, learning rate and distillation weight (its fine-tuning defaults), weight decay, label smoothing, seed",
    )
    paused = finetune_view.interrupted(settings, space, arch)
    if c3.button("Continue fine-tune" if paused else "Fine-tune", type="primary", disabled=ft_running, key="ft_go", width="stretch"):
        try:
            jobs.check_finetune_size(int(epochs))
            ft_job = jobs.start_job(
                "finetune", f"fine-tune {space.name} {arch.id}", finetune_view.finetune_work(settings, space, arch, settings.data, int(epochs), recipe)
            )
        except jobs.JobRefused as exc:
            st.error(plain(exc))
        else:
            ss[ft_key] = ft_job.id
            st.rerun()
    st.caption(
        "Trains this subnet further on its own in the background (BN statistics frozen; the recipe sets the learning rate and whether the largest subnet distils into it); top-1 on the test split is measured "
        "before and after. Cancel keeps a checkpoint: the next run with the same epochs and recipe continues it."
    )
    if paused and not ft_running and c3.button("Discard the interrupted run", key="ft_discard", width="stretch"):
        finetune_view.discard_checkpoint(settings, space, arch)
        st.rerun()

    @st.fragment(run_every=1.0 if ft_running else None)
    def finetune_panel() -> None:
        job = jobs.get_job(ss.get(ft_key))
        if job is None:
            return
        if show_running(job, "ft_cancel"):
            return
        if job.error == "cancelled":
            st.info("Fine-tune cancelled after the current step; its checkpoint is kept (continue it with the same settings).")
        elif job.error:
            st.error(f"Fine-tune failed: {plain(hide_absolute_paths(job.error))}")
        if ss.get("ft_refreshed") != job.id:
            ss["ft_refreshed"] = job.id
            st.rerun()  # once, so the summary above shows the new record

    finetune_panel()
