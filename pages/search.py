"""Search: launch a multi-objective search with live progress, and compare algorithms on stored runs."""

import dataclasses

import pandas as pd
import streamlit as st

from ofa_dash.search.algorithms import REGISTRY
from ofa_dash.search.run import RunSpec
from ofa_dash.ui import figures, jobs, loaders, state
from ofa_dash.ui.comparison import comparison_groups, final_hv_table, hv_curves, left_out
from ofa_dash.ui.config import hide_absolute_paths, missing_official_message
from ofa_dash.ui.search_view import default_objectives, label, objective_choices
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import for_audience

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
ss = st.session_state
st.title("Search")
state.show_problems(ctx)
new_tab, compare_tab = st.tabs(["New search", "Compare algorithms"])

with new_tab:
    devices, dev_problems = loaders.devices(settings, space.name)
    predictor, why = loaders.predictor(settings, space.name)
    for line in dev_problems:
        st.warning(plain(hide_absolute_paths(line)), icon=":material/warning:")
    if predictor is None:
        st.info(f"No accuracy predictor for {space.name}, so `error` is not offered: {plain(hide_absolute_paths(why))}", icon=":material/info:")
    if space.needs_official_files and settings.official is None:
        st.info(missing_official_message(settings), icon=":material/info:")
    choices = objective_choices(list(devices), predictor is not None)
    job = jobs.get_job(ss.get("search_job"))
    running = job is not None and job.running
    # No st.form: a form submits when Enter is pressed in any of its fields, and a search must start only on its button.
    with st.container(border=True):
        objectives = st.multiselect("objectives (all minimised)", choices, default=default_objectives(choices), format_func=label, key=f"s_obj_{space.name}")
        c = st.columns(4)
        algorithm = c[0].selectbox("algorithm", list(REGISTRY), format_func=lambda a: REGISTRY[a].label, key="s_alg")
        pop = c[1].number_input("population", 4, 2000, 100, step=10, key="s_pop")
        gens = c[2].number_input("generations", 1, 5000, 100, step=10, key="s_gen")
        seed = c[3].number_input("seed", 0, 10_000, 1, key="s_seed")
        st.caption(REGISTRY[algorithm].description)
        go = st.button("Start search", type="primary", disabled=running, key="s_go")
    if go:
        try:
            if len(objectives) < 2:
                raise ValueError("choose at least two objectives")
            spec = RunSpec(space.name, algorithm, tuple(objectives), pop_size=int(pop), n_gen=int(gens), seed=int(seed))
            jobs.check_search_size(spec.pop_size, spec.n_gen)
            job = jobs.start_job("search", f"{algorithm} on {space.name} ({', '.join(objectives)})", jobs.search_work(settings, spec))
        except ValueError as exc:
            st.error(plain(exc))
        else:
            ss["search_job"], running = job.id, True

    @st.fragment(run_every=1.0 if running else None)
    def progress_panel() -> None:
        job = jobs.get_job(ss.get("search_job"))
        if job is None:
            return
        st.markdown(f"**{job.label}**")
        hist = pd.DataFrame(job.history, columns=["gen", "n_evals", "hv"])
        m = st.columns(3)
        m[0].metric("generation", f"{job.done} / {job.total}" if job.total else "starting")
        m[1].metric("evaluations", f"{int(hist['n_evals'].iloc[-1]):,}" if len(hist) else "0")
        m[2].metric("hypervolume", f"{hist['hv'].iloc[-1]:.4g}" if len(hist) else "n/a")
        if job.running:
            st.progress(job.fraction(), text=job.stage)
            if st.button("Cancel search", key="s_cancel"):
                job.cancel.set()
        if len(hist):
            st.plotly_chart(for_audience(figures.hv_progress(hist), ctx.view.present), width="stretch", key="s_hv")
        if job.running:
            return
        if job.error:
            st.error(f"Search failed: {plain(hide_absolute_paths(job.error))}")
        elif job.result and job.result.get("cancelled"):
            st.info("Search cancelled; nothing was saved.")
        elif job.result:
            s = job.result["summary"]
            st.success(
                f"Saved run `{job.result['run_id']}`: HV {s['hv']:.4g}, {s['front_size']} subnets on its front, {s['seconds']:.1f} s. It is now in the catalogue."
            )
            if st.button("Show on the Fronts page", key="s_show"):
                ss.pop("sb_runs", None)
                ss["view"] = dataclasses.replace(ctx.view, runs=None)  # every run, the new one included; the rest of the view (presentation mode too) stays
                st.switch_page(state.PAGES["fronts"])
        if ss.get("search_refreshed") != job.id:
            ss["search_refreshed"] = job.id
            st.rerun()  # once: the sidebar's run list picks up the new run

    progress_panel()

with compare_tab:
    if not ctx.runs:
        st.info(f"No stored runs of {space.name} to compare yet.")
    else:
        groups = comparison_groups(ctx.runs)
        key = st.selectbox(
            "objectives, budget and reference point",
            list(groups),
            key=f"cmp_{space.name}",
            help="Hypervolumes compare only between runs of the same objectives and reference point, and fairly only at the same budget "
            "(population x generations).",
        )
        group = groups[key]
        entries = group.runs
        missing = left_out(group, groups)
        st.caption(f"{len(entries)} run(s) compared" + (f"; {plain(missing)}" if missing else "") + ".")
        hist, problems = loaders.histories(settings, space.name, entries)
        for line in problems:
            st.warning(plain(f"Skipped: {hide_absolute_paths(line)}"), icon=":material/warning:")
        if len(hist):
            comparison = figures.hv_comparison(hv_curves(hist), title=f"{space.name}: {group.title}")
            st.plotly_chart(for_audience(comparison, ctx.view.present), width="stretch", key="cmp_fig")
        st.markdown("**Final hypervolume of the archive** (every non-dominated subnet a run saw)")
        st.dataframe(final_hv_table(entries), hide_index=True, width="stretch")
