"""Algorithm registry: name -> a driver that runs one generation per ``step()``.

Every entry gets the same genome operators, so that a comparison between
entries compares the algorithms, not their operators: OFA²'s uniform
crossover (probability 1.0) and random-choice mutation (per-gene probability
0.1), plus two defaults measured on the OFA² problem (docs/notes/search.md):
duplicate offspring are judged on the network (``duplicates="canonical"``)
and the initial population holds the largest and the smallest subnet next to
uniform random ones (``init="random+extremes"``). One exception, also
measured: SPEA2 mutates each gene with probability 0.02 (``SPEA2_PROB_VAR``).
``OFA2_PROTOCOL`` restores OFA²'s exact choices (genome duplicates, purely
random start, mutation 0.1). Run
parameters ``prob_var``, ``mutation`` ("choice" | "change"), ``crossover``
("uniform" | "stage"), ``duplicates`` and ``init`` override them.

``nsga2`` adds local search by default (issue 21, :mod:`ofa_dash.search.local`):
hill climbs on the error alone, bred with each other (a memetic search for the most
accurate subnets) and then bred again under latency caps below the most accurate one's
(the faster basins just under it), seed the first population, the genetic search runs 5 % of the
requested generations, and a Pareto local search polishes the archive; the climbs and
the pass evaluate exactly only the moves the predictor's cheap move estimates cannot
rule out (:meth:`~ofa_dash.search.objectives.Objectives.move_screen`). Together they
take less than the time of the plain run (``DEFAULT_LOCAL_SEARCH``; ``ls_schedule="tight-screen"``,
``"screened"``, ``"memetic"`` and ``"climbs-v1"`` give the schedules it replaced; ``local_search="none"`` turns it off,
as ``OFA2_PROTOCOL`` does).

``agemoea`` (the all-devices run's algorithm) ends with the same schedule's climbs and
Pareto local search by default (:class:`PolishedDriver`); the other pymoo algorithms do
when given ``local_search="pareto"``.

- ``nsga2``: NSGA-II as pymoo runs it, on arrays (:mod:`ofa_dash.search.engine`);
- ``nsga2-pymoo``: pymoo's own ``NSGA2`` class with the same operators (a cross-check);
- ``smsemoa``, ``spea2``, ``nsga3``, ``moead``, ``agemoea``, ``rnsga2``: pymoo's classes;
- ``random``: uniform sampling with the same evaluation budget, keeping the non-dominated set;
- ``ofa-evolution``: OFA's original single-objective evolution, once per cost budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from pymoo.core.evaluator import Evaluator
from pymoo.operators.selection.tournament import TournamentSelection

from ofa_dash.search import baselines
from ofa_dash.search import operators as ops
from ofa_dash.search.archive import Archive, nondominated
from ofa_dash.search.context import SearchContext
from ofa_dash.search.engine import ArrayNSGA2
from ofa_dash.search.fast import MoveScreen
from ofa_dash.search.local import LocalSearchSchedule, climb_and_breed, pareto_local_search


class Driver(Protocol):
    """One search, advanced a generation at a time by :func:`ofa_dash.search.run.run_search`."""

    n_steps: int  # generations the driver will run in total
    params: dict  # the resolved parameters, recorded with the run

    def step(self) -> None: ...

    def population(self) -> tuple[np.ndarray, np.ndarray]:
        """Current population (genomes, objectives)."""
        ...

    def final(self) -> tuple[np.ndarray, np.ndarray]:
        """The algorithm's own answer (its final non-dominated set)."""
        ...


OPERATOR_PARAMS = {"crossover_prob": ops.CROSSOVER_PROB}
DEFAULT_DUPLICATES = "canonical"
DEFAULT_INIT = "random+extremes"
# The OFA² protocol exactly: pass these as params (measured defaults above: docs/notes/search.md)
OFA2_PROTOCOL = {"duplicates": "genome", "init": "random", "prob_var": ops.MUTATION_PROB_VAR, "local_search": "none"}
# NSGA-II's local search schedules by name (issue 21; measured in docs/notes/search.md), as set
# for a run of 100 x 1,000; other budgets scale the climbs, the breeding and the pass
# (LocalSearchSchedule.scaled). "capped" is the default: 40 climbs on the error alone, bred for
# 14k exact evaluations keeping non-dominated optima first; then, two objectives only, the bred
# optima climbed on the error under caps at 0.8 and 0.9 of the most accurate one's latency, 16
# per cap bred under their cap for 8k (an epsilon-constraint breeding); 5 % genetic generations,
# a Pareto local search of at most 100k exact evaluations expanding 15 members a round; every
# climb and the pass screened by the predictor's move estimates (0.1 points of error).
# "tight-screen" is the same without the caps (bred for 22k); "screened" the schedule before it
# (32 climbs bred for 35k, screened at 0.2 points); "memetic" the one before (no screen, 16
# climbs bred for 100k); "climbs-v1" the one before that.
_MEMETIC = LocalSearchSchedule(
    "pareto", max_evals=100_000, climbs=16, climb_weights="error", ga_share=0.05, memetic_evals=100_000, memetic_diverse=True, ls_batch=15
)
_SCREENED = replace(_MEMETIC, climbs=32, memetic_evals=35_000, screen_tolerance=0.2)
_TIGHT_SCREEN = replace(_SCREENED, climbs=40, memetic_evals=22_000, screen_tolerance=0.1)
LOCAL_SEARCH_SCHEDULES = {
    "capped": replace(_TIGHT_SCREEN, memetic_evals=14_000, capped_climbers=16, cap_fractions=(0.8, 0.9), capped_evals=8_000),
    "tight-screen": _TIGHT_SCREEN,
    "screened": _SCREENED,
    "memetic": _MEMETIC,
    "climbs-v1": LocalSearchSchedule("pareto", max_evals=80_000, climbs=64, climb_weights="accurate", kick_rounds=1, ga_share=0.02),
}
DEFAULT_SCHEDULE = "capped"
DEFAULT_LOCAL_SEARCH = LOCAL_SEARCH_SCHEDULES[DEFAULT_SCHEDULE]
# SPEA2 keeps OFA²'s operators but mutates each gene with probability 0.02 (about one gene
# per child of the 46-gene genome), not 0.1. OFA² reproduction, 1,000 generations x 100, mean
# final-population HV, 0.02 vs 0.1: seeds 1-3 766.9 vs 756.5, seeds 4-6 760.4 vs 762.7,
# seeds 7-8 770.3 vs 757.1; over seeds 1-8 765.3 vs 759.0 (spread +-8 to 19, so suggestive).
SPEA2_PROB_VAR = 0.02


def _duplicates(ctx: SearchContext) -> str:
    return ops.check_duplicates_mode(str(ctx.params.get("duplicates", DEFAULT_DUPLICATES)))


def _variation(ctx: SearchContext) -> dict:
    """Operator options a run may override: ``prob_var``, ``mutation`` ("choice" | "change"), ``duplicates``."""
    prob_var = float(ctx.params.get("prob_var", ops.MUTATION_PROB_VAR))
    if not 0.0 <= prob_var <= 1.0:
        raise ValueError(f"prob_var must be in [0, 1], got {prob_var}")
    return {
        "prob_var": prob_var,
        "mutation": ops.check_mutation_mode(str(ctx.params.get("mutation", "choice"))),
        "crossover": ops.check_crossover_mode(str(ctx.params.get("crossover", "uniform"))),
        "duplicates": _duplicates(ctx),
    }


def _init(ctx: SearchContext) -> str:
    return ops.check_init_mode(str(ctx.params.get("init", DEFAULT_INIT)))


def _operator_params(ctx: SearchContext) -> dict:
    v = _variation(ctx)
    return {
        "pop_size": ctx.pop_size,
        "n_gen": ctx.n_gen,
        **OPERATOR_PARAMS,
        "init": _init(ctx),
        "crossover": v["crossover"],
        "mutation": "random choice" if v["mutation"] == "choice" else "random other choice",
        "mutation_prob_var": v["prob_var"],
        "duplicates": v["duplicates"],
    }


# --------------------------------------------------------------------------- drivers
# run parameter -> LocalSearchSchedule field
LOCAL_SEARCH_PARAMS = {
    "local_search": "mode", "ls_every": "every", "ls_evals": "max_evals", "climbs": "climbs",
    "climb_weights": "climb_weights", "kick_rounds": "kick_rounds", "kick_genes": "kick_genes", "ga_share": "ga_share",
    "memetic_evals": "memetic_evals", "ls_batch": "ls_batch", "memetic_diverse": "memetic_diverse",
    "screen_tolerance": "screen_tolerance", "capped_climbers": "capped_climbers", "cap_fractions": "cap_fractions",
    "capped_evals": "capped_evals",
}  # fmt: skip


def _local_search(ctx: SearchContext) -> LocalSearchSchedule:
    """The run's schedule: the named one (``ls_schedule``, default ``DEFAULT_SCHEDULE``) with the
    given parameters; ``local_search="none"`` turns all of it off."""
    given = {field: ctx.params[name] for name, field in LOCAL_SEARCH_PARAMS.items() if name in ctx.params}
    if given.get("mode") == "none":
        return LocalSearchSchedule()
    name = str(ctx.params.get("ls_schedule", DEFAULT_SCHEDULE))
    if name not in LOCAL_SEARCH_SCHEDULES:
        raise ValueError(f"ls_schedule must be one of {sorted(LOCAL_SEARCH_SCHEDULES)}, got {name!r}")
    return LocalSearchSchedule.from_values(LOCAL_SEARCH_SCHEDULES[name].scaled(ctx.pop_size * ctx.n_gen), given)


def _move_screen(objectives, schedule: LocalSearchSchedule) -> MoveScreen | None:
    """The schedule's screen for its climbs and passes: the objectives' move estimates, when asked and available."""
    make = getattr(objectives, "move_screen", None)
    return make(schedule.screen_tolerance) if schedule.screen_tolerance > 0 and make is not None else None


class ArrayDriver:
    """Drives :class:`ArrayNSGA2`, with hill climbs and Pareto local search passes when scheduled.

    With local search on, the run still takes ``n_gen`` steps (so progress,
    history and the stored run read in the generations asked for), but the
    genetic search runs only in the first ``ceil(n_gen x ga_share)``; the
    steps after it are idle (``idle`` is True: nothing to evaluate or record)
    up to the last, which holds the final pass. A pass starts from every
    non-dominated subnet the run has evaluated (not only the population's),
    and its improvements are offered back to the population; the last pass's
    front is the run's answer.
    """

    def __init__(self, ctx: SearchContext) -> None:
        self.schedule = _local_search(ctx)
        self.space = ctx.space
        self.objective_names = tuple(ctx.objectives.names)
        self.screen = _move_screen(ctx.objectives, self.schedule)
        self._evaluate = ctx.evaluate
        self.seen = Archive(ctx.space, ctx.objectives.n_obj)
        evaluate = self._evaluate_and_keep if self.schedule.mode != "none" else ctx.evaluate
        self.engine = ArrayNSGA2(ctx.space, evaluate, pop_size=ctx.pop_size, seed=ctx.seed, init=_init(ctx), **_variation(ctx))
        self.n_steps = ctx.n_gen
        self.n_genetic = ctx.n_gen if self.schedule.mode == "none" else self.schedule.generations(ctx.n_gen)
        self.t = 0
        self.idle = False
        self.params = {**_operator_params(ctx), "implementation": "ofa_dash.search.engine.ArrayNSGA2"}
        if self.schedule.mode != "none":
            self.params |= {
                "local_search": self.schedule.mode,
                "ls_schedule": str(ctx.params.get("ls_schedule", DEFAULT_SCHEDULE)),
                "generations_run": self.n_genetic,
                **{k: getattr(self.schedule, f) for k, f in LOCAL_SEARCH_PARAMS.items() if k != "local_search"},
            }
        self._final: tuple[np.ndarray, np.ndarray] | None = None

    def _evaluate_and_keep(self, X: np.ndarray) -> np.ndarray:
        F = self._evaluate(X)
        self.seen.add(X, F)
        return F

    def _climb(self) -> tuple[np.ndarray, np.ndarray]:
        """Climbs from random starts drawn from the run's own generator, then their breeding."""
        error = self.objective_names.index("error") if "error" in self.objective_names else None
        n_obj = self.seen.F.shape[1]
        return climb_and_breed(self.space, self._evaluate_and_keep, self._evaluate, n_obj, error, self.schedule, self.engine.random_state, self.screen)

    def step(self) -> None:
        self.t += 1
        last = self.t == self.n_steps
        self.idle = self.t > self.n_genetic and not last
        if self.t <= self.n_genetic:
            climbed = self._climb() if self.t == 1 and self.schedule.climbs > 0 else None
            self.engine.step()
            if climbed is not None:
                self.engine.inject(*climbed)
        if self.schedule.due(self.t, self.n_steps) and (last or self.t <= self.n_genetic):
            self.seen.update()
            res = pareto_local_search(
                self.space, self._evaluate_and_keep, self.seen.X, self.seen.F, self.schedule.max_evals, batch=self.schedule.ls_batch, screen=self.screen
            )
            self.engine.inject(res.X, res.F)
            if last:
                self._final = (res.X, res.F)

    def population(self):
        return self.engine.X, self.engine.F

    def final(self):
        return self._final if self._final is not None else self.engine.front()


class PolishedDriver:
    """A pymoo driver whose last step ends with the default schedule's local search (issue 21).

    The many-objective run over every device (AGE-MOEA) reached 0.96 of the dedicated
    NSGA-II runs per device: its population never reaches the most accurate corner, which
    no device's latency moves. After the last generation, the schedule's error climbs
    and their breeding (:func:`~ofa_dash.search.local.climb_and_breed`) join the
    algorithm's final set, and a batched Pareto local search in all objectives finishes
    it; that is the run's answer. The generations themselves are the algorithm's own.
    """

    def __init__(self, inner: PymooDriver, ctx: SearchContext, schedule: LocalSearchSchedule) -> None:
        self.inner, self.schedule, self.space = inner, schedule, ctx.space
        self.screen = _move_screen(ctx.objectives, schedule)
        self._evaluate = ctx.evaluate
        self.names = tuple(ctx.objectives.names)
        self.rs = np.random.default_rng([ctx.seed, 21])  # its own stream: the algorithm's draws stay as they were
        self.n_steps = inner.n_steps
        self.t = 0
        self._final: tuple[np.ndarray, np.ndarray] | None = None
        self.params = {
            **inner.params,
            "local_search": schedule.mode,
            "ls_schedule": str(ctx.params.get("ls_schedule", DEFAULT_SCHEDULE)),
            **{k: getattr(schedule, f) for k, f in LOCAL_SEARCH_PARAMS.items() if k not in ("local_search", "ga_share", "ls_every")},
        }

    def step(self) -> None:
        self.inner.step()
        self.t += 1
        if self.t == self.n_steps:
            X, F = self.inner.final()
            error = self.names.index("error") if "error" in self.names else None
            if self.schedule.climbs > 0:
                CX, CF = climb_and_breed(self.space, self._evaluate, self._evaluate, len(self.names), error, self.schedule, self.rs, self.screen)
                X, F = np.concatenate([X, CX]), np.concatenate([F, CF])
            res = pareto_local_search(self.space, self._evaluate, X, F, self.schedule.max_evals, batch=self.schedule.ls_batch, screen=self.screen)
            self._final = (res.X, res.F)

    def population(self):
        return self.inner.population()

    def final(self):
        return self._final if self._final is not None else self.inner.final()


def _polished(ctx: SearchContext, driver: PymooDriver, by_default: bool) -> Driver:
    """``driver`` with the final local search when asked (``local_search`` other than "none"),
    or by default where ``by_default``; the OFA² comparisons' algorithms keep it off by default."""
    asked = ctx.params.get("local_search")
    if asked == "none" or (asked is None and not by_default):
        return driver
    return PolishedDriver(driver, ctx, _local_search(ctx))


class PymooDriver:
    """Drives any pymoo ``Algorithm`` one generation per step (loop-wise ones such as MOEA/D included)."""

    def __init__(self, ctx: SearchContext, algorithm, params: dict) -> None:
        self.algorithm = algorithm
        self.n_steps = ctx.n_gen
        self.params = {**_operator_params(ctx), **params, "implementation": f"pymoo {type(algorithm).__name__}"}
        algorithm.setup(ctx.problem, termination=("n_gen", ctx.n_gen), seed=ctx.seed, verbose=False)

    def step(self) -> None:
        alg = self.algorithm
        if not alg.is_initialized:
            alg.next()
            return
        start = alg.n_iter
        while alg.n_iter == start and alg.has_next():
            alg.next()

    def population(self):
        X, F = self.algorithm.pop.get("X", "F")
        return np.asarray(X).astype(np.int64), np.asarray(F, dtype=float)

    def final(self):
        opt = self.algorithm.opt if self.algorithm.opt is not None else self.algorithm.pop
        X, F = opt.get("X", "F")
        X, F = np.asarray(X).astype(np.int64), np.asarray(F, dtype=float)
        nd = nondominated(F)
        return X[nd], F[nd]


# --------------------------------------------------------------------------- pymoo factories
def _ref_dirs(n_obj: int, pop_size: int) -> np.ndarray:
    """Das-Dennis directions: the most that do not exceed the population size."""
    from math import comb

    from pymoo.util.ref_dirs import get_reference_directions

    p = 1
    while comb(p + 1 + n_obj - 1, n_obj - 1) <= pop_size:
        p += 1
    return get_reference_directions("das-dennis", n_obj, n_partitions=p)


def _genetic_kwargs(ctx: SearchContext, selection) -> dict:
    return {
        "pop_size": ctx.pop_size,
        "sampling": ops.GenomeSampling(ctx.space, _init(ctx)),
        "mating": ops.ArrayMating(ctx.space, selection, **_variation(ctx)),
        "eliminate_duplicates": ops.duplicate_elimination(ctx.space, _duplicates(ctx)),
        "evaluator": Evaluator(skip_already_evaluated=False),
    }


def _nsga_tournament() -> TournamentSelection:
    return TournamentSelection(func_comp=ops.binary_tournament)


def _nsga2_pymoo(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return _polished(ctx, PymooDriver(ctx, NSGA2(**_genetic_kwargs(ctx, _nsga_tournament())), {}), by_default=False)


def _smsemoa(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.sms import SMSEMOA

    return _polished(ctx, PymooDriver(ctx, SMSEMOA(**_genetic_kwargs(ctx, TournamentSelection(func_comp=ops.dominance_tournament))), {}), by_default=False)


def _spea2(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.spea2 import SPEA2, SPEA2Survival

    ctx = replace(ctx, params={"prob_var": SPEA2_PROB_VAR, **ctx.params})
    # a fresh survival per run: pymoo's default SPEA2Survival is one shared instance whose
    # normalisation (ideal / extreme points) would carry over from the previous run in the process
    survival = SPEA2Survival(normalize=True)
    driver = PymooDriver(ctx, SPEA2(survival=survival, **_genetic_kwargs(ctx, TournamentSelection(func_comp=ops.spea_tournament))), {})
    return _polished(ctx, driver, by_default=False)


def _agemoea(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.age import AGEMOEA

    return _polished(ctx, PymooDriver(ctx, AGEMOEA(**_genetic_kwargs(ctx, _nsga_tournament())), {}), by_default=True)


def _nsga3(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.nsga3 import NSGA3, comp_by_cv_then_random

    ref_dirs = _ref_dirs(ctx.objectives.n_obj, ctx.pop_size)
    kw = _genetic_kwargs(ctx, TournamentSelection(func_comp=comp_by_cv_then_random))
    return _polished(ctx, PymooDriver(ctx, NSGA3(ref_dirs=ref_dirs, **kw), {"n_ref_dirs": len(ref_dirs), "ref_dirs": "das-dennis"}), by_default=False)


def _moead(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.moead import MOEAD

    ref_dirs = _ref_dirs(ctx.objectives.n_obj, ctx.pop_size)
    n_neighbors = int(ctx.params.get("n_neighbors", min(15, len(ref_dirs))))
    alg = MOEAD(
        ref_dirs=ref_dirs,
        n_neighbors=n_neighbors,
        prob_neighbor_mating=float(ctx.params.get("prob_neighbor_mating", 0.7)),
        sampling=ops.GenomeSampling(ctx.space, _init(ctx)),
        crossover=ops.uniform_crossover(),
        mutation=ops.RandomChoiceMutation(_variation(ctx)["prob_var"]),
        evaluator=Evaluator(skip_already_evaluated=False),
    )
    params = {
        "n_ref_dirs": len(ref_dirs),
        "n_neighbors": n_neighbors,
        "prob_neighbor_mating": alg.selection.prob.value,
        "pop_size": len(ref_dirs),
        "duplicates": "none (MOEA/D)",
    }
    return _polished(ctx, PymooDriver(ctx, alg, params), by_default=False)


def _rnsga2(ctx: SearchContext) -> Driver:
    from pymoo.algorithms.moo.rnsga2 import RNSGA2

    ref_points = ctx.params.get("ref_points")
    if ref_points is None or len(ref_points) == 0:
        raise ValueError("rnsga2 needs reference points: --ref-points 'f1,f2;f1,f2' (one point per ';', in objective order)")
    ref_points = np.asarray(ref_points, dtype=float)
    if ref_points.ndim != 2 or ref_points.shape[1] != ctx.objectives.n_obj:
        raise ValueError(f"each reference point needs {ctx.objectives.n_obj} values ({', '.join(ctx.objectives.names)}); got shape {ref_points.shape}")
    epsilon = float(ctx.params.get("epsilon", 0.001))
    # pymoo's RNSGA2 mates through NSGA-II's tournament (on its modified crowding), as here
    alg = RNSGA2(ref_points=ref_points, epsilon=epsilon, **_genetic_kwargs(ctx, _nsga_tournament()))
    return _polished(ctx, PymooDriver(ctx, alg, {"ref_points": ref_points.tolist(), "epsilon": epsilon}), by_default=False)


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class AlgorithmInfo:
    name: str
    label: str
    description: str
    build: Callable[[SearchContext], Driver]


REGISTRY: dict[str, AlgorithmInfo] = {
    a.name: a
    for a in (
        AlgorithmInfo("nsga2", "NSGA-II", "pymoo's NSGA-II on arrays (fast path)", lambda ctx: ArrayDriver(ctx)),
        AlgorithmInfo("nsga2-pymoo", "NSGA-II (pymoo class)", "pymoo's NSGA2 class, same operators", _nsga2_pymoo),
        AlgorithmInfo("smsemoa", "SMS-EMOA", "hypervolume-contribution survival (pymoo)", _smsemoa),
        AlgorithmInfo("spea2", "SPEA2", "strength Pareto EA 2 (pymoo)", _spea2),
        AlgorithmInfo("nsga3", "NSGA-III", "reference-direction NSGA for many objectives (pymoo)", _nsga3),
        AlgorithmInfo("moead", "MOEA/D", "decomposition into scalar subproblems (pymoo)", _moead),
        AlgorithmInfo("agemoea", "AGE-MOEA", "adaptive geometry estimation (pymoo, numba)", _agemoea),
        AlgorithmInfo("rnsga2", "R-NSGA-II", "NSGA-II focused on user reference points (pymoo)", _rnsga2),
        AlgorithmInfo("random", "Random search", "uniform samples, same evaluation budget; keeps the non-dominated set", baselines.random_search),
        AlgorithmInfo("ofa-evolution", "OFA evolution", "OFA's single-objective evolution under a cost budget, once per budget", baselines.ofa_evolution),
    )
}


def get_algorithm(name: str) -> AlgorithmInfo:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(REGISTRY)}") from None


KNOWN_PARAMS = {
    "prob_var", "mutation", "crossover", "duplicates", "init",  # every genetic algorithm
    *LOCAL_SEARCH_PARAMS, "ls_schedule",  # nsga2
    "ref_points", "epsilon",  # rnsga2
    "n_neighbors", "prob_neighbor_mating",  # moead
    "budgets", "parent_ratio", "mutation_ratio", "mutate_prob",  # ofa-evolution
}  # fmt: skip


def make_driver(name: str, ctx: SearchContext) -> Driver:
    unknown = sorted(set(ctx.params) - KNOWN_PARAMS)
    if unknown:
        raise ValueError(f"unknown search parameter(s) {unknown}; known: {sorted(KNOWN_PARAMS)}")
    if ctx.pop_size < 4:
        raise ValueError(f"population size must be at least 4, got {ctx.pop_size}")
    if ctx.n_gen < 1:
        raise ValueError(f"number of generations must be at least 1, got {ctx.n_gen}")
    return get_algorithm(name).build(ctx)
