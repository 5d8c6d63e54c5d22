"""Re-scoring stored runs: their accuracy objective recomputed with the current (refitted) predictor.

Why: a run's ``error`` objective is the predictor's figure at search time. Once
measurements are added to the predictor's data and it is refitted, those figures
are stale, and a front drawn from them can hold subnets the new predictor ranks
as dominated. Re-scoring writes the new figures beside each run
(:meth:`ofa_dash.store.RunStore.save_rescore`), never over it: the run keeps its
original objectives as provenance, the sidecar records which predictor produced
the new ones, and which subnets fell off the run's front.
"""

from __future__ import annotations

import os

import numpy as np

from ofa_dash.space import get_space
from ofa_dash.store import GENE_COLUMNS, RunStore


def predictor_info(predictor) -> dict:
    """What a re-scoring records about its predictor (the fields a run's ``versions["predictor"]`` holds)."""
    return {
        "name": getattr(predictor, "name", type(predictor).__name__),
        "version": getattr(predictor, "version", None),
        "source": getattr(predictor, "source", None),
    }


def rescore_runs(root: str | os.PathLike | None, space: str, predictor, run_ids: list[str] | None = None) -> list[dict]:
    """Re-score the ``error`` objective of ``space``'s stored runs (``run_ids``, or every valid run that has one) with ``predictor``.

    Returns one summary per run (``run_id``, ``rows``, ``fell_off``, ``max_change``, ``predictor``).
    An unknown run id or a run without an error objective is refused before anything is written.
    """
    sp = get_space(space)
    store = RunStore(root)
    entries, _ = store.list_runs(sp.name)
    by_id = {e["run_id"]: e for e in entries}
    if run_ids:
        unknown = [r for r in run_ids if r not in by_id]
        if unknown:
            raise ValueError(f"no valid run {unknown} in space {sp.name!r}; known: {sorted(by_id) or 'none'}")
        without = [r for r in run_ids if "error" not in by_id[r]["objectives"]]
        if without:
            raise ValueError(f"run(s) {without} have no error objective: there is no predicted accuracy to re-score")
        chosen = [by_id[r] for r in run_ids]
    else:
        chosen = [e for e in entries if "error" in e["objectives"]]
    info = predictor_info(predictor)
    out = []
    for entry in chosen:
        run = store.load(entry["run_id"], sp.name)
        genomes = run.solutions[GENE_COLUMNS].to_numpy(dtype=np.int64)
        error = 100.0 - np.asarray(predictor.predict(genomes), dtype=float) if len(genomes) else np.zeros(0)
        meta = store.save_rescore(sp.name, run.run_id, error, info)
        out.append({k: meta[k] for k in ("run_id", "rows", "fell_off", "max_change", "predictor", "rescored")})
    return out
