"""The pages' re-score control: which stored runs were scored by another predictor than the current one, and one button to re-score them.

After live validations are added to the predictor's data and it is refitted
(``fit-predictor``), the fronts' accuracy is the old predictor's. The button runs
:func:`ofa_dash.rescore.rescore_runs` (a few thousand predictions: seconds, so no
background job); the runs' own files are never rewritten, and the Fronts page then
marks the subnets that fell off their run's front.
"""

from __future__ import annotations

import streamlit as st

from ofa_dash.rescore import predictor_info, rescore_runs
from ofa_dash.space import SearchSpace
from ofa_dash.store import RunStore
from ofa_dash.ui import loaders
from ofa_dash.ui.config import Settings
from ofa_dash.ui.text import plain


def stale_runs(root, space: str, predictor, entries: list[dict] | None = None) -> list[str]:
    """Runs with an error objective whose accuracy (re-scored or original) comes from another predictor (name or version) than ``predictor``.

    ``entries``: the space's valid run entries when the caller has them (the pages' cached list);
    otherwise the store lists them (validating every run's files).
    """
    store = RunStore(root)
    if entries is None:
        entries, _ = store.list_runs(space)
    current = predictor_info(predictor)
    out = []
    for entry in entries:
        if "error" not in entry["objectives"]:
            continue
        rescored = store.rescore_info(space, entry["run_id"])
        used = rescored.get("predictor") if rescored is not None else (entry.get("versions") or {}).get("predictor")
        used = used or {}
        if (used.get("name"), used.get("version")) != (current["name"], current["version"]):
            out.append(entry["run_id"])
    return out


def rescore_panel(settings: Settings, space: SearchSpace, predictor, key: str = "rescore") -> None:
    """A caption saying how many runs the current predictor did not score, and a button re-scoring every run with it."""
    if predictor is None:
        st.caption("No accuracy predictor here, so the stored runs cannot be re-scored.")
        return
    stale = stale_runs(settings.precomputed, space.name, predictor, loaders.list_runs(settings, space.name)[0])  # cached list: no checksums per rerun
    info = predictor_info(predictor)
    if stale:
        st.caption(
            f"{len(stale)} stored run(s) were scored by another predictor than the current one ({info['name']}, {info['version']}). "
            "After refitting (`python -m ofa_dash fit-predictor`) on new measurements, re-score them: the runs keep their original objectives."
        )
    else:
        st.caption(f"Every stored run's accuracy comes from the current predictor ({info['name']}, {info['version']}).")
    if st.button("Re-score the fronts with the current predictor", key=key, disabled=not stale, icon=":material/refresh:"):
        try:
            with st.spinner("Re-scoring the stored runs…"):
                done = rescore_runs(settings.precomputed, space.name, predictor, stale)
        except (ValueError, OSError) as exc:
            st.error(plain(f"Re-scoring failed: {exc}"))
            return
        fell = sum(r["fell_off"] for r in done)
        st.session_state[f"{key}_done"] = f"Re-scored {len(done)} run(s); {fell} subnet(s) fell off their run's front (marked on the Fronts page)."
        st.rerun()
    if message := st.session_state.pop(f"{key}_done", None):
        st.success(message)
