"""NSGA-II on plain arrays: pymoo's decisions without pymoo's per-individual objects.

pymoo keeps a population as an array of ``Individual`` objects; at 100
subnets x 1,000 generations, reading and writing their attributes one by one
costs more than the predictor itself. This engine follows pymoo's NSGA-II
step for step (binary tournament on dominance then crowding, uniform
crossover, random-choice mutation, duplicate elimination with re-mating,
rank-and-crowding survival) and calls pymoo's own non-dominated sorting,
crowding distance and randomised argsort, but holds the population as two
arrays (genomes, objectives). ``nsga2-pymoo`` in the registry runs pymoo's
class with the same operators, for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
from pymoo.util.misc import random_permutations
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from pymoo.util.randomized_argsort import randomized_argsort

from ofa_dash.search.operators import (
    CROSSOVER_PROB,
    MAX_MATING_ROUNDS,
    MUTATION_PROB_VAR,
    check_crossover_mode,
    check_duplicates_mode,
    check_init_mode,
    check_mutation_mode,
    fresh,
    initial_genomes,
    pair_tournament,
    vary,
)
from ofa_dash.space import SearchSpace


def rank_and_crowding(F: np.ndarray, n_survive: int, random_state: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pymoo's ``RankAndCrowding`` survival on an array: (survivor indices, their rank, their crowding)."""
    nds = NonDominatedSorting()
    crowding_func = get_crowding_function("cd")
    fronts = nds.do(F, n_stop_if_ranked=n_survive)
    survivors: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    crowd: list[np.ndarray] = []
    n = 0
    for k, front in enumerate(fronts):
        if n + len(front) > n_survive:
            n_remove = n + len(front) - n_survive
            cd = crowding_func.do(F[front, :], n_remove=n_remove)
            keep = randomized_argsort(cd, order="descending", method="numpy", random_state=random_state)[:-n_remove]
        else:
            cd = crowding_func.do(F[front, :], n_remove=0)
            keep = np.arange(len(front))
        survivors.append(front[keep])
        ranks.append(np.full(len(keep), k))
        crowd.append(cd[keep])
        n += len(keep)
    return np.concatenate(survivors), np.concatenate(ranks), np.concatenate(crowd)


def tournament(F: np.ndarray, crowding: np.ndarray, n_select: int, random_state: np.random.Generator) -> np.ndarray:
    """NSGA-II binary tournament ('comp_by_dom_and_crowding') for ``n_select`` winners, pairs drawn as pymoo draws them."""
    n_random = 2 * n_select
    P = random_permutations(math.ceil(n_random / len(F)), len(F), random_state=random_state)[:n_random].reshape(n_select, 2)
    return pair_tournament(P, np.zeros(len(F)), F, crowding, True, random_state)[:, 0]


class ArrayNSGA2:
    """Generational NSGA-II over integer genomes ``0 <= x < upper``; one ``evaluate`` call per generation."""

    def __init__(
        self,
        space: SearchSpace,
        evaluate: Callable[[np.ndarray], np.ndarray],
        pop_size: int = 100,
        seed: int = 1,
        prob_var: float = MUTATION_PROB_VAR,
        crossover_prob: float = CROSSOVER_PROB,
        duplicates: str = "genome",
        mutation: str = "choice",
        crossover: str = "uniform",
        init: str = "random",
    ) -> None:
        self.space = space
        self.evaluate = evaluate
        self.pop_size = pop_size
        self.prob_var = prob_var
        self.crossover_prob = crossover_prob
        self.duplicates = check_duplicates_mode(duplicates)
        self.mutation = check_mutation_mode(mutation)
        self.init = check_init_mode(init)
        self.crossover = check_crossover_mode(crossover)
        self.random_state = np.random.default_rng(seed)
        self.upper = space.genome_upper
        self.X: np.ndarray | None = None
        self.F: np.ndarray | None = None
        self.rank = self.crowding = None
        self.n_gen = 0

    # -------------------------------------------------------------- variation
    def _sample(self, n: int) -> np.ndarray:
        return initial_genomes(self.space, n, self.random_state, self.init if n == self.pop_size else "random")

    def _mate(self, n: int) -> np.ndarray:
        rs = self.random_state
        n_matings = math.ceil(n / 2)
        winners = tournament(self.F, self.crowding, 2 * n_matings, rs).reshape(n_matings, 2)
        return vary(self.X[winners[:, 0]], self.X[winners[:, 1]], self.upper, rs, self.prob_var, self.crossover_prob, self.mutation, self.crossover)

    def _fill(self, make: Callable[[int], np.ndarray], n: int, known: np.ndarray) -> np.ndarray:
        """Produce ``n`` genomes whose networks are new (not in ``known``, not repeated), as pymoo's mating loop."""
        out = np.zeros((0, self.upper.size), dtype=np.int64)
        for _ in range(MAX_MATING_ROUNDS):
            cand = make(n - len(out))
            cand = cand[fresh(self.space, np.concatenate([known, out]), cand, self.duplicates)]
            out = np.concatenate([out, cand[: n - len(out)]])
            if len(out) >= n:
                break
        return out

    # ----------------------------------------------------------------- steps
    def step(self) -> None:
        """One generation (the first call samples and evaluates the initial population)."""
        rs = self.random_state
        if self.X is None:
            X = self._fill(self._sample, self.pop_size, np.zeros((0, self.upper.size), dtype=np.int64))
            F = np.asarray(self.evaluate(X), dtype=float)
            idx, self.rank, self.crowding = rank_and_crowding(F, len(F), rs)
        else:
            off = self._fill(self._mate, self.pop_size, self.X)
            if len(off) == 0:
                raise RuntimeError("no new offspring could be produced (the population has converged to duplicates)")
            X = np.concatenate([self.X, off])
            F = np.concatenate([self.F, np.asarray(self.evaluate(off), dtype=float)])
            idx, self.rank, self.crowding = rank_and_crowding(F, self.pop_size, rs)
        self.X, self.F = X[idx], F[idx]
        self.n_gen += 1

    def inject(self, X: np.ndarray, F: np.ndarray) -> None:
        """Offer already evaluated genomes to the population: survival over population + new networks."""
        X = np.asarray(X, dtype=np.int64)
        new = fresh(self.space, self.X, X, "canonical")
        if len(new) == 0:
            return
        allX = np.concatenate([self.X, X[new]])
        allF = np.concatenate([self.F, np.asarray(F, dtype=float)[new]])
        idx, self.rank, self.crowding = rank_and_crowding(allF, self.pop_size, self.random_state)
        self.X, self.F = allX[idx], allF[idx]

    def front(self) -> tuple[np.ndarray, np.ndarray]:
        """The current population's non-dominated set (pymoo's ``opt``)."""
        best = self.rank == 0
        return self.X[best], self.F[best]
