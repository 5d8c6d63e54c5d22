"""The shortlist on the pages: where pins are kept (store or session), the pin panel, and the decision report's inputs.

Where pins are kept follows the server's mode (:func:`ofa_dash.ui.config.local_mode`):
in single-user mode (``OFA_DASH_LOCAL=1``) pins and notes are written to the
space's ``shortlist.json`` (:mod:`ofa_dash.shortlist`), so they survive restarts.
On a shared server visitors do not write to the store (any visitor could
rewrite everyone's shortlist); each session starts from the store's shortlist
and keeps its own pins, and a link (``shortlist=a,b``) shares the ids.
"""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ofa_dash import shortlist
from ofa_dash.export import model_card
from ofa_dash.shortlist import Pin, ShortlistError
from ofa_dash.space import SearchSpace
from ofa_dash.ui import figures, loaders, state
from ofa_dash.ui.catalogue import LATENCY_PREFIX, column_label, with_accuracy
from ofa_dash.ui.config import Settings, local_mode
from ofa_dash.ui.fronts import front_view
from ofa_dash.ui.report import ReportPick, decision_report
from ofa_dash.ui.subnet_view import objectives_table, predicted_payload
from ofa_dash.ui.text import plain
from ofa_dash.validation import best_measurement

SESSION_KEY = "shortlist_session"  # space -> pins, for shared servers
SHARED_NOTE = "Shared server: pins and notes stay in this session (the store's shortlist is read, never written); copy the link to share the ids."


def writes_store() -> bool:
    """True where pins go to the store: single-user mode only."""
    return local_mode()


def current_pins(settings: Settings, space: SearchSpace) -> tuple[list[Pin], str | None]:
    """The space's pins and a one-line problem (a damaged shortlist file: no pins, the file left as it is)."""
    try:
        stored = shortlist.read(settings.folder(space).shortlist)
    except ShortlistError as exc:
        return [], str(exc)
    if writes_store():
        return stored, None
    held = st.session_state.setdefault(SESSION_KEY, {})
    return held.setdefault(space.name, stored), None


def _linked(space: SearchSpace, pins: list[Pin]) -> None:
    view: state.View = st.session_state["view"]
    state.set_shortlist([*[p.id for p in pins], *[i for i in view.shortlist if i not in {p.id for p in pins}]])


def pin_subnet(settings: Settings, space: SearchSpace, sid: str, note: str) -> str | None:
    """Pin ``sid`` with ``note`` (store or session); the one-line reason when refused (nothing changed then)."""
    try:
        if writes_store():
            pins = shortlist.pin(settings.folder(space).shortlist, sid, note)
        else:
            pins = shortlist.pinned(current_pins(settings, space)[0], sid, note)
            st.session_state[SESSION_KEY][space.name] = pins
    except ShortlistError as exc:
        return str(exc)
    _linked(space, pins)
    return None


def unpin_subnet(settings: Settings, space: SearchSpace, sid: str) -> str | None:
    """Remove ``sid`` from the shortlist (and from the link); the one-line reason when refused."""
    try:
        if writes_store():
            pins = shortlist.unpin(settings.folder(space).shortlist, sid)
        else:
            pins = shortlist.unpinned(current_pins(settings, space)[0], sid)
            st.session_state[SESSION_KEY][space.name] = pins
    except ShortlistError as exc:
        return str(exc)
    view: state.View = st.session_state["view"]
    state.set_shortlist([i for i in [*[p.id for p in pins], *view.shortlist] if i != sid])
    return None


def pin_panel(settings: Settings, space: SearchSpace, sid: str) -> None:
    """The Subnet page's pin control: a note and Pin (or Update note / Remove) for the subnet shown."""
    pins, problem = current_pins(settings, space)
    if problem:
        st.warning(plain(f"Shortlist: {problem}"), icon=":material/warning:")
        return
    mine = next((p for p in pins if p.id == sid), None)
    note = st.text_area(
        "note (why this one)",
        value=mine.note if mine else "",
        key=f"sl_note_{space.name}_{sid}",
        max_chars=shortlist.MAX_NOTE,
        height=80,
        placeholder="e.g. fastest within 1 point of the best; check int8",
    )
    left, right = st.columns(2)
    if left.button("Update note" if mine else "Pin to shortlist", key="sl_pin", icon=":material/push_pin:"):
        error = pin_subnet(settings, space, sid, note)
        if error:
            st.error(plain(error))
        else:
            st.rerun()
    if mine and right.button("Remove from shortlist", key="sl_unpin", icon=":material/delete:"):
        error = unpin_subnet(settings, space, sid)
        if error:
            st.error(plain(error))
        else:
            st.rerun()
    where = "kept in the store" if writes_store() else "kept in this session"
    st.caption(f"{'Pinned' if mine else 'Not pinned'}; the shortlist ({len(pins)}) is {where}." + ("" if writes_store() else " " + SHARED_NOTE))


def report_picks(settings: Settings, space: SearchSpace, pins: list[Pin]) -> list[ReportPick]:
    """Each pin with its objectives (sources included) and model-card preview; ids this space cannot read are left out."""
    cat = loaders.catalogue(settings, space.name, None)
    devices, _ = loaders.devices(settings, space.name)
    predictor, _ = loaders.predictor(settings, space.name)
    out = []
    for p in pins:
        try:
            arch = space.arch_from_id(p.id)
        except ValueError:
            continue
        rows = cat.points[cat.points["id"] == arch.id]
        measured = best_measurement(space.name, cat.supernet_version, arch.id, store_root=settings.precomputed) if cat.supernet_version else None
        table = objectives_table(space, arch, predictor, devices, rows, cat.devices, measured)
        card = model_card.preview(space, arch, predicted_payload(table, arch), measured)
        out.append(ReportPick(p, table, card, int(rows["run_id"].nunique()) if len(rows) else 0))
    return out


def report_figure(settings: Settings, space: SearchSpace, run_ids: list[str] | None, devices: list[str], pins: list[Pin]) -> go.Figure | None:
    """The 2D front (top-1 against the first device's latency) of the chosen runs, the shortlisted subnets marked."""
    cat = loaders.catalogue(settings, space.name, run_ids, ("archive",))
    device = next((d for d in devices if LATENCY_PREFIX + d in cat.points), None)
    if device is None or not len(cat.points):
        return None
    x = LATENCY_PREFIX + device
    view = front_view(cat.points, ["top1", x], knees=False)
    first = view.df.reset_index(drop=True).drop_duplicates("id")
    rows = [int(i) for i in first.index[first["id"].isin({p.id for p in pins})]]
    return figures.front_2d(view.df, x, devices, marks={"shortlist": rows}, title=f"{space.name}: {column_label('top1')} vs {column_label(x)}")


def report_html(settings: Settings, space: SearchSpace, run_ids: list[str] | None, devices: list[str], pins: list[Pin]) -> bytes:
    """The decision report's bytes (made when the download is clicked, not on every run)."""
    fig = report_figure(settings, space, run_ids, devices, pins)
    context = f"Front: {'every stored run' if run_ids is None else f'{len(run_ids)} chosen run(s)'}" + (f", latency on {devices[0]}." if devices else ".")
    created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return decision_report(space.name, report_picks(settings, space, pins), fig, created, context).encode("utf-8")


def shortlist_table(pins: list[Pin], points: pd.DataFrame, devices: list[str]) -> pd.DataFrame:
    """One row per pin: id, note, pinned, and its top-1 and latencies where a stored run holds it (blank otherwise)."""
    first = with_accuracy(points).drop_duplicates("id").set_index("id") if len(points) else pd.DataFrame()
    cols = ["top1", *[LATENCY_PREFIX + d for d in devices if LATENCY_PREFIX + d in first], *[c for c in ("macs", "params") if c in first]]
    rows = []
    for p in pins:
        row = {"subnet": p.id, "note": p.note, "pinned": p.pinned_at}
        for c in cols:
            row[column_label(c)] = float(first.at[p.id, c]) if p.id in first.index else None
        rows.append(row)
    return pd.DataFrame(rows)
