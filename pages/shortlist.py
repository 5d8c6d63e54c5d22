"""Shortlist: the pinned subnets with their notes (open, compare, remove) and the decision report to download."""

import streamlit as st

from ofa_dash.ui import loaders, state
from ofa_dash.ui.shortlist_view import SHARED_NOTE, current_pins, pin_subnet, report_html, shortlist_table, unpin_subnet, writes_store
from ofa_dash.ui.text import plain

ctx = state.sidebar()
space, settings = ctx.space, ctx.settings
st.title("Shortlist")
state.show_problems(ctx)

pins, problem = current_pins(settings, space)
if problem:
    st.error(plain(f"The shortlist of {space.name} cannot be read: {problem}"), icon=":material/error:")
    st.stop()
st.caption(
    ("Pins and notes are kept in the store (`shortlist.json` of the space): they survive restarts. " if writes_store() else SHARED_NOTE + " ")
    + "Pin a subnet with a note on the **Subnet** page."
)
linked = [i for i in ctx.view.shortlist if i not in {p.id for p in pins}]
if linked:
    st.info(f"The link shares {len(linked)} subnet(s) not pinned here: {', '.join(linked)}.", icon=":material/link:")
    if st.button("Pin them", key="sl_pin_linked", icon=":material/push_pin:"):
        for sid in linked:
            if error := pin_subnet(settings, space, sid, "shared in a link"):
                st.error(plain(error))
                st.stop()
        st.rerun()
if not pins:
    st.info("Nothing is pinned yet: open a subnet (a click on the Fronts page) and **Pin to shortlist**.", icon=":material/push_pin:")
    st.stop()

cat = loaders.catalogue(settings, space.name, None)
st.dataframe(shortlist_table(pins, cat.points, ctx.view.devices), hide_index=True, width="stretch")
for p in pins:
    c0, c1, c2, c3 = st.columns([3, 1, 1, 1], vertical_alignment="center")
    c0.markdown(f"**{p.id}** · {plain(p.note) if p.note else '_no note_'}")
    if c1.button("Open", key=f"sl_open_{p.id}", icon=":material/memory:"):
        state.open_subnet(p.id)
    if c2.button("Compare", key=f"sl_cmp_{p.id}", icon=":material/compare_arrows:"):
        state.compare_with(p.id)
    if c3.button("Remove", key=f"sl_rm_{p.id}", icon=":material/delete:"):
        if error := unpin_subnet(settings, space, p.id):
            st.error(plain(error))
        else:
            st.rerun()

st.header("Decision report")
st.caption("One HTML file that opens offline: the front with the shortlist marked, each pick's note, objectives with their sources, and its model card.")
st.download_button(
    "Download decision report (HTML)",
    lambda: report_html(settings, space, ctx.view.runs, ctx.view.devices, pins),
    file_name=f"{space.name}-decision-report.html",
    mime="text/html",
    key="sl_report",
    icon=":material/description:",
)
