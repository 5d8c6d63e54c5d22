"""Story: the supernet trained once, searched once, and a subnet picked afterwards, each step linking to the next."""

import streamlit as st

from ofa_dash.hardware.latency import estimate_label
from ofa_dash.ui import loaders, state
from ofa_dash.ui.catalogue import LATENCY_PREFIX
from ofa_dash.ui.story import front_figure, front_story, headline_run, learning_curve_figure, no_training_text, searches_table, training_story
from ofa_dash.ui.text import plain
from ofa_dash.workspace import Workspace

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
st.title("Story")
state.show_problems(ctx)
st.caption(f"{plain(space.description)}")

st.header("1 · A supernet, trained once")
training = training_story(Workspace(settings.precomputed).space(space))
if training is None:
    st.info(no_training_text(space), icon=":material/school:")
else:
    m = st.columns(4)
    m[0].metric("phases", len(training.phases))
    m[1].metric("epochs", training.epochs)
    m[2].metric("training time", f"{training.minutes / 60:.1f} h" if training.minutes is not None else "n/a")
    last = training.phases.iloc[-1] if len(training.phases) else None
    m[3].metric(
        "top-1 largest / smallest",
        f"{last['largest top-1 %']:.1f} / {last['smallest top-1 %']:.1f} %" if last is not None else "n/a",
        help="holdout top-1 of the largest and the smallest subnet at the end of the last phase",
    )
    st.markdown(
        "Progressive shrinking: the full network first, then smaller kernels, depths and widths are sampled in turn, "
        "so that every subnet works without training it again."
    )
    if len(training.curve):
        st.plotly_chart(learning_curve_figure(training.curve), width="stretch", key="story_curve")
    st.dataframe(training.phases, hide_index=True, width="stretch", column_config={"minutes": st.column_config.NumberColumn(format="%.1f")})
    details = [d for d in (training.hardware and f"hardware: {training.hardware}", training.data and f"data: {training.data}") if d]
    if details:
        st.caption(plain(" · ".join(details)))
    for line in training.problems:
        st.warning(plain(f"Skipped: {line}"), icon=":material/warning:")

st.header("2 · Searched once")
if not ctx.runs:
    st.info(f"No stored search runs of {space.name} yet: start one on the Search page.", icon=":material/travel_explore:")
else:
    runs = searches_table(ctx.runs)
    algorithms = sorted(set(runs["algorithm"].dropna()))
    st.markdown(
        f"{len(ctx.runs)} runs of {len(algorithms)} algorithms ({', '.join(algorithms)}) searched the space with the accuracy predictor and the latency tables; "
        "hypervolume (HV) measures how much of the objective space a run's front covers, and compares only runs of the same objectives and reference point. "
        "Seeds of one algorithm and budget share a row."
    )
    st.dataframe(runs, hide_index=True, width="stretch", column_config={"objectives": st.column_config.TextColumn(width="medium")})
st.page_link(state.PAGES["search"], label="Next: compare the algorithms on the Search page", icon=":material/arrow_forward:")

st.header("3 · The front, and a subnet picked from it")
headline = headline_run(ctx.runs)
story = None
if headline is not None:
    cat = loaders.catalogue(settings, space.name, [headline["run_id"]], sets=("archive",))
    story = front_story(cat.points, headline, ctx.devices)
if story is None:
    st.info("No front to show yet: the story needs a stored run with a latency objective.", icon=":material/scatter_plot:")
else:
    acc, lat = story.columns
    device = lat.removeprefix(LATENCY_PREFIX)
    st.markdown(
        f"The best run of the largest comparable group ({plain(headline['algorithm'])}, seed {headline['seed']}, HV {float(headline['hv']):.4g}) "
        f"found **{len(story.front)} subnets** that no other subnet beats on both predicted top-1 and latency, {estimate_label(device)}: "
        f"from {story.front[acc].min():.1f} % at {story.front[lat].min():.3g} ms "
        f"to {story.front[acc].max():.1f} % at {story.front[lat].max():.3g} ms."
    )
    st.plotly_chart(front_figure(story), width="stretch", key="story_front")
    st.page_link(state.PAGES["fronts"], label="Next: explore the front on the Fronts page", icon=":material/arrow_forward:")
    if story.knee:
        knee = story.front[story.front["id"] == story.knee].iloc[0] if (story.front["id"] == story.knee).any() else None
        where = f" ({knee[acc]:.1f} % predicted, {knee[lat]:.3g} ms estimated)" if knee is not None else ""
        st.markdown(f"Its knee, where a little more latency stops buying much accuracy, is subnet `{story.knee}`{where}.")
        query = state.view_to_query(state.View(space.name, ctx.view.devices, None, story.knee))
        st.page_link(state.PAGES["subnet"], label=f"Next: open subnet {story.knee} on the Subnet page", icon=":material/arrow_forward:", query_params=query)
