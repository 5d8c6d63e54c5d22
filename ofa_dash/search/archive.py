"""The archive of every non-dominated subnet a run has seen, and its hypervolume.

An algorithm's final population can lose good subnets on the way (survival is
a trade-off between quality and spread); the archive keeps them. It is fed
every evaluated batch, whatever the algorithm, and is reduced to its
non-dominated set once per generation with pymoo's non-dominated sorting, so
its hypervolume can only grow.
"""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ofa_dash.search.operators import unique_rows
from ofa_dash.space import SearchSpace

_NDS = NonDominatedSorting()


def nondominated(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``F`` (minimisation)."""
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    return np.asarray(_NDS.do(np.asarray(F, dtype=float), only_non_dominated_front=True), dtype=int)


def dominated_by(front: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(len(F),) bool: whether some row of the two-objective ``front`` is no worse than each row of
    ``F`` in both objectives (minimisation; a row equal to a front member counts: it improves nothing).
    The best second objective among the members no worse in the first, by a sort and a prefix minimum."""
    front, F = np.asarray(front, dtype=float), np.asarray(F, dtype=float)
    if front.shape[1] != 2 or F.shape[1] != 2:
        raise ValueError("dominated_by compares two objectives")
    if len(front) == 0:
        return np.zeros(len(F), dtype=bool)
    order = np.argsort(front[:, 0], kind="stable")
    best = np.minimum.accumulate(front[order, 1])
    i = np.searchsorted(front[order, 0], F[:, 0], side="right")
    return (i > 0) & (best[np.maximum(i - 1, 0)] <= F[:, 1])


class Hypervolume:
    """pymoo's hypervolume at a fixed reference point (``0`` for an empty set)."""

    def __init__(self, ref_point: np.ndarray) -> None:
        self.ref_point = np.asarray(ref_point, dtype=float)
        self._hv = HV(ref_point=self.ref_point)

    def __call__(self, F: np.ndarray) -> float:
        F = np.asarray(F, dtype=float)
        if len(F) == 0:
            return 0.0
        inside = np.all(self.ref_point > F, axis=1)  # points outside the box add nothing
        return float(self._hv.do(F[inside])) if inside.any() else 0.0


class Archive:
    """Canonical genomes and objectives of every non-dominated subnet seen so far."""

    def __init__(self, space: SearchSpace, n_obj: int) -> None:
        self.space = space
        self.X = np.zeros((0, space.genome_upper.size), dtype=np.int64)
        self.F = np.zeros((0, n_obj))
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.n_seen = 0

    def add(self, genomes: np.ndarray, F: np.ndarray) -> None:
        """Queue an evaluated batch (cheap; merged by :meth:`update`)."""
        self._pending.append((np.asarray(genomes), np.asarray(F, dtype=float)))
        self.n_seen += len(genomes)

    def update(self) -> None:
        """Merge queued batches and keep the non-dominated, distinct networks."""
        if not self._pending:
            return
        parts = [self.X, *(np.asarray(g, dtype=np.int64) for g, _ in self._pending)]
        F = np.concatenate([self.F, *(f for _, f in self._pending)])
        self._pending.clear()
        # non-dominated first (cheap on objectives), then canonical spelling and distinct networks
        # among those few: a local search feeds batches of thousands, nearly all dominated, so only
        # the surviving genome rows are gathered
        nd = np.sort(nondominated(F))
        starts = np.cumsum([0] + [len(x) for x in parts])
        part = np.searchsorted(starts, nd, side="right") - 1
        X = np.zeros((0, self.X.shape[1]), dtype=np.int64)
        if len(nd):
            X = np.concatenate([parts[k][nd[part == k] - starts[k]] for k in np.unique(part)])
        X, F = self.space.canonical(X), F[nd]
        keep = unique_rows(X)
        X, F = X[keep], F[keep]
        order = np.lexsort(F.T[::-1])  # sorted by the first objective, then the next: stable output
        self.X, self.F = X[order], F[order]

    def __len__(self) -> int:
        return len(self.X)
