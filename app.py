"""ofa-dash: the Streamlit entry point. Builds the navigation over pages/; nothing else."""

import streamlit as st

st.set_page_config(page_title="ofa-dash", page_icon=":material/explore:", layout="wide")
st.navigation(
    [
        st.Page("pages/fronts.py", title="Fronts", icon=":material/scatter_plot:", default=True),
        st.Page("pages/story.py", title="Story", icon=":material/auto_stories:"),
        st.Page("pages/subnet.py", title="Subnet", icon=":material/memory:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("pages/shortlist.py", title="Shortlist", icon=":material/push_pin:"),
        st.Page("pages/search.py", title="Search", icon=":material/travel_explore:"),
        st.Page("pages/devices.py", title="Devices & predictors", icon=":material/speed:"),
        st.Page("pages/browser_profile.py", title="Profile a browser", icon=":material/smartphone:"),
    ]
).run()
