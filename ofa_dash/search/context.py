"""What a search driver is built from (:class:`SearchContext`).

Its own module, below both the algorithm registry (:mod:`ofa_dash.search.algorithms`)
and the baselines (:mod:`ofa_dash.search.baselines`), so the registry can import
the baselines without the baselines importing the registry back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ofa_dash.search.problem import SubnetProblem


@dataclass
class SearchContext:
    """Everything a factory needs to build a driver."""

    problem: SubnetProblem
    pop_size: int
    n_gen: int
    seed: int
    params: dict = field(default_factory=dict)

    @property
    def space(self):
        return self.problem.space

    @property
    def objectives(self):
        return self.problem.objectives

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Evaluate through the problem (so the archive and the evaluation count see it)."""
        out: dict = {}
        self.problem._evaluate(X, out)
        return out["F"]
