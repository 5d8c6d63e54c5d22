"""Fronts (landing page): accuracy against latency, brushing, constraints and decision aids."""

import streamlit as st

from ofa_dash.ui import figures, loaders, state
from ofa_dash.ui.catalogue import LATENCY_PREFIX, Constraints, column_label, selection_table
from ofa_dash.ui.config import missing_official_message
from ofa_dash.ui.counts import distinct_ids
from ofa_dash.ui.fronts import distinct_subnets, front_view, rows_for_ids, slider_range
from ofa_dash.ui.references import published_specialized, reference_markers
from ofa_dash.ui.tables import display_table
from ofa_dash.ui.text import plain

ctx = state.sidebar()
space = ctx.space
st.title("Fronts")
st.caption(f"Space **{space.name}**: {space.description}")
state.show_problems(ctx)
if space.needs_official_files and ctx.settings.official is None:
    st.info(missing_official_message(ctx.settings), icon=":material/info:")

if not ctx.runs:
    st.info(
        f"No stored search runs for **{space.name}** in `{ctx.settings.precomputed / space.name / 'runs'}` yet. "
        "Start one on the **Search** page, or from the command line: "
        f"`python -m ofa_dash search --space {space.name} --algorithm nsga2 --objectives error,latency:DEVICE --json`. "
        + (
            f"The {space.name} runs appear here by themselves once its predictor, device profiles and runs are published under `precomputed/{space.name}/`."
            if space.trained_here
            else ""
        ),
        icon=":material/folder_open:",
    )
    st.stop()
if not ctx.view.devices:
    st.info("Choose at least one device in the sidebar (its latency is the x-axis).", icon=":material/speed:")
    st.stop()

c1, c2, c3 = st.columns([1, 1, 2])
mode = c1.segmented_control("view", ["2D front", "3D front"], default="2D front", key="fr_mode") or "2D front"
prefer_measured = c2.toggle("measured top-1 where available", key="fr_measured", help="Live validations replace the prediction for subnets that have one.")
sets = c3.multiselect(
    "sets",
    ["archive", "final"],
    default=["archive"],
    key="fr_sets",
    help="archive: every non-dominated subnet a run saw; final: the algorithm's last population front.",
)
cat = loaders.catalogue(ctx.settings, space.name, ctx.run_ids, tuple(sets or ["archive"]))
for line in cat.problems:
    st.warning(plain(f"Skipped: {line}"), icon=":material/warning:")
for line in cat.notes:
    st.info(line)
points = cat.points
devices = [d for d in ctx.view.devices if LATENCY_PREFIX + d in points]
if not len(points) or not devices:
    st.info("The chosen runs hold no subnets with a latency on the chosen devices.")
    st.stop()
x_dev = st.session_state.get("fr_x") if st.session_state.get("fr_x") in devices else devices[0]
device_notes = {d: cat.devices[d].source for d in devices if d in cat.devices}


def subnet_table(rows, tag: str) -> None:
    """A sortable table of subnets with a CSV download; picking a row opens that subnet."""
    if not len(rows):
        return
    subnets = distinct_subnets(rows)
    shown = display_table(subnets, devices, device_notes)
    ev = st.dataframe(
        shown.frame,
        key=f"table_{tag}",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config=shown.column_config(),
        placeholder="",
    )
    # The CSV keeps the catalogue's raw columns (scripts read them); it is made on click (in its own thread), not on every brush.
    st.download_button(
        "Download selection (CSV)",
        lambda: selection_table(subnets, devices).to_csv(index=False).encode(),
        file_name=f"{space.name}-subnets.csv",
        mime="text/csv",
        key=f"csv_{tag}",
    )
    picked = figures.event_selection(ev).get("rows") or []
    if picked:
        state.open_subnet(shown.id_at(picked[0]))


def picks_table(picks) -> None:
    """The decision aids' picks, in the order the aids placed them, read like the other subnet tables."""
    shown = display_table(picks, devices, device_notes, sort=False)
    st.dataframe(shown.frame, hide_index=True, width="stretch", column_config=shown.column_config(), placeholder="")


# ---- constraints (live filters)
constraints = Constraints()
with st.expander("Constraints", expanded=False):
    cols = st.columns(min(4, len(devices) + 3))
    for i, dev in enumerate(devices):
        col = LATENCY_PREFIX + dev
        rng = slider_range(points[col])
        if rng:
            v = cols[i % len(cols)].slider(f"max latency on {dev} (ms)", rng[0], rng[1], rng[1], key=f"fr_c_{space.name}_{dev}_{rng}")
            if v < rng[1]:
                constraints.max_latency[col] = v
    extra = [("top1_pred", "min top-1 (%)", "min_top1"), ("macs", "max MACs (M)", "max_macs"), ("params", "max params (M)", "max_params")]
    for j, (col, label, attr) in enumerate(extra):
        rng = slider_range(points[col])
        if not rng:
            continue
        slot = cols[(len(devices) + j) % len(cols)]
        if attr == "min_top1":
            v = slot.slider(label, rng[0], rng[1], rng[0], key=f"fr_c_{space.name}_{attr}_{rng}")
            constraints.min_top1 = v if v > rng[0] else None
        else:
            v = slot.slider(label, rng[0], rng[1], rng[1], key=f"fr_c_{space.name}_{attr}_{rng}")
            setattr(constraints, attr, v if v < rng[1] else None)

# ---- decision aids
with st.expander("Decision aids (pymoo)", expanded=True):
    a1, a2, a3 = st.columns([1, 2, 2])
    knees = a1.checkbox("knee points", value=True, key="fr_knee", help="High trade-off points: a small gain costs a large loss elsewhere.")
    use_w = a2.checkbox("pseudo-weights preference", value=True, key="fr_pw")
    w_acc = a2.slider("weight on accuracy (rest on latency)", 0.0, 1.0, 0.5, 0.05, key="fr_w", disabled=not use_w)
    use_ref = a3.checkbox(
        "reference point (ASF)",
        value=False,
        key="fr_ref",
        help="Type an aspiration point; the subnet closest to it in the achievement-scalarising sense is marked.",
    )

if mode == "2D front":
    x_dev = st.selectbox("latency axis", devices, index=devices.index(x_dev), key="fr_x") if len(devices) > 1 else x_dev
    x = LATENCY_PREFIX + x_dev
    reference = None
    if use_ref:
        r1, r2 = st.columns(2)
        top = float(points["top1_pred"].max())
        ref_top1 = r1.number_input("aspiration top-1 (%)", value=round(top, 1), step=0.5, key="fr_ref_top1")
        ref_lat = r2.number_input(f"aspiration latency on {x_dev} (ms)", value=round(float(points[x].median()), 2), step=0.1, key=f"fr_ref_lat_{x_dev}")
        reference = [ref_top1, ref_lat]
    view = front_view(points, ["top1", x], constraints, prefer_measured, knees, [w_acc, 1 - w_acc] if use_w else None, reference)
    refs = None
    if x_dev == "note10" and ctx.settings.official is not None:
        refs = reference_markers(published_specialized(ctx.settings.official), "note10")
    fig = figures.front_2d(
        view.df,
        x,
        devices,
        marks=view.marks,
        references=refs,
        aspiration=tuple(reference[::-1]) if reference else None,
        title=f"{space.name}: {column_label('top1')} vs {column_label(x)}",
    )
    st.caption(
        view.counts.phrase(runs=len(cat.runs))
        + f". Accuracy: {cat.accuracy_source}. Latency on {x_dev}: {cat.devices[x_dev].source}."
        + (
            " Triangles: OFA's published specialized Note10 subnets at their published fine-tuned ImageNet top-1 (w1.0 space)."
            if refs is not None and len(refs)
            else ""
        )
    )
    if len(view.picks):
        with st.expander(f"Decision aids' picks ({len(view.picks)})", expanded=False):
            picks_table(view.picks)

    @st.fragment
    def front_and_selection(fig, df) -> None:
        """The chart and its table in a fragment: a brush reruns only this, not the whole page."""
        event = st.plotly_chart(fig, key="front2d", on_select="rerun", selection_mode=("points", "box", "lasso"), width="stretch")
        selection = figures.event_selection(event)
        one = figures.single_subnet(selection)
        if one:
            state.open_subnet(one)
        chosen = rows_for_ids(df, figures.selected_ids(selection))
        n = distinct_ids(chosen)
        st.subheader(f"Selected subnets ({n})" if n else "Selected subnets")
        if n and n < len(chosen):
            st.caption(f"Found {len(chosen)} times by the chosen runs; each subnet is listed once, with the runs that found it.")
        if not len(chosen):
            st.info(
                "Drag a box (or pick the lasso in the chart's toolbar) over the front to list subnets here. "
                "Selecting a single subnet (a small box around a point, or a click in zoom/pan mode) opens it; so does picking a row below.",
                icon=":material/touch_app:",
            )
        subnet_table(chosen, "2d")

    front_and_selection(fig, view.df)
else:
    other = [LATENCY_PREFIX + d for d in devices if LATENCY_PREFIX + d in points]
    axes = [*other, "macs", "params"]
    b1, b2 = st.columns(2)
    ya = b1.selectbox("axis 2", axes, index=0, format_func=column_label, key="fr_3d_a")
    zb = b2.selectbox("axis 3", [a for a in axes if a != ya], index=0, format_func=column_label, key="fr_3d_b")
    weights = [w_acc, (1 - w_acc) / 2, (1 - w_acc) / 2] if use_w else None
    view = front_view(points, ["top1", ya, zb], constraints, prefer_measured, knees, weights)
    fig = figures.front_3d(view.df, ya, zb, "top1", devices, pareto="pareto", marks=view.marks)
    st.caption(f"{view.counts.phrase('3D Pareto front')}. Pick one in the table below to open it.")
    st.plotly_chart(fig, key="front3d", width="stretch")
    if len(view.picks):
        st.markdown("**Decision aids' picks** (marked on the plot)")
        picks_table(view.picks)
    chosen = view.df[view.df["pareto"]]
    st.subheader(f"3D Pareto set ({view.counts.on_front})")
    subnet_table(chosen, "3d")
