"""Genetic operators for the categorical subnet genome (as in OFA²).

Genes are choice indices (kernel, expand ratio, depth, resolution), not
numbers on a scale, so the operators never interpolate: uniform crossover
swaps whole genes, random-choice mutation redraws a gene uniformly from its
choices. Duplicate offspring can be judged on the genome as it is (pymoo's
default, OFA²) or on the *canonical* genome (inactive slots zeroed, i.e. on
the network): two genomes that differ only in switched-off slots are the
same network, and evaluating both wastes an evaluation and a population
slot (measured: docs/notes/search.md).

The tournaments here make the decisions of pymoo's NSGA-II, SMS-EMOA and
SPEA2 tournament functions (constraint violation first, then dominance,
crowding distance or SPEA fitness, then a coin flip) on whole arrays at once;
pymoo's own versions loop in Python over the tournaments, which was one of the
largest costs of a 1,000-generation run.
"""

from __future__ import annotations

import math

import numpy as np
from pymoo.core.duplicate import DefaultDuplicateElimination, NoDuplicateElimination
from pymoo.core.mating import Mating
from pymoo.core.mutation import Mutation
from pymoo.core.population import Population
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.ux import UniformCrossover

from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, SearchSpace

MUTATION_PROB_VAR = 0.1  # OFA²: each gene is redrawn with probability 0.1
CROSSOVER_PROB = 1.0  # OFA²: every mating pair is crossed
MAX_MATING_ROUNDS = 100  # as pymoo: stop re-mating for unique offspring after this many rounds


MUTATION_MODES = ("choice", "change")
CROSSOVER_MODES = ("uniform", "stage")


def _gene_groups(n_var: int) -> np.ndarray:
    """Group id per gene for stage-wise crossover: a stage's 4 kernels, 4 expands and its depth travel together."""
    slot_stage = np.arange(N_SLOTS) // MAX_DEPTH
    return np.concatenate([slot_stage, slot_stage, np.arange(N_STAGES), [N_STAGES]])[:n_var]


def vary(
    p1: np.ndarray,
    p2: np.ndarray,
    upper: np.ndarray,
    rs: np.random.Generator,
    prob_var: float = MUTATION_PROB_VAR,
    crossover_prob: float = CROSSOVER_PROB,
    mutation: str = "choice",
    crossover: str = "uniform",
) -> np.ndarray:
    """Uniform crossover of parent pairs (two children each), then mutation, on arrays.

    ``crossover="uniform"`` takes each gene from either parent (OFA²), ``"stage"``
    each stage (its kernels, expands and depth) and the resolution as a whole.
    ``mutation="choice"`` redraws a gene from all its choices (OFA²; the old
    value may come back), ``"change"`` from the other choices only.
    """
    if crossover == "stage":
        groups = _gene_groups(p1.shape[1])
        swap = (rs.random((len(p1), groups.max() + 1)) < 0.5)[:, groups]
    else:
        swap = rs.random(p1.shape) < 0.5
    swap &= (rs.random(len(p1)) < crossover_prob)[:, None]
    off = np.concatenate([np.where(swap, p2, p1), np.where(swap, p1, p2)]).astype(np.int64)
    hit = rs.random(off.shape) < prob_var
    if mutation == "change":
        drawn = (off + rs.integers(1, upper, size=off.shape)) % upper
    else:
        drawn = rs.integers(0, upper, size=off.shape)
    off[hit] = drawn[hit]
    return off


def unique_rows(g: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of every distinct row, in order."""
    if len(g) == 0:
        return np.zeros(0, dtype=int)
    g = np.ascontiguousarray(g)
    view = g.view(np.dtype((np.void, g.dtype.itemsize * g.shape[1]))).ravel()
    _, first = np.unique(view, return_index=True)
    return np.sort(first)


DUPLICATE_MODES = ("genome", "canonical", "none")


def check_duplicates_mode(mode: str) -> str:
    if mode not in DUPLICATE_MODES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_MODES}, got {mode!r}")
    return mode


def check_crossover_mode(mode: str) -> str:
    if mode not in CROSSOVER_MODES:
        raise ValueError(f"crossover must be one of {CROSSOVER_MODES}, got {mode!r}")
    return mode


def check_mutation_mode(mode: str) -> str:
    if mode not in MUTATION_MODES:
        raise ValueError(f"mutation must be one of {MUTATION_MODES}, got {mode!r}")
    return mode


def fresh(space: SearchSpace, known: np.ndarray, cand: np.ndarray, mode: str = "genome") -> np.ndarray:
    """Indices of ``cand`` rows that are new: not in ``known`` and not repeated among themselves.

    ``genome`` compares the genes as they are (pymoo's default); ``canonical``
    compares the networks (inactive slots ignored); ``none`` keeps everything.
    """
    if mode == "none":
        return np.arange(len(cand))
    both = np.concatenate([known, cand])
    first = unique_rows(space.canonical(both) if mode == "canonical" else both)
    return first[first >= len(known)] - len(known)


INIT_MODES = ("random", "random+extremes")


def check_init_mode(mode: str) -> str:
    if mode not in INIT_MODES:
        raise ValueError(f"init must be one of {INIT_MODES}, got {mode!r}")
    return mode


def initial_genomes(space: SearchSpace, n: int, rs: np.random.Generator, mode: str = "random") -> np.ndarray:
    """``n`` uniform random genomes; ``random+extremes`` puts the largest and the smallest subnet
    in the first two rows (OFA's sandwich-rule subnets: they bound every front of the space)."""
    g = rs.integers(0, space.genome_upper, size=(n, space.genome_upper.size))
    if check_init_mode(mode) == "random+extremes" and n >= 2:
        g[:2] = space.encode([space.largest(), space.smallest()])
    return g


class GenomeSampling(Sampling):
    """Initial population: uniform random choice indices, as integers (see :func:`initial_genomes`)."""

    def __init__(self, space: SearchSpace | None = None, mode: str = "random") -> None:
        super().__init__()
        self.space = space
        self.mode = check_init_mode(mode)

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        if self.space is not None:
            return initial_genomes(self.space, n_samples, random_state, self.mode)
        return random_state.integers(problem.xl.astype(np.int64), problem.xu.astype(np.int64) + 1, size=(n_samples, problem.n_var))


class RandomChoiceMutation(Mutation):
    """Redraw each gene, with probability ``prob_var``, uniformly from all its choices."""

    def __init__(self, prob_var: float = MUTATION_PROB_VAR, **kwargs) -> None:
        super().__init__(prob=1.0, prob_var=prob_var, **kwargs)

    def _do(self, problem, X, random_state=None, **kwargs):
        X = np.asarray(X).astype(np.int64)
        hit = random_state.random(X.shape) < self.get_prob_var(problem)
        drawn = random_state.integers(problem.xl.astype(np.int64), problem.xu.astype(np.int64) + 1, size=X.shape)
        X[hit] = drawn[hit]
        return X


def uniform_crossover(prob: float = CROSSOVER_PROB) -> UniformCrossover:
    """pymoo's uniform crossover (each gene from either parent with probability 1/2)."""
    return UniformCrossover(prob=prob)


def duplicate_elimination(space: SearchSpace, mode: str = "genome"):
    """pymoo's duplicate elimination in the given mode (see :func:`fresh`); used on the initial population."""
    if check_duplicates_mode(mode) == "none":
        return NoDuplicateElimination()
    if mode == "genome":
        return DefaultDuplicateElimination(epsilon=0.5)

    def canonical_x(pop) -> np.ndarray:
        return space.canonical(np.asarray(pop.get("X")).astype(np.int64)).astype(np.float64)

    return DefaultDuplicateElimination(func=canonical_x, epsilon=0.5)


class ArrayMating(Mating):
    """pymoo's mating loop (the algorithm's own selection, then crossover, mutation and
    duplicate elimination, re-mating until enough offspring) with the variation on arrays.

    Same decisions as ``Mating`` with :class:`UniformCrossover`, :class:`RandomChoiceMutation`
    and :func:`duplicate_elimination`; it avoids reading and writing pymoo's
    ``Individual`` objects gene by gene, which dominated the run time.
    """

    def __init__(
        self,
        space: SearchSpace,
        selection,
        prob_var: float = MUTATION_PROB_VAR,
        crossover_prob: float = CROSSOVER_PROB,
        duplicates: str = "genome",
        mutation: str = "choice",
        crossover: str = "uniform",
    ) -> None:
        super().__init__(selection, uniform_crossover(crossover_prob), RandomChoiceMutation(prob_var), n_max_iterations=MAX_MATING_ROUNDS)
        self.space = space
        self.prob_var = prob_var
        self.crossover_prob = crossover_prob
        self.mutation_mode = check_mutation_mode(mutation)
        self.crossover_mode = check_crossover_mode(crossover)
        self.duplicates = check_duplicates_mode(duplicates)

    def do(self, problem, pop, n_offsprings, random_state=None, n_max_iterations=None, parents=None, **kwargs):
        X = np.asarray(pop.get("X")).astype(np.int64)
        upper = self.space.genome_upper
        out = np.zeros((0, X.shape[1]), dtype=np.int64)
        for _ in range(n_max_iterations or self.n_max_iterations):
            need = n_offsprings - len(out)
            P = parents if parents is not None else self.selection.do(problem, pop, math.ceil(need / 2), 2, to_pop=False, random_state=random_state, **kwargs)
            P = np.asarray(P, dtype=int)
            cand = vary(X[P[:, 0]], X[P[:, 1]], upper, random_state, self.prob_var, self.crossover_prob, self.mutation_mode, self.crossover_mode)
            cand = cand[fresh(self.space, np.concatenate([X, out]), cand, self.duplicates)]
            out = np.concatenate([out, cand[:need]])
            if len(out) >= n_offsprings:
                break
        return Population.new("X", out)


def pair_tournament(P: np.ndarray, cv: np.ndarray, F: np.ndarray | None, key: np.ndarray | None, larger_is_better: bool, random_state) -> np.ndarray:
    """Winners of pair tournaments: lower constraint violation, then Pareto dominance (if ``F``),
    then ``key`` (if given), then a coin flip; the order pymoo's tournament functions use."""
    if P.shape[1] != 2:
        raise ValueError("tournaments here compare pairs (pressure 2)")
    a, b = P[:, 0], P[:, 1]
    winner = np.where(random_state.random(len(P)) < 0.5, a, b)  # ties
    if key is not None:
        ka, kb = (key[a], key[b]) if larger_is_better else (-key[a], -key[b])
        winner = np.where(ka > kb, a, np.where(kb > ka, b, winner))
    if F is not None:
        fa, fb = F[a], F[b]
        a_dom = np.all(fa <= fb, axis=1) & np.any(fa < fb, axis=1)
        b_dom = np.all(fb <= fa, axis=1) & np.any(fb < fa, axis=1)
        winner = np.where(a_dom, a, np.where(b_dom, b, winner))
    cv_a, cv_b = cv[a], cv[b]
    by_cv = np.where(cv_a < cv_b, a, np.where(cv_b < cv_a, b, winner))
    return np.where((cv_a > 0) | (cv_b > 0), by_cv, winner)[:, None].astype(int)


def _cv(pop) -> np.ndarray:
    cv = np.asarray(pop.get("CV"), dtype=float)
    return cv[:, 0] if cv.ndim == 2 else cv


def binary_tournament(pop, P, algorithm=None, random_state=None, **kwargs) -> np.ndarray:
    """NSGA-II's ('comp_by_dom_and_crowding'): feasibility, dominance, crowding distance, coin."""
    F, crowding = pop.get("F", "crowding")
    return pair_tournament(P, _cv(pop), np.asarray(F, dtype=float), np.asarray(crowding, dtype=float), True, random_state)


def dominance_tournament(pop, P, algorithm=None, random_state=None, **kwargs) -> np.ndarray:
    """SMS-EMOA's (``cv_and_dom_tournament``): feasibility, dominance, coin."""
    return pair_tournament(P, _cv(pop), np.asarray(pop.get("F"), dtype=float), None, True, random_state)


def spea_tournament(pop, P, algorithm=None, random_state=None, **kwargs) -> np.ndarray:
    """SPEA2's (``spea_binary_tournament``): feasibility, SPEA fitness (lower wins), coin."""
    return pair_tournament(P, _cv(pop), None, np.asarray(pop.get("SPEA_F"), dtype=float), False, random_state)
