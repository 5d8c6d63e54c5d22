"""Fronts (landing page): accuracy against latency, brushing, constraints and decision aids."""

import streamlit as st

from ofa_dash.ui import figures, loaders, parcoords, point_click, state, tables
from ofa_dash.ui.brush import Brush, brushed_ids, ranges_from_query, restored_ranges
from ofa_dash.ui.catalogue import LATENCY_PREFIX, Constraints, column_label, selection_table
from ofa_dash.ui.config import hide_absolute_paths, missing_official_message, shown_path
from ofa_dash.ui.fronts import (
    default_3d_axes,
    distinct_subnets,
    front_view,
    int8_sources,
    latency_errors,
    rows_for_ids,
    slider_range,
    uncertainty_sources,
    within,
)
from ofa_dash.ui.ladder_panel import ladder_panel
from ofa_dash.ui.references import reference_markers
from ofa_dash.ui.rescore_view import rescore_panel
from ofa_dash.ui.tables import display_table
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import for_audience

ctx = state.sidebar()
space = ctx.space
st.title("Fronts")
state.show_problems(ctx)
if space.needs_official_files and ctx.settings.official is None:
    st.info(missing_official_message(ctx.settings), icon=":material/info:")

if not ctx.runs:
    st.info(
        f"No stored search runs for **{space.name}** in `{shown_path(ctx.settings.space_dir(space) / 'runs')}` yet. "
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

# ---- the page's controls live in the sidebar, so the front is the first thing on screen
side = ctx.controls
side.markdown("**Front**")
# runs of three or more objectives open on the parallel coordinates: no scatter shows all their objectives
MODES = {"2D front": "2d", "3D front": "3d", "Parallel": "parallel"}  # label -> the link's ``view=``
# ... and so does a link that carries parallel-coordinates ranges but no 2D box; a link's ``view=`` wins
usual_mode = "Parallel" if parcoords.many_objectives(ctx.chosen_runs) or (ctx.view.pc_brush and not ctx.view.brush) else "2D front"
first_mode = next((label for label, slug in MODES.items() if slug == ctx.view.mode), usual_mode)
mode = (
    side.segmented_control(
        "view", list(MODES), default=first_mode, key="fr_mode", help="Parallel: every objective on its own axis; drag along an axis to brush."
    )
    or first_mode
)
if mode != "3D front":  # the 3D view writes its axes too, below
    state.set_front_mode("" if mode == usual_mode else MODES[mode])
axis_slot = side.container()  # the axis pickers, filled once the catalogue says which axes exist
prefer_measured = side.toggle("measured top-1 where available", key="fr_measured", help="Live validations replace the prediction for subnets that have one.")
sets = side.multiselect(
    "sets",
    ["archive", "final"],
    default=["archive"],
    key="fr_sets",
    help="archive: every non-dominated subnet a run saw; final: the algorithm's last population front.",
)
cat = loaders.catalogue(ctx.settings, space.name, ctx.run_ids, tuple(sets or ["archive"]))
for line in cat.problems:
    st.warning(plain(f"Skipped: {hide_absolute_paths(line)}"), icon=":material/warning:")
for line in cat.notes:
    st.info(hide_absolute_paths(line))
points = cat.points
devices = [d for d in ctx.view.devices if LATENCY_PREFIX + d in points]
if not len(points) or not devices:
    st.info("The chosen runs hold no subnets with a latency on the chosen devices.")
    st.stop()
device_notes = {d: cat.devices[d].source for d in devices if d in cat.devices}


def subnet_table(rows, tag: str) -> None:
    """A sortable table of subnets with a CSV download; picking a row opens that subnet."""
    if not len(rows):
        return
    subnets = rows if "runs" in rows else distinct_subnets(rows)
    table = display_table(subnets, devices, device_notes, limit=tables.LISTED_ROWS)
    if table.cut:
        st.caption(f"The {len(table.frame)} most accurate of {table.total} are listed; the CSV below holds all {table.total}.")
    picked = table.show(f"table_{tag}")
    # The CSV keeps the catalogue's raw columns (scripts read them); it is made on click (in its own thread), not on every brush.
    st.download_button(
        "Download selection (CSV)",
        lambda: selection_table(subnets, devices).to_csv(index=False).encode(),
        file_name=f"{space.name}-subnets.csv",
        mime="text/csv",
        key=f"csv_{tag}",
    )
    if picked:
        state.open_subnet(picked)


def picks_table(picks, tag: str) -> None:
    """The decision aids' picks, in the order the aids placed them, read like the other subnet tables; picking a row opens that subnet."""
    picked = display_table(picks, devices, device_notes, sort=False).show(f"picks_{tag}")
    if picked:
        state.open_subnet(picked)


# ---- constraints (live filters)
constraints = Constraints()
linked = Constraints.from_query(ctx.view.limits)  # a link's limits start the sliders where it left them
with side.expander("Constraints", expanded=linked.active()):
    for dev in devices:
        col = LATENCY_PREFIX + dev
        rng = slider_range(points[col])
        if rng:
            start = within(linked.max_latency.get(col), rng, rng[1])
            v = st.slider(f"max latency on {dev} (ms)", rng[0], rng[1], start, key=f"fr_c_{space.name}_{dev}_{rng}")
            if v < rng[1]:
                constraints.max_latency[col] = v
    extra = [("top1_pred", "min top-1 (%)", "min_top1"), ("macs", "max MACs (M)", "max_macs"), ("params", "max params (M)", "max_params")]
    for col, label, attr in extra:
        rng = slider_range(points[col])
        if not rng:
            continue
        if attr == "min_top1":
            v = st.slider(label, rng[0], rng[1], within(linked.min_top1, rng, rng[0]), key=f"fr_c_{space.name}_{attr}_{rng}")
            constraints.min_top1 = v if v > rng[0] else None
        else:
            v = st.slider(label, rng[0], rng[1], within(getattr(linked, attr), rng, rng[1]), key=f"fr_c_{space.name}_{attr}_{rng}")
            setattr(constraints, attr, v if v < rng[1] else None)
state.set_limits(constraints.to_query())

# ---- decision aids
aids = side.expander("Decision aids (pymoo)", expanded=False)
with aids:
    knees = st.checkbox("knee points", value=True, key="fr_knee", help="High trade-off points: a small gain costs a large loss elsewhere.")
    use_w = st.checkbox("pseudo-weights preference", value=True, key="fr_pw")
    w_acc = st.slider("weight on accuracy (rest on latency)", 0.0, 1.0, 0.5, 0.05, key="fr_w", disabled=not use_w)
    use_ref = st.checkbox(
        "reference point (ASF)",
        value=False,
        key="fr_ref",
        help="Type an aspiration point; the subnet closest to it in the achievement-scalarising sense is marked.",
    )

if mode == "2D front":
    # keyed per space: an axis chosen on one space must not carry over to another (the OFA space opens on its first device)
    x_dev = axis_slot.selectbox("latency axis", devices, index=0, key=f"fr_x_{space.name}") if len(devices) > 1 else devices[0]
    x = LATENCY_PREFIX + x_dev
    reference = None
    if use_ref:
        top = float(points["top1_pred"].max())
        ref_top1 = aids.number_input("aspiration top-1 (%)", value=round(top, 1), step=0.5, key="fr_ref_top1")
        ref_lat = aids.number_input(f"aspiration latency on {x_dev} (ms)", value=round(float(points[x].median()), 2), step=0.1, key=f"fr_ref_lat_{x_dev}")
        reference = [ref_top1, ref_lat]
    view = front_view(points, ["top1", x], constraints, prefer_measured, knees, [w_acc, 1 - w_acc] if use_w else None, reference)
    refs = None
    if ctx.settings.official is not None:
        refs = reference_markers(loaders.specialized(ctx.settings, space.name), x_dev)  # parsed once per change of OFA's folder
    fig = figures.front_2d(
        view.df,
        x,
        devices,
        marks=view.marks,
        references=refs,
        aspiration=tuple(reference[::-1]) if reference else None,
        title=f"{space.name}: {column_label('top1')} vs {column_label(x)}",
        latency_error=latency_errors(cat.devices, [x_dev]),
    )
    fig = for_audience(fig, ctx.view.present)
    if (linked := Brush.from_query(ctx.view.brush)) is not None and (linked.x, linked.y) == (x, "top1"):
        fig.add_selection(**linked.selection_shape())  # the link's box / lasso, drawn where it was
    # one short line above the chart; where the numbers come from is one click away
    line, more = st.columns([3, 1], vertical_alignment="center")
    line.caption("; ".join(p for p in (view.counts.phrase(runs=len(cat.runs)), view.distinguishable_phrase()) if p))
    with more.popover("Sources"):
        st.caption(f"Space **{space.name}**: {space.description}")
        st.caption(
            f"Accuracy: {cat.accuracy_source}. Latency on {x_dev}: {cat.devices[x_dev].source}."
            + (
                f" Triangles: OFA's published specialized {x_dev} subnets of this space, at their latency budget and published ImageNet top-1 after fine-tuning (a click opens one as extracted from the supernet)."
                if refs is not None and len(refs)
                else ""
            )
        )
        st.caption(uncertainty_sources(cat.accuracy_interval, cat.devices.get(x_dev)))
        if int8_line := int8_sources(cat.int8_drop, ["top1", x], cat.int8_interval):
            st.caption(int8_line)

    @st.fragment
    def front_and_selection(fig, df) -> None:
        """The chart and its table in a fragment: a brush reruns only this, not the whole page."""
        picks = point_click.plotly_chart(fig, key="front2d", select=True, width="stretch")
        if picks.opened:
            state.open_subnet(picks.opened)
        # the box / lasso in data coordinates travels in the URL; a pasted link's brush selects the same region again
        selected, link = brushed_ids(picks, state.current_brush(), df, x)
        state.set_brush(link)
        # one row per subnet of the whole front, worked out on the first brush: a box holds all copies of a subnet or none
        per_subnet = state.derived_once("fr_per_subnet", df, distinct_subnets)
        chosen = rows_for_ids(per_subnet, selected)
        n = len(chosen)
        found = int(chosen["runs"].sum()) if n and "runs" in chosen else n
        st.subheader(f"Selected subnets ({n})" if n else "Selected subnets")
        if n and n < found:
            st.caption(f"Found {found} times by the chosen runs; each subnet is listed once, with the runs that found it.")
        if not len(chosen):
            st.info(
                "Drag a box over the front (or pick **Lasso** above the chart) to list subnets here. "
                "A click on a point opens its subnet (in every drag mode); so does picking a row below.",
                icon=":material/touch_app:",
            )
        subnet_table(chosen, "2d")

    front_and_selection(fig, view.df)
    if len(view.picks):
        with st.expander(f"Decision aids' picks ({len(view.picks)})", expanded=False):
            picks_table(view.picks, "2d")
    # ---- deployment ladder: K models of the front on the latency axis' device, built as a job, one zip (ofa_dash.ui.ladder_panel)
    with st.expander("Deployment ladder", expanded=False):
        ladder_panel(ctx.settings, space, view.front, x_dev, cat.devices.get(x_dev))
    with st.expander("Re-score with the current predictor", expanded=False):
        rescore_panel(ctx.settings, space, loaders.predictor(ctx.settings, space.name)[0], key="fr_rescore")
elif mode == "Parallel":
    axes = parcoords.axes_of(points, devices)
    pareto_only = axis_slot.toggle(
        "Pareto set only", value=True, key="fr_pc_pareto", help="Lines for the subnets no other beats on every axis; off: every subnet."
    )
    lines, drawable = parcoords.parcoords_rows(points, axes, constraints, prefer_measured, pareto_only)
    labels = parcoords.axis_labels(axes)
    # a link's ranges are drawn on their axes until the visitor brushes in this session
    linked_ranges = {} if parcoords.browser_has_brushed("frontpc") else ranges_from_query(ctx.view.pc_brush)
    fig = for_audience(parcoords.parcoords_figure(lines, axes, title=f"{space.name}: {len(axes)} objectives", ranges=linked_ranges), ctx.view.present)
    st.caption(
        f"{len(lines):,} of {drawable:,} subnets drawn ({'the Pareto set over these axes' if pareto_only else 'every subnet'}). "
        "Drag along an axis to brush a range (several axes combine); a click on a brushed range clears it."
    )

    @st.fragment
    def parallel_and_selection(fig, lines, labels) -> None:
        """The chart and its table in a fragment: a brush sends ranges, the rows inside them are picked here."""
        browser = parcoords.parcoords_chart(fig, key="frontpc", labels=labels, width="stretch")
        ranges, link = restored_ranges(browser, parcoords.browser_has_brushed("frontpc"), state.current_pc_brush())
        state.set_pc_brush(link)  # the ranges travel in the URL (pcbrush=...)
        chosen = parcoords.rows_in_ranges(lines, ranges)
        st.subheader(f"Selected subnets ({len(chosen)})" if len(chosen) else "Selected subnets")
        if not ranges:
            st.info("Drag along one or more axes to list the subnets inside the ranges here; picking a row opens that subnet.", icon=":material/touch_app:")
        subnet_table(chosen, "pc")

    parallel_and_selection(fig, lines, labels)
else:
    other = [LATENCY_PREFIX + d for d in devices if LATENCY_PREFIX + d in points]
    axes = [*other, "macs", "params"]
    # default: the two cost axes that agree least (two CPU latencies would draw a thin sliver); keyed per space and axis set
    first, second = default_3d_axes(points, axes)
    if len(ctx.view.axes3d) == 2 and set(ctx.view.axes3d) <= set(axes):  # a link's axes=a,b
        first, second = ctx.view.axes3d
    with axis_slot:
        ya = st.selectbox("axis 2", axes, index=axes.index(first), format_func=column_label, key=f"fr_3d_a_{space.name}_{'+'.join(axes)}")
        rest = [a for a in axes if a != ya]
        zb = st.selectbox(
            "axis 3", rest, index=rest.index(second) if second in rest else 0, format_func=column_label, key=f"fr_3d_b_{space.name}_{'+'.join(axes)}"
        )
    state.set_front_mode("3d", [ya, zb])
    weights = [w_acc, (1 - w_acc) / 2, (1 - w_acc) / 2] if use_w else None
    view = front_view(points, ["top1", ya, zb], constraints, prefer_measured, knees, weights)
    fig = for_audience(figures.front_3d(view.df, ya, zb, "top1", devices, pareto="pareto", marks=view.marks), ctx.view.present)
    st.caption(f"{view.counts.phrase('3D Pareto front')}. Click a marker or a row below to open it.")
    if int8_line := int8_sources(cat.int8_drop, ["top1", ya, zb], cat.int8_interval):
        st.caption(int8_line)
    picks = point_click.plotly_chart(fig, key="front3d", width="stretch")
    if picks.opened:
        state.open_subnet(picks.opened)
    if len(view.picks):
        st.markdown("**Decision aids' picks** (marked on the plot)")
        picks_table(view.picks, "3d")
    chosen = view.df[view.df["pareto"]]
    st.subheader(f"3D Pareto set ({view.counts.on_front})")
    subnet_table(chosen, "3d")
