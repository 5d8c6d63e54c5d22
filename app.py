"""ofa-dash: the Streamlit entry point. Builds the navigation over pages/; nothing else."""

import streamlit as st

st.set_page_config(page_title="ofa-dash", page_icon="🧭", layout="wide")
st.navigation([st.Page("pages/overview.py", title="Overview", icon="🧭", default=True)]).run()
