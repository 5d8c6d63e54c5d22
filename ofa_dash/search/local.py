"""Pareto local search: one-gene neighbours of a front, kept where they improve it.

A genetic run's front is good in the middle and thin at its ends: the most
accurate subnets of OFA's space sit near 50 ms, in a corner a population of
100 reaches only in some seeds (issue 21). The evaluator scores a batch of
20,000 genomes for about the price of a few generations of 100, so the
cheapest way to finish a front is to try every single-gene change of every
front member in one batch, keep the non-dominated set of front and
neighbours, and repeat from the members that are new (Paquete & Stützle's
Pareto local search). The Pareto local search is not random: the same front
and budget give the same result, whatever the seed of the run that produced
the front. The climbs that seed a run (hill climbs, kicks, and the breeding of
climbed optima in :func:`memetic_climb`) draw from the run's own generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ofa_dash.search.archive import dominated_by, nondominated
from ofa_dash.search.fast import MoveScreen
from ofa_dash.search.operators import unique_rows
from ofa_dash.space import SearchSpace


def _all_moves(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    """(n, m, genes): row i's m one-gene changes (every other choice of every gene), canonical."""
    upper = space.genome_upper
    genes = np.repeat(np.arange(upper.size), upper - 1)
    shifts = np.concatenate([np.arange(1, u) for u in upper])
    n, m = len(X), len(genes)
    N = np.repeat(np.asarray(X, dtype=np.int64), m, axis=0).reshape(n, m, upper.size)
    rows = np.arange(m)
    N[:, rows, genes] = (N[:, rows, genes] + shifts) % upper[genes]
    return space.canonical(N.reshape(n * m, upper.size)).reshape(n, m, upper.size)


def one_gene_neighbours(space: SearchSpace, X: np.ndarray) -> np.ndarray:
    """Every genome that differs from a row of ``X`` in exactly one gene, canonical and distinct.

    A change to a switched-off slot is the same network, so canonical
    spelling folds those away before anything is evaluated.
    """
    N = _all_moves(space, X).reshape(-1, space.genome_upper.size)
    return N[unique_rows(N)]


def hill_climb(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    weights: np.ndarray,
    scale: np.ndarray | None = None,
    screen: MoveScreen | None = None,
    limits: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Steepest descent from every row of ``X`` at once, one-gene moves, row i minimising
    ``F @ weights[i]`` with the objectives divided by ``scale`` (default: their spread over the starts).

    Each round scores all moves of all climbers still improving in one batch
    (one evaluator call); a climber stops at its first local optimum. Returns
    (final genomes, their objectives, evaluations). The corners of a front
    (the most accurate subnet above all) are single-objective optima a
    population reaches only in some seeds; a few dozen climbs from random
    starts reach them for a fraction of a run's evaluations. With a ``screen``,
    a round evaluates only the moves whose estimated score is within the screen's
    tolerance of the climber's best estimate (the rest are estimated, not evaluated);
    moves are still taken on exact scores only. With ``limits`` (n, objectives; inf: none),
    row i also pays a penalty for any objective above its limit (:data:`LIMIT_PENALTY`): a
    climb of the error under a soft latency cap (an ε-constraint).
    """
    X = space.canonical(np.asarray(X, dtype=np.int64))
    F = np.asarray(evaluate(X), dtype=float)
    if scale is None:
        scale = F.max(axis=0) - F.min(axis=0)
    scale = np.maximum(scale, 1e-12)
    W = np.asarray(weights, dtype=float) / scale
    score_of = _limited_score(weights, scale, limits)
    score = score_of(F, np.arange(len(X)))
    n_evals = len(X)
    active = np.arange(len(X))
    while len(active):
        N = _all_moves(space, X[active])
        n, m, _ = N.shape
        # a change to a switched-off slot is the climber itself (a fifth of the moves on average): not evaluated
        real = np.any(X[active][:, None, :] != N, axis=2)
        if screen is not None:
            real = _screened(screen, X[active], N, real, W[active], lambda E, rows=active[:, None]: score_of(E, rows))
        ri = np.nonzero(real)[0]
        FN = np.zeros((n, m, F.shape[1]))
        FN[real] = np.asarray(evaluate(N[real]), dtype=float)
        n_evals += len(ri)
        SN = np.full((n, m), np.inf)
        SN[real] = score_of(FN[real], active[ri])
        j = SN.argmin(axis=1)
        rows = np.arange(n)
        better = SN[rows, j] < score[active]
        X[active[better]] = N[rows[better], j[better]]
        F[active[better]] = FN[rows[better], j[better]]
        score[active[better]] = SN[rows[better], j[better]]
        active = active[better]
    return X, F, n_evals


# A limit is soft: an objective one spread (its ``scale``) above its limit adds LIMIT_PENALTY raw
# units of the row's objective (a climb on the error: 10 points of error a spread of latency,
# ~0.3 points a ms on OFA's space, where random subnets spread over ~30 ms). Measured there
# (docs/notes/search.md, fifth round): the default missed 99.5 % on 5 of seeds 1-60 with it,
# and on 9, 12 and 10 with about 0.75x, 2.5x and 100x it (a near-hard cap): within the seeds'
# noise (about +-3), so the value is not critical.
LIMIT_PENALTY = 10.0


def _limited_score(weights: np.ndarray, scale: np.ndarray, limits: np.ndarray | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``score(F, rows)``: ``F`` (..., objectives) divided by ``scale`` and weighted by ``weights[rows]``
    (``rows`` broadcast to ``F``'s leading shape), plus the penalty of any objective above its
    row's limit (:data:`LIMIT_PENALTY`)."""
    W = np.asarray(weights, dtype=float) / scale
    if limits is None:
        return lambda F, rows: np.einsum("...k,...k->...", F, W[rows])
    L = np.asarray(limits, dtype=float)
    P = LIMIT_PENALTY * np.abs(W).sum(axis=1, keepdims=True) * np.isfinite(L) / scale

    def score(F: np.ndarray, rows: np.ndarray) -> np.ndarray:
        excess = np.maximum(F - L[rows], 0.0)  # an infinite limit: -inf, no excess
        return np.einsum("...k,...k->...", F, W[rows]) + np.einsum("...k,...k->...", excess, P[rows])

    return score


def _screened(screen: MoveScreen, parents: np.ndarray, N: np.ndarray, real: np.ndarray, W: np.ndarray, score: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The moves of ``real`` whose estimated ``score`` is within the screen's tolerance (weighted by
    the climbers' scaled weights ``W``) of their climber's best estimate."""
    est = score(np.asarray(screen.estimate(parents, N), dtype=float))
    est[~real] = np.inf
    slack = np.abs(W) @ np.asarray(screen.tolerance, dtype=float)
    return real & (est <= est.min(axis=1, keepdims=True) + slack[:, None])


def iterated_climb(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    weights: np.ndarray,
    rounds: int,
    strength: int,
    rs: np.random.Generator,
    screen: MoveScreen | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Iterated local search, all climbers at once: climb, then ``rounds`` times redraw
    ``strength`` random genes of each climber's best, climb again and keep the better.

    The accuracy landscape of a predictor is rugged: plain climbs from random
    starts stop in local optima that differ by tenths of a percent, which is
    the width of the hypervolume's most valuable strip. Kicks let a climber
    leave its optimum without starting over.
    """
    X, F, n_evals = hill_climb(space, evaluate, starts, weights, screen=screen)
    F0 = np.asarray(evaluate(space.canonical(starts)), dtype=float)  # the scale hill_climb used
    n_evals += len(starts)
    scale = np.maximum(F0.max(axis=0) - F0.min(axis=0), 1e-12)
    score = np.einsum("ij,ij->i", F / scale, weights)
    upper = space.genome_upper
    for _ in range(rounds):
        kicked = X.copy()
        genes = np.argsort(rs.random(kicked.shape), axis=1)[:, :strength]
        rows = np.arange(len(X))[:, None]
        kicked[rows, genes] = rs.integers(0, upper[genes])
        KX, KF, n = hill_climb(space, evaluate, kicked, weights, scale, screen)
        n_evals += n
        new_score = np.einsum("ij,ij->i", KF / scale, weights)
        better = new_score < score
        X[better], F[better], score[better] = KX[better], KF[better], new_score[better]
    return X, F, n_evals


def _pareto_rank(F: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row (0: not dominated by any other row)."""
    rank = np.full(len(F), -1)
    left = np.arange(len(F))
    r = 0
    while len(left):
        nd = nondominated(F[left])
        rank[left[nd]] = r
        left = np.delete(left, nd)
        r += 1
    return rank


def memetic_climb(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    F: np.ndarray,
    weights: np.ndarray,
    scale: np.ndarray,
    max_evals: int,
    rs: np.random.Generator,
    diverse: bool = False,
    screen: MoveScreen | None = None,
    limits: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Breed climbed optima that share a weighting (and ``limits``, see :func:`hill_climb`):
    children by binary tournament, uniform crossover and a one-gene-per-child mutation, each
    child climbed, the best distinct
    optima kept (with ``diverse``, optima that no other one dominates in every objective
    first); a generation starts only while the evaluations spent plus the previous
    generation's cost fit in ``max_evals`` (so the budget holds to within one generation's
    spread; the first is estimated at one sweep of moves per child).

    Why: on OFA's predictor the error alone has many local optima a few tenths of a percent
    apart, and the best ones share most genes with other good ones. Kicks from one optimum
    rarely find a better one (issue 21: 32 climbs with a kick round reach 14.57-14.92 %,
    seeds 1-8); recombining optima and climbing the children reaches 14.57-14.65 % for about
    100,000 evaluations. ``diverse`` keeps optima of other basins that are faster for their
    error (the front just below the most accurate subnet comes from them). Rows of ``X``
    are climbed optima of the rows of ``weights`` (objectives divided by ``scale``); rows
    sharing a weighting form a group of fixed size; groups of one are returned as they are.
    Returns (genomes, objectives, evaluations spent), each group's rows best first.
    """
    X = space.canonical(np.asarray(X, dtype=np.int64))
    F = np.array(F, dtype=float)
    weights = np.asarray(weights, dtype=float)
    scale = np.maximum(np.asarray(scale, dtype=float), 1e-12)
    limited = np.zeros(len(X), dtype=bool) if limits is None else np.isfinite(limits).any(axis=1)
    score_of = _limited_score(weights, scale, limits)
    _, gid = np.unique(weights if limits is None else np.concatenate([weights, limits], axis=1), axis=0, return_inverse=True)
    gid = gid.ravel()
    groups = [np.nonzero(gid == g)[0] for g in range(gid.max() + 1)] if len(gid) else []
    groups = [g for g in groups if len(g) >= 2]
    upper = space.genome_upper
    n_genes = upper.size
    n_evals = 0
    last_cost = sum(len(g) for g in groups) * int((upper - 1).sum())  # at least one round of moves per child
    while groups and n_evals + last_cost <= max_evals:
        parents = []
        for g in groups:
            sg = score_of(F[g], g)
            a, b = rs.integers(0, len(g), (2, len(g))), rs.integers(0, len(g), (2, len(g)))
            win = np.where(sg[a] <= sg[b], a, b)
            parents.append(g[win])
        P = np.concatenate(parents, axis=1)  # (2, children): each child's two parents
        C = np.where(rs.random((P.shape[1], n_genes)) < 0.5, X[P[0]], X[P[1]])
        mutate = rs.random(C.shape) < 1.0 / n_genes
        C = np.where(mutate, rs.integers(0, upper, size=C.shape), C)
        CX, CF, spent = hill_climb(space, evaluate, C, weights[P[0]], scale, screen, None if limits is None else limits[P[0]])
        n_evals += spent
        last_cost = spent
        start = 0
        for g in groups:
            kids = np.arange(start, start + len(g))
            start += len(g)
            allX, allF = np.concatenate([X[g], CX[kids]]), np.concatenate([F[g], CF[kids]])
            rank = _pareto_rank(allF) if diverse and not limited[g[0]] else None
            keep = _best_distinct(allX, score_of(allF, np.full(len(allX), g[0])), len(g), rank)
            X[g], F[g] = allX[keep], allF[keep]
    return X, F, n_evals


def _best_distinct(X: np.ndarray, score: np.ndarray, k: int, rank: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` best distinct rows of ``X`` (by ``rank``, then ``score``, then first
    appearance); fewer distinct rows than places: the best repeated."""
    _, first = np.unique(X, axis=0, return_index=True)
    keys = (first, score[first]) if rank is None else (first, score[first], rank[first])
    return np.resize(first[np.lexsort(keys)], k)


def climb_weights(n_obj: int, n: int, mode: str, rs: np.random.Generator, error: int | None = None) -> np.ndarray:
    """``n`` weight vectors: ``corners`` splits them evenly over the single objectives (the
    objectives' corners), ``spread`` puts half on the corners and half on random mixtures,
    ``accurate`` puts half on the error alone (objective ``error``; ``spread`` without one) and
    half on random mixtures: the other corners of a subnet front are the smallest subnet,
    which the first population holds anyway, and the most accurate one is the hard one.
    ``error`` puts all of them on the error (``corners`` without one): one group for
    :func:`memetic_climb` to breed."""
    corners = np.eye(n_obj)[np.arange(n) % n_obj]
    if mode == "error" and error is not None:
        return np.eye(n_obj)[np.full(n, error)]
    if mode in ("corners", "error"):
        return corners
    if mode == "accurate" and error is not None:
        corners = np.eye(n_obj)[np.full(n, error)]
    mixed = rs.dirichlet(np.ones(n_obj), size=n - n // 2)
    return np.concatenate([corners[: n // 2], mixed])


@dataclass
class LocalSearchResult:
    """The improved non-dominated set and what it cost."""

    X: np.ndarray
    F: np.ndarray
    n_evals: int
    rounds: int
    converged: bool  # True: no neighbour of the last round improved the front


def _row_keys(X: np.ndarray) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.int64)
    return X.view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()


def pareto_local_search(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    F: np.ndarray,
    max_evals: int,
    max_rounds: int = 1_000,
    batch: int = 0,
    screen: MoveScreen | None = None,
) -> LocalSearchResult:
    """Improve the non-dominated set of (``X``, ``F``) by one-gene moves, at most ``max_evals`` evaluations.

    Each round evaluates the unseen neighbours of members not expanded yet
    (all members in the first; with ``batch`` > 0 at most ``batch`` of them,
    spread evenly along the first objective, the rest waiting for a later
    round) and keeps the non-dominated set of the lot. The result never
    contains a point dominated by an input point, and only non-dominated
    points are added. When the budget cannot pay for a whole round, the
    neighbours of the members at the ends of the front come first (sorted by
    the first objective, then alternately from either end), where the front
    is thinnest. A small ``batch`` lets improvements be expanded in the next
    round instead of after a sweep of the whole archive: the search walks
    further along the front for the same budget. With a ``screen``, a neighbour
    is evaluated only if some member does not dominate it even with each of its
    estimated objectives lowered by the screen's tolerance (nearly all neighbours
    of a front are far behind it).
    """
    X = space.canonical(np.asarray(X, dtype=np.int64))
    F = np.asarray(F, dtype=float)
    keep = unique_rows(X)
    X, F = X[keep], F[keep]
    nd = nondominated(F)
    X, F = X[nd], F[nd]
    seen = set(_row_keys(X).tolist())
    expanded: set = set()
    pending = np.arange(len(X))
    n_evals = rounds = 0
    while len(pending) and n_evals < max_evals and rounds < max_rounds:
        if 0 < batch < len(pending):
            by_first = pending[np.lexsort(F[pending].T[::-1])]
            pending = by_first[np.unique(np.linspace(0, len(by_first) - 1, batch).round().astype(int))]
        expanded.update(_row_keys(X[pending]).tolist())
        order = _ends_first(F[pending])
        cand = _promising_neighbours(space, X[pending[order]], F, screen)  # grouped by source row, ends of the front first
        fresh = np.fromiter((k not in seen for k in _row_keys(cand).tolist()), dtype=bool, count=len(cand))
        cand = cand[fresh][: max_evals - n_evals]
        rounds += 1
        if len(cand):
            FN = np.asarray(evaluate(cand), dtype=float)
            seen.update(_row_keys(cand).tolist())
            n_evals += len(cand)
            allX, allF = np.concatenate([X, cand]), np.concatenate([F, FN])
            nd = np.sort(nondominated(allF))
            X, F = allX[nd], allF[nd]
        pending = np.nonzero(np.fromiter((k not in expanded for k in _row_keys(X).tolist()), dtype=bool, count=len(X)))[0]
    return LocalSearchResult(X, F, n_evals, rounds, converged=len(pending) == 0)


def _promising_neighbours(space: SearchSpace, X: np.ndarray, front: np.ndarray, screen: MoveScreen | None) -> np.ndarray:
    """:func:`one_gene_neighbours` of ``X`` (in row order), less those ``screen`` shows dominated by ``front``.

    Two objectives only: there the check is a sort and a prefix minimum. With more, checking a
    neighbour against a front of thousands costs more than evaluating it (the all-devices run's
    pass ran for minutes instead of seconds), so every neighbour is evaluated."""
    if screen is None or front.shape[1] != 2:
        return one_gene_neighbours(space, X)
    N = _all_moves(space, X)
    keep = np.any(X[:, None, :] != N, axis=2)
    optimistic = np.asarray(screen.estimate(X, N), dtype=float) - np.asarray(screen.tolerance, dtype=float)
    keep &= ~dominated_by(front, optimistic.reshape(-1, front.shape[1])).reshape(keep.shape)
    N = N[keep]
    return N[unique_rows(N)]


def _ends_first(F: np.ndarray) -> np.ndarray:
    """Row order: lowest first objective, highest, second lowest, second highest, ..."""
    by_first = np.lexsort(F.T[::-1])
    n = len(by_first)
    inter = np.empty(n, dtype=int)
    inter[0::2] = by_first[: (n + 1) // 2]
    inter[1::2] = by_first[::-1][: n // 2]
    return inter


LOCAL_SEARCH_MODES = ("none", "pareto")


CLIMB_WEIGHTS = ("corners", "spread", "accurate", "error")


def _as_bool(v: object) -> bool:
    """A flag from a run parameter: a bool, 0 / 1, or "true" / "false" (not any non-empty string)."""
    if isinstance(v, bool | int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise ValueError(f"expected true or false, got {v!r}")


def _as_fractions(v: object) -> tuple[float, ...]:
    """Numbers from a run parameter: a list of them, one, or a comma-separated string ("0.6,0.8")."""
    items = v.split(",") if isinstance(v, str) else v if isinstance(v, list | tuple) else [v]
    return tuple(float(x) for x in items if str(x).strip())


@dataclass(frozen=True)
class LocalSearchSchedule:
    """How a genetic run uses local search (``mode="none"``: not at all, the OFA² protocol).

    Before the first generation, ``climbs`` iterated hill climbs (``kick_rounds``
    kicks of ``kick_genes`` genes each) from random starts, then ``memetic_evals``
    evaluations of breeding the climbers that share a weighting
    (:func:`memetic_climb`, ``memetic_diverse``: non-dominated optima first), are
    offered to the initial population; the genetic search runs ``ga_share`` of the
    requested generations (the rest of the time pays for the local search); a Pareto
    local search pass of at most ``max_evals`` evaluations (expanding at most ``ls_batch``
    members a round; 0: all) polishes the archive every ``every`` generations
    (0: never in between) and after the last one. With ``screen_tolerance`` > 0 the
    climbs and the pass are screened by the objectives' move estimates, trusted to
    that many points of error (:class:`~ofa_dash.search.fast.MoveScreen`); budgets then
    count exact evaluations only.
    """

    mode: str = "none"
    every: int = 0
    max_evals: int = 0
    climbs: int = 0
    climb_weights: str = "corners"
    kick_rounds: int = 0
    kick_genes: int = 4
    ga_share: float = 1.0
    memetic_evals: int = 0
    ls_batch: int = 0
    memetic_diverse: bool = False
    screen_tolerance: float = 0.0
    capped_climbers: int = 0
    cap_fractions: tuple[float, ...] = ()
    capped_evals: int = 0

    def __post_init__(self) -> None:
        if self.mode not in LOCAL_SEARCH_MODES:
            raise ValueError(f"local_search must be one of {LOCAL_SEARCH_MODES}, got {self.mode!r}")
        if self.climb_weights not in CLIMB_WEIGHTS:
            raise ValueError(f"climb_weights must be one of {CLIMB_WEIGHTS}, got {self.climb_weights!r}")
        for name in ("every", "max_evals", "climbs", "kick_rounds", "kick_genes", "memetic_evals", "ls_batch", "capped_climbers", "capped_evals"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not all(0.0 < c < 1.0 for c in self.cap_fractions):
            raise ValueError(f"cap_fractions must each be in (0, 1), got {self.cap_fractions}")
        if not self.screen_tolerance >= 0.0:
            raise ValueError(f"screen_tolerance must be >= 0, got {self.screen_tolerance}")
        if not 0.0 < self.ga_share <= 1.0:
            raise ValueError(f"ga_share must be in (0, 1], got {self.ga_share}")

    @classmethod
    def from_values(cls, base: LocalSearchSchedule, given: dict) -> LocalSearchSchedule:
        """``base`` with the ``given`` fields replaced, each converted to the field's type."""
        kinds = {
            f: _as_bool if isinstance(getattr(base, f), bool) else _as_fractions if isinstance(getattr(base, f), tuple) else type(getattr(base, f))
            for f in given
        }
        try:
            values = {f: kinds[f](v) for f, v in given.items()}
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad local search parameter: {e}") from None
        return replace(base, **values)

    def scaled(self, n_evals: int, reference: int = 100_000) -> LocalSearchSchedule:
        """This schedule for a run of ``n_evals`` (population x generations) instead of ``reference``:
        the local search budget and the climbs (at least 2, never more) in proportion."""
        f = n_evals / reference
        return replace(
            self,
            max_evals=round(self.max_evals * f),
            memetic_evals=round(self.memetic_evals * f),
            capped_evals=round(self.capped_evals * f),
            climbs=max(2, min(self.climbs, round(self.climbs * f))) if self.climbs else 0,
            capped_climbers=max(2, min(self.capped_climbers, round(self.capped_climbers * f))) if self.capped_climbers else 0,
        )

    def generations(self, n_gen: int) -> int:
        """Generations the genetic search runs out of the ``n_gen`` asked for."""
        return max(1, math.ceil(n_gen * self.ga_share))

    def due(self, gen: int, last: int) -> bool:
        """Whether step ``gen`` (1-based) of ``last`` ends with a pass."""
        if self.mode == "none" or self.max_evals == 0:
            return False
        return gen == last or (self.every > 0 and gen % self.every == 0)


def climb_and_breed(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    score_starts: Callable[[np.ndarray], np.ndarray],
    n_obj: int,
    error: int | None,
    schedule: LocalSearchSchedule,
    rs: np.random.Generator,
    screen: MoveScreen | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The climbing half of a schedule: ``schedule.climbs`` iterated climbs from random starts,
    then ``schedule.memetic_evals`` of breeding (:func:`memetic_climb`). ``score_starts``
    scores the starts once more for the objectives' scale (an evaluator that keeps nothing:
    random starts are not results). Every climb is screened by ``screen`` when given.

    With ``schedule.cap_fractions`` (two objectives, one the error), the bred optima are then
    climbed again on the error under soft caps on the other objective (each fraction of the
    most accurate optimum's), and the best ``schedule.capped_climbers`` per cap are bred under
    their cap for ``schedule.capped_evals`` (:func:`_capped_breeding`); they join the result. Why: the error's most accurate basins lie at the
    front's costly end, and a faster basin just below them (on OFA's space, 44-56 ms against
    52-65) is one that error climbs and their breeding reach in only some seeds; bred under
    the cap, the constrained optimum is the goal, and the breeding finds it in nearly every
    seed (docs/notes/search.md, fifth round)."""
    starts = rs.integers(0, space.genome_upper, size=(schedule.climbs, space.genome_upper.size))
    weights = climb_weights(n_obj, schedule.climbs, schedule.climb_weights, rs, error)
    X, F, _ = iterated_climb(space, evaluate, starts, weights, schedule.kick_rounds, schedule.kick_genes, rs, screen)
    if schedule.memetic_evals > 0:
        F0 = np.asarray(score_starts(space.canonical(starts)), dtype=float)  # the scale the climbs used
        scale = np.maximum(F0.max(axis=0) - F0.min(axis=0), 1e-12)
        X, F, _ = memetic_climb(space, evaluate, X, F, weights, scale, schedule.memetic_evals, rs, diverse=schedule.memetic_diverse, screen=screen)
        if schedule.cap_fractions and schedule.capped_climbers > 0 and schedule.capped_evals > 0 and error is not None and n_obj == 2:
            CX, CF = _capped_breeding(space, evaluate, X, F, error, scale, schedule, rs, screen)
            X, F = np.concatenate([X, CX]), np.concatenate([F, CF])
    return X, F


def _capped_breeding(
    space: SearchSpace,
    evaluate: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    F: np.ndarray,
    error: int,
    scale: np.ndarray,
    schedule: LocalSearchSchedule,
    rs: np.random.Generator,
    screen: MoveScreen | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The bred optima ``X`` climbed on the error under each cap (see :func:`climb_and_breed`),
    the best ``schedule.capped_climbers`` of them per cap bred under it, all caps together for
    ``schedule.capped_evals``."""
    n, n_obj = F.shape
    cost = 1 - error
    caps = np.asarray(schedule.cap_fractions, dtype=float) * F[np.argmin(F[:, error]), cost]
    on_error = np.eye(n_obj)[np.full(n * len(caps), error)]
    limit = np.full((n * len(caps), n_obj), np.inf)
    limit[:, cost] = np.repeat(caps, n)
    CX, CF, _ = hill_climb(space, evaluate, np.tile(X, (len(caps), 1)), on_error, scale, screen, limit)
    score = _limited_score(on_error, scale, limit)(CF, np.arange(len(CX)))
    keep = np.concatenate([k * n + _best_distinct(CX[k * n : (k + 1) * n], score[k * n : (k + 1) * n], schedule.capped_climbers) for k in range(len(caps))])
    CX, CF, _ = memetic_climb(space, evaluate, CX[keep], CF[keep], on_error[keep], scale, schedule.capped_evals, rs, screen=screen, limits=limit[keep])
    return CX, CF
