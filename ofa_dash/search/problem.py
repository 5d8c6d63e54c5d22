"""The pymoo problem: the 46-gene subnet genome, objectives by name, whole populations per call.

The problem is deliberately thin: scoring is :class:`~ofa_dash.search.objectives.Objectives`
(usable without pymoo), and every evaluated batch is passed to ``on_evaluate``
so that a run can keep an archive of every non-dominated subnet it has seen,
whatever the algorithm does with its population.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.core.problem import Problem

from ofa_dash.search.objectives import Objectives
from ofa_dash.space import GENOME_LENGTH


class SubnetProblem(Problem):
    """Minimise ``objectives`` over integer genomes ``0 <= x < genome_upper`` (vectorised, ``elementwise=False``)."""

    def __init__(self, objectives: Objectives, on_evaluate: Callable[[np.ndarray, np.ndarray], None] | None = None) -> None:
        self.objectives = objectives
        self.space = objectives.space
        self.on_evaluate = on_evaluate
        self.n_evals = 0
        upper = self.space.genome_upper
        super().__init__(n_var=GENOME_LENGTH, n_obj=objectives.n_obj, xl=np.zeros(GENOME_LENGTH), xu=(upper - 1).astype(float), vtype=int, elementwise=False)

    def _evaluate(self, x, out, *args, **kwargs):
        g = np.asarray(x)
        if g.dtype.kind != "i":
            g = np.rint(g).astype(np.int64)
        g = self.space.check_genome(g)
        F = self.objectives(g, check=False)
        out["F"] = F
        self.n_evals += len(g)
        if self.on_evaluate is not None:
            self.on_evaluate(g, F)
