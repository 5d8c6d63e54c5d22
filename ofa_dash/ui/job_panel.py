"""How a page shows one of its background jobs while it runs: the progress (or the queue's wait) and a Cancel button.

Every page with a job (validation, a batch of validations, fine-tuning) polls
it from a fragment and draws the same thing while it runs, so it lives here
once; what a page says when the job ends is its own.
"""

from __future__ import annotations

import streamlit as st

from ofa_dash.ui.jobs import Job, progress_text
from ofa_dash.ui.text import plain


def show_running(job: Job, cancel_key: str, cancel_label: str = "Cancel") -> bool:
    """While ``job`` runs: its progress bar, or the validation queue's waiting message, and a cancel button; True while it runs."""
    if not job.running:
        return False
    if job.stage.endswith("waiting"):  # a validation (or a batch's step) waiting for the queue's turn
        st.warning(plain(job.message) if job.message else "waiting for the running validation…", icon=":material/hourglass_top:")
    else:
        st.progress(job.fraction(), text=progress_text(job))
    if st.button(cancel_label, key=cancel_key):
        job.cancel.set()
    return True
