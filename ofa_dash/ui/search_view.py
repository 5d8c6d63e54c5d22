"""The Search page's pure parts: which objectives a space offers here, and run histories from the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ofa_dash.search.objectives import COUNTERS, objective_label
from ofa_dash.store import RunStore, StoreError


def objective_choices(devices: list[str], has_predictor: bool) -> list[str]:
    """Objective names a search can use with what is loaded: error (needs a predictor), latency per table, counters."""
    return (["error"] if has_predictor else []) + [f"latency:{d}" for d in devices] + list(COUNTERS)


def default_objectives(choices: list[str]) -> list[str]:
    """Error and the first device's latency where possible (the classic two-objective front)."""
    lat = [c for c in choices if c.startswith("latency:")]
    if "error" in choices and lat:
        return ["error", lat[0]]
    return choices[:2]


def label(name: str) -> str:
    return objective_label(name)


def run_histories(root: str | Path, space: str, entries: list[dict]) -> tuple[pd.DataFrame, list[str]]:
    """One tidy frame of every run's HV history (algorithm, seed, run_id, gen, n_evals, hv); unreadable runs are listed."""
    store = RunStore(root)
    frames, problems = [], []
    for e in entries:
        try:
            h = store.load(e["run_id"], space).history
        except (StoreError, OSError) as exc:
            problems.append(f"run {e['run_id']}: {exc}")
            continue
        frames.append(h[["gen", "n_evals", "hv"]].assign(algorithm=e["algorithm"], seed=int(e["seed"]), run_id=e["run_id"]))
    if not frames:
        return pd.DataFrame(columns=["gen", "n_evals", "hv", "algorithm", "seed", "run_id"]), problems
    return pd.concat(frames, ignore_index=True), problems
