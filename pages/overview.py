"""What the shipped precomputed/ folder holds, per search space."""

import json
from pathlib import Path

import streamlit as st

from ofa_dash.space import SPACES

PRECOMPUTED = Path(__file__).resolve().parent.parent / "precomputed"

st.title("ofa-dash")
st.caption("Multi-objective Once-for-All NAS: search once, decide afterwards.")
for name, space in SPACES.items():
    with st.container(border=True):
        st.subheader(name)
        st.write(space.description)
        st.write(f"Resolutions {list(space.resolutions)}; stage widths {[s.channels for s in space.stages]}; {space.n_classes} classes.")
        manifest = PRECOMPUTED / name / "train_manifest.json"
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            st.write(
                f"Supernet phases trained: {', '.join(m['phases_done'])} ({m.get('minutes', 0):.0f} min on {next(iter(m['phases'].values()))['hardware']})."
            )
        else:
            st.info("No trained supernet shipped for this space yet.")
