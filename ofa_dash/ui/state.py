"""Shared sidebar state (space, devices, runs, chosen subnet), kept in step with the URL.

Talks and shared links need a URL that reproduces a view, so the view lives
in two places: ``st.session_state["view"]`` (the truth while a session runs)
and ``st.query_params`` (``?space=...&device=a,b&run=r1,r2&subnet=ID&present=1&compare=a,b&shortlist=a,b&limit=top1>=78``),
written back after every sidebar render. A new session (a reload or a pasted
link) starts from the query parameters. The pure round trip is
:func:`view_from_query` / :func:`view_to_query`; :func:`sidebar` is the only
Streamlit part and every page calls it first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ofa_dash.space import SPACES, SearchSpace, get_space
from ofa_dash.ui.brush import Brush, ranges_from_query, ranges_to_query
from ofa_dash.ui.catalogue import Constraints
from ofa_dash.ui.config import SHARED_MODE_NOTE, Settings, hide_absolute_paths, local_mode, resolve_settings, shown_path
from ofa_dash.ui.run_picker import chosen_groups, run_groups, run_labels
from ofa_dash.ui.text import plain
from ofa_dash.ui.theme import page_css

DEFAULT_SPACE = "cifar10"
MAX_COMPARED = 4  # subnets side by side on the Compare page
MAX_LINKED = 50  # shortlisted subnet ids a link may carry

QUERY_KEYS = ("space", "device", "run", "subnet", "present", "compare", "shortlist", "limit", "brush", "pcbrush", "view", "axes")
FRONT_MODES = ("2d", "3d", "parallel")  # the Fronts page's views as a link names them (``view=3d``)
PAGES = {
    "fronts": "pages/fronts.py",
    "subnet": "pages/subnet.py",
    "compare": "pages/compare.py",
    "shortlist": "pages/shortlist.py",
    "search": "pages/search.py",
    "devices": "pages/devices.py",
}


@dataclass
class View:
    """What the sidebar chose. ``runs=None`` means every stored run of the space."""

    space: str = DEFAULT_SPACE
    devices: list[str] = field(default_factory=list)
    runs: list[str] | None = None
    subnet: str | None = None
    present: bool = False  # presentation mode: a projector-friendly page (see ofa_dash.ui.theme)
    compare: list[str] = field(default_factory=list)  # subnet ids on the Compare page (at most 4)
    shortlist: list[str] = field(default_factory=list)  # shortlisted subnet ids a link shares (the store keeps the pins and notes)
    limits: str = ""  # the Fronts page's constraints as a link carries them (``catalogue.Constraints.to_query``)
    brush: str = ""  # the 2D front's box / lasso in data coordinates (``brush.Brush.to_query``)
    pc_brush: str = ""  # the parallel coordinates' brushed ranges per axis (``brush.ranges_to_query``)
    mode: str = ""  # the Fronts page's view (one of FRONT_MODES); empty: the page's own default
    axes3d: list[str] = field(default_factory=list)  # the 3D front's two cost axes (column names); empty: the page's default


def _split(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    return [v.strip() for v in str(value).split(",") if v.strip()]


def view_from_query(params: Mapping, default_space: str = DEFAULT_SPACE) -> View:
    """The view a URL asks for; unknown spaces fall back to ``default_space``.

    Run ids may hold ``+``, which a hand-typed URL turns into a space, so
    spaces inside a run id are read back as ``+`` (run ids never hold spaces).
    """
    space = str(params.get("space") or default_space)
    if space not in SPACES:
        space = default_space
    runs = [r.replace(" ", "+") for r in _split(params.get("run"))]
    subnet = str(params.get("subnet") or "").strip().lower() or None
    present = str(params.get("present") or "").strip().lower() in ("1", "true", "yes", "on")
    compare = [c.lower() for c in _split(params.get("compare"))][:MAX_COMPARED]
    shortlist = list(dict.fromkeys(c.lower() for c in _split(params.get("shortlist"))))[:MAX_LINKED]
    limits = Constraints.from_query(params.get("limit")).to_query()  # only well-formed limits survive
    brush = Brush.from_query(params.get("brush"))  # only a well-formed region survives
    pc_brush = ranges_to_query(ranges_from_query(params.get("pcbrush")))  # only well-formed ranges survive
    mode = str(params.get("view") or "").strip().lower()
    axes3d = list(dict.fromkeys(_split(params.get("axes"))))  # the page checks the names against the axes it has
    return View(
        space=space,
        devices=_split(params.get("device")),
        runs=runs or None,
        subnet=subnet,
        present=present,
        compare=compare,
        shortlist=shortlist,
        limits=limits,
        brush=brush.to_query() if brush else "",
        pc_brush=pc_brush,
        mode=mode if mode in FRONT_MODES else "",
        axes3d=axes3d[:2] if len(axes3d) >= 2 else [],
    )


def view_to_query(view: View) -> dict[str, str]:
    """Query parameters for a view (keys left out when they hold the default)."""
    out = {"space": view.space}
    if view.devices:
        out["device"] = ",".join(view.devices)
    if view.runs:
        out["run"] = ",".join(view.runs)
    if view.subnet:
        out["subnet"] = view.subnet
    if view.present:
        out["present"] = "1"
    if view.compare:
        out["compare"] = ",".join(view.compare)
    if view.shortlist:
        out["shortlist"] = ",".join(view.shortlist)
    if view.limits:
        out["limit"] = view.limits
    if view.brush:
        out["brush"] = view.brush
    if view.pc_brush:
        out["pcbrush"] = view.pc_brush
    if view.mode:
        out["view"] = view.mode
    if view.axes3d:
        out["axes"] = ",".join(view.axes3d)
    return out


def reconcile(view: View, devices: list[str], runs: list[str], space: SearchSpace | None = None, preferred: list[str] | None = None) -> tuple[View, list[str]]:
    """Drop what the current data does not have (a stale link), saying what was dropped.

    ``preferred`` is the device order to start from when the view names none (see :func:`default_devices`).
    """
    notes = []
    keep_devices = [d for d in view.devices if d in devices]
    if len(keep_devices) < len(view.devices):
        notes.append(f"device(s) {sorted(set(view.devices) - set(keep_devices))} are not available for {view.space}; available: {devices or 'none'}")
    if not keep_devices:
        keep_devices = default_devices(preferred if preferred is not None else devices)
    keep_runs = None
    if view.runs is not None:
        keep_runs = [r for r in view.runs if r in runs]
        if len(keep_runs) < len(view.runs):
            notes.append(f"run(s) {sorted(set(view.runs) - set(keep_runs))} are not in the catalogue of {view.space}")
        if not keep_runs or len(keep_runs) == len(runs):
            keep_runs = None
    subnet = view.subnet
    if subnet and space is not None:
        try:
            space.arch_from_id(subnet)
        except ValueError as exc:
            notes.append(f"subnet id in the link: {exc}")
            subnet = None
    compare = []
    for sid in view.compare:
        try:
            compare.append(space.arch_from_id(sid).id if space is not None else sid)
        except ValueError as exc:
            notes.append(f"compared subnet in the link: {exc}")
    shortlist = []
    for sid in view.shortlist:
        try:
            shortlist.append(space.arch_from_id(sid).id if space is not None else sid)
        except ValueError as exc:
            notes.append(f"shortlisted subnet in the link: {exc}")
    return replace(view, devices=keep_devices, runs=keep_runs, subnet=subnet, compare=compare, shortlist=shortlist), notes


def default_devices(devices: list[str]) -> list[str]:
    """Two devices to start with (one for the 2D front, a second for the 3D front)."""
    return list(devices[:2])


def devices_by_relevance(devices: list[str], runs: list[dict], tabled: set[str] | list[str]) -> list[str]:
    """``devices`` in the order a space's front should open on: the device its story is told on first.

    Read from the data, not from names: devices with a latency table here come
    before devices known only from values runs stored (those cannot estimate
    a subnet no run saw), then the device the stored runs searched on most
    often (the OFA space's runs search Note10 latency, the cifar10 runs this
    CPU's), then the given order.
    """
    searched = {d: sum(f"latency:{d}" in e.get("objectives", []) for e in runs) for d in devices}
    order = {d: i for i, d in enumerate(devices)}
    return sorted(devices, key=lambda d: (d not in set(tabled), -searched[d], order[d]))


# --------------------------------------------------------------------------- Streamlit
@dataclass
class Context:
    """What every page needs after the sidebar: settings, the view, and what the space holds."""

    settings: Settings
    view: View
    space: SearchSpace
    runs: list[dict]  # every valid stored run of the space (manifest entries)
    run_problems: list[str]
    devices: list[str]  # device names with a latency column (tables, or values stored by runs)
    notes: list[str] = field(default_factory=list)
    controls: Any = None  # a sidebar container for the page's own controls: below the run picker, above the footer

    @property
    def run_ids(self) -> list[str] | None:
        return self.view.runs

    @property
    def chosen_runs(self) -> list[dict]:
        return [e for e in self.runs if self.view.runs is None or e["run_id"] in self.view.runs]


def _use_app_navigation() -> None:
    """Make a deep link to a page run through ``app.py``'s ``st.navigation`` even as a server's first request.

    Streamlit decides per server whether an app uses the legacy ``pages/`` folder
    mode: if the first request ever is a deep link (``/subnet?...``), it runs the
    page file on its own, with the folder's file names as the menu and without
    ``app.py`` (no wide layout, no page titles), until some session calls
    ``st.navigation``. Clearing that flag and rerunning sends the request through
    ``app.py``, which resolves the same URL to the same page. (Streamlit internals,
    1.67; harmless if they move.)
    """
    import streamlit as st

    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a later Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _on_space() -> None:
    import streamlit as st

    ss = st.session_state
    if ss["sb_space"] != ss["view"].space:
        ss["view"] = View(space=ss["sb_space"], present=ss["view"].present)  # devices, runs and subnet belong to the old space


def _on_devices() -> None:
    import streamlit as st

    st.session_state["view"] = replace(st.session_state["view"], devices=list(st.session_state["sb_devices"]))


def _chosen_runs(chosen: list[str]) -> list[str] | None:
    """The view's ``runs`` for a choice: None (every run) when nothing or everything is chosen."""
    import streamlit as st

    every = st.session_state.get("_all_runs", [])
    return None if not chosen or set(chosen) >= set(every) else [r for r in every if r in set(chosen)]


def _on_runs() -> None:
    import streamlit as st

    ss = st.session_state
    ss["view"] = replace(ss["view"], runs=_chosen_runs(list(ss["sb_runs"])))


def _on_run_groups() -> None:
    import streamlit as st

    ss = st.session_state
    groups = ss.get("_run_groups", {})
    ss["view"] = replace(ss["view"], runs=_chosen_runs([r for key in ss["sb_run_groups"] for r in groups.get(key, ())]))


def _on_present() -> None:
    import streamlit as st

    st.session_state["view"] = replace(st.session_state["view"], present=bool(st.session_state["sb_present"]))


def _on_settings() -> None:
    import streamlit as st

    ss = st.session_state
    ss["settings_override"] = {"official": ss["sb_official"], "data": ss["sb_data"]}


def sidebar() -> Context:
    """Render the shared sidebar and return the page's context (call first on every page).

    The truth lives in ``st.session_state["view"]`` (not in the widgets): Streamlit
    forgets a page's widget values when another page runs, so every widget is
    re-seeded from the view on every run and writes back through its ``on_change``.
    """
    import streamlit as st

    from ofa_dash.hardware import device_names as table_names  # deferred: only the Streamlit part needs the device files
    from ofa_dash.ui import loaders  # deferred: like streamlit, the pure view functions above are used (and tested) without it

    _use_app_navigation()
    ss = st.session_state
    if "view" not in ss:
        ss["view"] = view_from_query(st.query_params.to_dict())
    view: View = ss["view"]
    st.html(page_css(view.present))

    st.sidebar.markdown("### ofa-dash")
    override = ss.get("settings_override", {"official": "", "data": ""}) if local_mode() else {"official": "", "data": ""}
    settings = resolve_settings(official=override["official"] or None, data=override["data"] or None)

    names = list(SPACES)
    ss["sb_space"] = view.space if view.space in names else DEFAULT_SPACE
    st.sidebar.selectbox(
        "search space", names, key="sb_space", on_change=_on_space, help="; ".join(f"{n}: {SPACES[n].summary or SPACES[n].description}" for n in names)
    )
    space = get_space(ss["sb_space"])

    runs, run_problems = loaders.list_runs(settings, space.name)
    run_ids = [e["run_id"] for e in runs]
    devices = loaders.device_names(settings, space.name, runs)
    preferred = devices_by_relevance(devices, runs, table_names(space, settings.official, settings.precomputed))
    view, notes = reconcile(replace(view, space=space.name), devices, run_ids, space, preferred)

    ss["sb_devices"] = list(view.devices)
    st.sidebar.multiselect(
        "devices",
        devices,
        key="sb_devices",
        on_change=_on_devices,
        help="The first device is the x-axis of the 2D front; the first two span the 3D front.",
        placeholder="no latency tables" if not devices else "choose devices",
    )
    groups = run_groups(runs)
    ss["_all_runs"] = run_ids
    ss["_run_groups"] = {g.key: g.run_ids for g in groups}
    n_chosen = len(view.runs or run_ids)
    summary = f"{n_chosen} of {len(run_ids)} runs" + (f" in {len(chosen_groups(groups, view.runs))} of {len(groups)} groups" if groups else "")
    if view.present:  # on stage: no run chips, one line
        st.sidebar.caption(summary)
    else:
        _run_picker(view, groups, runs, run_ids, summary)
    controls = st.sidebar.container()
    if not view.present:
        st.sidebar.caption(f"data from `{shown_path(settings.precomputed)}`")
    ss["sb_present"] = view.present
    st.sidebar.toggle(
        "presentation mode",
        key="sb_present",
        on_change=_on_present,
        help="For a projector: hides the toolbar, paths and run chips, enlarges text and chart labels. Also `present=1` in a link.",
    )
    if not view.present:
        _settings_panel(override)
    view = replace(view, present=bool(ss["sb_present"]))
    ss["view"] = view
    sync_query_params(view)
    return Context(settings, view, space, runs, run_problems, devices, notes, controls)


def _run_picker(view: View, groups: list, runs: list[dict], run_ids: list[str], summary: str) -> None:
    """Groups of seeds first (what people choose between), single runs one click further; labels wrap, never truncate."""
    import streamlit as st

    ss = st.session_state
    ss["sb_run_groups"] = [g.key for g in chosen_groups(groups, view.runs)] if view.runs is not None else []
    st.sidebar.multiselect(
        "runs",
        [g.key for g in groups],
        key="sb_run_groups",
        on_change=_on_run_groups,
        format_func=lambda k: next((g.label for g in groups if g.key == k), k),
        placeholder="no stored runs" if not runs else f"every run ({len(run_ids)})",
        help="One entry per search setting (algorithm, objectives, population × generations), its seeds together. None chosen means every run.",
    )
    labels = run_labels(groups, runs)
    with st.sidebar.expander(f"single runs · {summary}", expanded=False):
        ss["sb_runs"] = list(view.runs or [])
        st.multiselect(
            "runs one by one",
            run_ids,
            key="sb_runs",
            on_change=_on_runs,
            format_func=lambda r: labels.get(r, r),
            placeholder="every run",
            help="Pick single seeds. None chosen means every run.",
        )


def _settings_panel(override: dict) -> None:
    """Where the dataset and OFA's files come from (editable only in single-user mode)."""
    import streamlit as st

    ss = st.session_state
    with st.sidebar.expander("Settings", expanded=False):
        if local_mode():
            ss["sb_official"], ss["sb_data"] = override["official"], override["data"]
            st.text_input(
                "OFA official files", key="sb_official", on_change=_on_settings, placeholder="default: env OFA_DASH_OFFICIAL or ../shared/ofa-official"
            )
            st.text_input("dataset folder", key="sb_data", on_change=_on_settings, placeholder="default: env OFA_DASH_DATA or ../shared/datasets/cifar10-jpeg")
        else:
            st.caption(SHARED_MODE_NOTE)


def sync_query_params(view: View) -> None:
    """Write the view into the URL, touching only keys that changed (each write is a message to the browser)."""
    import streamlit as st

    wanted = view_to_query(view)
    for key in QUERY_KEYS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def update_view(**changes: Any) -> View:
    """Change fields of the session's view and write the URL from it (nothing is written when nothing changed)."""
    import streamlit as st

    view: View = st.session_state.get("view") or View()
    new = replace(view, **changes)
    if new != view or "view" not in st.session_state:
        st.session_state["view"] = new
        sync_query_params(new)
    return new


def set_subnet(subnet: str | None) -> None:
    """Choose the subnet the Subnet page shows (also in the URL)."""
    update_view(subnet=subnet)


def set_comparison(ids: list[str]) -> None:
    """The subnets the Compare page shows (also in the URL), at most ``MAX_COMPARED``."""
    update_view(compare=list(dict.fromkeys(ids))[:MAX_COMPARED])


def set_limits(limits: str) -> None:
    """The Fronts page's constraints in the view and the URL (``limit=...``), so a link restores them."""
    update_view(limits=limits)


def current_brush() -> str:
    """The brush the session's view holds now (a fragment's rerun sees changes made after the page's last full run)."""
    import streamlit as st

    view: View = st.session_state.get("view") or View()
    return view.brush


def set_pc_brush(ranges: str) -> None:
    """The parallel coordinates' brushed ranges (``pcbrush=...``) in the view and the URL."""
    update_view(pc_brush=ranges)


def current_pc_brush() -> str:
    """The parallel-coordinates ranges the session's view holds now (see :func:`current_brush`)."""
    import streamlit as st

    view: View = st.session_state.get("view") or View()
    return view.pc_brush


def set_brush(brush: str) -> None:
    """The 2D front's box / lasso (``brush=...``, see :mod:`ofa_dash.ui.brush`) in the view and the URL, so a link restores the selection."""
    update_view(brush=brush)


def set_front_mode(mode: str, axes3d: list[str] | None = None) -> None:
    """The Fronts page's view (``view=2d|3d|parallel``) and, for 3D, its two cost axes (``axes=a,b``), so a link reopens that view."""
    update_view(mode=mode if mode in FRONT_MODES else "", axes3d=list(axes3d or [])[:2] if mode == "3d" else [])


def set_shortlist(ids: list[str]) -> None:
    """The shortlisted ids a link shares (``shortlist=a,b``), at most ``MAX_LINKED``."""
    update_view(shortlist=list(dict.fromkeys(ids))[:MAX_LINKED])


def open_subnet(subnet: str) -> None:
    """Switch to the Subnet page showing ``subnet`` (a deep link: the id travels in the URL)."""
    set_subnet(subnet)
    go_to("subnet", f"Subnet {plain(subnet)} is chosen; open the Subnet page to see it.")


def compare_with(subnet: str) -> None:
    """Add ``subnet`` to the comparison (the oldest one leaves when it is full) and switch to the Compare page."""
    import streamlit as st

    view: View = st.session_state.get("view") or View()
    set_comparison([*[i for i in view.compare if i != subnet][-(MAX_COMPARED - 1) :], subnet])
    go_to("compare", f"Subnet {plain(subnet)} is added to the comparison; open the Compare page to see it.")


def go_to(page: str, otherwise: str) -> None:
    """Switch to one of :data:`PAGES` with the view in the URL; where a page file runs on its own (no navigation), say ``otherwise``."""
    import streamlit as st
    from streamlit.errors import StreamlitAPIException

    try:
        st.switch_page(PAGES[page], query_params=view_to_query(st.session_state["view"]))
    except StreamlitAPIException:
        st.info(otherwise)


def show_problems(ctx: Context, extra: list[str] | None = None) -> None:
    """Skipped runs and dropped link parts as warnings (never a traceback)."""
    import streamlit as st

    for line in [*ctx.run_problems, *ctx.notes, *(extra or [])]:
        line = hide_absolute_paths(line)
        st.warning(plain(f"Skipped: {line}" if line.startswith(("run ", "run folder")) else line), icon=":material/warning:")


def derived_once(key: str, source: Any, make: Callable[[Any], Any]) -> Any:
    """``make(source)``, kept in the session while ``source`` is the very same object.

    A fragment reruns with the arguments of the page run that drew it, so
    what follows from them (one row per subnet of the whole front) is worked
    out on the first brush and reused by the next ones instead of per brush.
    The entry holds ``source`` itself, so its ``id`` cannot be reused while cached.
    """
    import streamlit as st

    held = st.session_state.get(key)
    if held is not None and held[0] is source:
        return held[1]
    value = make(source)
    st.session_state[key] = (source, value)
    return value
