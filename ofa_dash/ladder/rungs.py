"""Which subnets of a front become a ladder's rungs: spread evenly over its latency range (numpy and pandas only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LadderColumns:
    """Which columns of a front table hold the figures a ladder needs (the catalogue's names by default)."""

    latency: str  # e.g. "latency:demo-cpu"
    accuracy: str = "top1"
    accuracy_source: str = "top1_source"


def select_rungs(front: pd.DataFrame, columns: LadderColumns, k: int) -> pd.DataFrame:
    """``k`` distinct subnets of ``front`` spread over its latency range, fastest first.

    For ``k`` evenly spaced latency targets from the fastest to the slowest
    member, the nearest member not yet chosen (best accuracy first on ties).
    Raises ``ValueError`` when the front holds fewer than ``k`` distinct subnets.
    """
    if k < 1:
        raise ValueError(f"a ladder needs at least one model (k = {k})")
    usable = front.dropna(subset=[columns.latency, columns.accuracy])
    members = usable.sort_values([columns.latency, columns.accuracy], ascending=[True, False], kind="stable").drop_duplicates("id")
    if len(members) < k:
        raise ValueError(f"the front holds {len(members)} distinct subnet(s) with a latency on this device; a ladder of {k} needs at least {k}")
    latency = members[columns.latency].to_numpy(dtype=float)
    accuracy = members[columns.accuracy].to_numpy(dtype=float)
    targets = np.linspace(latency.min(), latency.max(), k)
    free = np.ones(len(members), dtype=bool)
    chosen = []
    for target in targets:
        candidates = np.flatnonzero(free)
        # nearest to the target; on equal distance the more accurate one
        best = candidates[np.lexsort((-accuracy[candidates], np.abs(latency[candidates] - target)))[0]]
        free[best] = False
        chosen.append(best)
    rungs = members.iloc[sorted(chosen, key=lambda i: (latency[i], -accuracy[i]))]
    return rungs.reset_index(drop=True)


def spread_along_front(run, space, latency: str, k: int) -> list[str]:
    """Ids of ``k`` subnets of a stored run's archive spread over its ``latency`` objective (:func:`select_rungs`'s choice).

    ``run``: a :class:`~ofa_dash.store.StoredRun` with ``error`` and ``latency`` among its objectives;
    ``space`` decodes its genomes. What benchmarks and the flagship switch measure along a front.
    """
    F = run.F("archive")
    front = pd.DataFrame(
        {
            "id": [a.id for a in space.decode(run.genomes("archive"))],
            latency: F[:, run.objectives.index(latency)],
            "top1": 100.0 - F[:, run.objectives.index("error")],
        }
    )
    return select_rungs(front, LadderColumns(latency), k)["id"].tolist()
