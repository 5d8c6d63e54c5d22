"""One search run: seed, wall time, evaluation count, hypervolume after every generation.

The hypervolume reference point is fixed per space and objective set (never
taken from the run's own results), so runs of different algorithms and seeds
are comparable, and it is recorded with every run:

- where a published experiment fixes it, that value: OFA² used (100 ms, 25 %)
  for (Note10 latency, error) on ``ofa-mbv3-w1.2``;
- otherwise it is derived from the space: evaluate the largest and the
  smallest subnet, take per objective the worse of the two and add 10 % of
  the spread between them, rounded up to 3 significant digits. Every subnet
  between the two extremes then lies inside the box; subnets outside it add
  nothing to the volume.

``run_search`` never writes anything: saving is the store's job, after the
run, so an interrupted run (Ctrl-C, a cancelled dashboard job) cannot leave
half a result on disk.
"""

from __future__ import annotations

import contextlib
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ofa_dash.search.algorithms import make_driver
from ofa_dash.search.archive import Archive, Hypervolume, nondominated
from ofa_dash.search.context import SearchContext
from ofa_dash.search.objectives import Objectives, build_objectives, parse_objectives
from ofa_dash.search.problem import SubnetProblem
from ofa_dash.space import SearchSpace, get_space
from ofa_dash.workspace import Workspace

# (space, objective set) -> reference point per objective, from published experiments
PUBLISHED_REF_POINTS: dict[tuple[str, frozenset], dict[str, float]] = {
    ("ofa-mbv3-w1.2", frozenset({"latency:note10", "error"})): {"latency:note10": 100.0, "error": 25.0},  # OFA² (IJCNN 2023)
}
REF_MARGIN = 0.10

ProgressFn = Callable[[int, int, float], None]


def _round_up(x: float, digits: int = 3) -> float:
    if x <= 0:
        return float(x)
    scale = 10 ** (digits - 1 - math.floor(math.log10(x)))
    return math.ceil(x * scale - 1e-9) / scale


def reference_point(objectives: Objectives) -> tuple[np.ndarray, str]:
    """(reference point in objective order, where it comes from); see the module docstring."""
    space, names = objectives.space, objectives.names
    published = PUBLISHED_REF_POINTS.get((space.name, frozenset(names)))
    if published is not None:
        return np.array([published[n] for n in names], dtype=float), "published (OFA²)"
    F = objectives(space.encode([space.largest(), space.smallest()]))
    hi, lo = F.max(axis=0), F.min(axis=0)
    ref = [_round_up(h + REF_MARGIN * (h - lo_)) for h, lo_ in zip(hi, lo, strict=True)]
    return np.array(ref, dtype=float), f"derived: worse of largest/smallest subnet + {REF_MARGIN:.0%} of their spread, rounded up"


def pair_subset_hv(archive_F: np.ndarray, objectives: Objectives, column: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(HV, reference point, front) of a many-objective archive's non-dominated (error, ``column``) subset, at that pair's own reference point.

    "Search once for every device" is judged by this: an all-devices run's subset for one
    device against the HV of a run dedicated to (error, that device's latency).
    """
    front = archive_F[:, [0, column]]
    front = front[nondominated(front)]
    ref, _ = reference_point(objectives.subset(("error", objectives.names[column])))
    return float(Hypervolume(ref)(front)), ref, front


# Hard bounds on one run, whatever asks for it (memory grows with the population, time with both);
# the dashboard applies a smaller, configurable budget on top (``ui.jobs``).
MAX_POP_SIZE = 20_000
MAX_GENERATIONS = 100_000


@dataclass
class RunSpec:
    """What to run. ``params`` holds algorithm options (``ref_points`` for rnsga2, ``budgets`` for ofa-evolution)."""

    space: str
    algorithm: str
    objectives: tuple[str, ...]
    pop_size: int = 100
    n_gen: int = 100
    seed: int = 1
    params: dict = field(default_factory=dict)
    ref_point: tuple[float, ...] | None = None  # None: :func:`reference_point`
    hv_every: int | None = None  # None: every generation up to 4 objectives, every 10th (and the last) beyond

    def __post_init__(self) -> None:
        self.objectives = parse_objectives(self.objectives)
        for name, value, low, high in (("population size", self.pop_size, 2, MAX_POP_SIZE), ("generations", self.n_gen, 1, MAX_GENERATIONS)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")

    def hv_interval(self) -> int:
        """Exact hypervolume costs ~0.5 s for 2,000 points in 5-D (against ~0.02 ms in 2-D), so
        many-objective runs record it every 10th generation instead of every one."""
        if self.hv_every is not None:
            if self.hv_every < 1:
                raise ValueError(f"hv_every must be at least 1, got {self.hv_every}")
            return self.hv_every
        return 1 if len(self.objectives) <= 4 else 10


@dataclass
class RunResult:
    """Everything a run produced; :class:`ofa_dash.store.RunStore` saves it."""

    run_id: str
    spec: RunSpec
    ref_point: list[float]
    ref_point_source: str
    final_X: np.ndarray
    final_F: np.ndarray
    archive_X: np.ndarray
    archive_F: np.ndarray
    history: dict[str, np.ndarray]
    n_evals: int
    seconds: float
    cpu_seconds: float
    hv: float  # of the archive (every non-dominated subnet seen): what the store ships as the front
    hv_final: float  # of the algorithm's own final set (the figure papers report)
    algorithm_params: dict
    versions: dict
    units: list[str]
    created: str
    cancelled: bool = False

    @property
    def front_size(self) -> int:
        return len(self.archive_X)

    def summary(self) -> dict:
        """The ``search --json`` object (DESIGN.md keys first)."""
        return {
            "run_id": self.run_id,
            "hv": round(self.hv, 6),
            "ref_point": self.ref_point,
            "n_evals": int(self.n_evals),
            "seconds": round(self.seconds, 3),
            "front_size": self.front_size,
            "hv_final_population": round(self.hv_final, 6),
            "final_size": len(self.final_X),
            "space": self.spec.space,
            "algorithm": self.spec.algorithm,
            "objectives": list(self.spec.objectives),
            "units": self.units,
            "seed": self.spec.seed,
            "pop_size": self.spec.pop_size,
            "n_gen": int(self.history["gen"][-1]) if len(self.history["gen"]) else 0,
            "hv_every": int(self.spec.hv_interval()),
            "ref_point_source": self.ref_point_source,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "cancelled": self.cancelled,
        }


def make_run_id(spec: RunSpec, when: datetime) -> str:
    """Readable and unique: ``nsga2-error+latency-note10-s1-20250101T120000-3fa2``."""
    tag = "+".join(re.sub(r"[^A-Za-z0-9.]+", "-", n) for n in spec.objectives)
    return f"{spec.algorithm}-{tag}-s{spec.seed}-{when:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


@contextlib.contextmanager
def single_threaded(enabled: bool = True):
    """One BLAS / torch thread: the matmuls are small, and two threads on a busy
    2-core machine spin against each other (measured 40x slower under load)."""
    if not enabled:
        yield
        return
    import torch

    before = torch.get_num_threads()
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(1)
    except ImportError:  # pragma: no cover - comes with scikit-learn
        limiter = contextlib.nullcontext()
    torch.set_num_threads(1)
    try:
        with limiter:
            yield
    finally:
        torch.set_num_threads(before)


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def supernet_version(space: SearchSpace, precomputed_dir=None) -> str | None:
    """The trained supernet's version from ``<root>/<space>/train_manifest.json`` (None where the project trained none)."""
    return Workspace.at(precomputed_dir).space(space).supernet_version()


def run_search(
    spec: RunSpec,
    objectives: Objectives | None = None,
    official_dir=None,
    precomputed_dir=None,
    progress: ProgressFn | None = None,
    cancel=None,
    threads_one: bool = True,
) -> RunResult:
    """Run ``spec`` and return its result (nothing is written).

    ``progress(generation, n_evals, hv)`` is called after every generation;
    ``cancel`` (a ``threading.Event`` or a function returning bool) is checked
    after every generation and ends the run early with ``cancelled=True``.
    An exception raised by ``progress`` (KeyboardInterrupt included) ends the
    run and propagates.
    """
    import pymoo

    space = get_space(spec.space)
    if objectives is None:
        objectives = build_objectives(space, spec.objectives, official_dir=official_dir, precomputed_dir=precomputed_dir)
    elif tuple(objectives.names) != tuple(spec.objectives) or objectives.space.name != space.name:
        raise ValueError(f"objectives {objectives.names} on {objectives.space.name!r} do not match the spec {spec.objectives} on {space.name!r}")
    if spec.ref_point is not None:
        ref = np.asarray(spec.ref_point, dtype=float)
        if ref.shape != (objectives.n_obj,):
            raise ValueError(f"reference point needs {objectives.n_obj} values ({', '.join(objectives.names)}), got {list(spec.ref_point)}")
        ref_source = "given"
    else:
        ref, ref_source = reference_point(objectives)
    hv = Hypervolume(ref)
    archive = Archive(space, objectives.n_obj)
    problem = SubnetProblem(objectives, on_evaluate=archive.add)
    created = datetime.now(UTC)

    rows: dict[str, list] = {"gen": [], "n_evals": [], "hv": [], "hv_pop": [], "archive_size": [], "seconds": []}
    cancelled = False
    with single_threaded(threads_one):
        driver = make_driver(spec.algorithm, SearchContext(problem, spec.pop_size, spec.n_gen, spec.seed, dict(spec.params)))
        every = spec.hv_interval()
        t0, c0 = time.perf_counter(), time.process_time()

        def record(gen: int) -> float:
            h = hv(archive.F)
            _, pop_F = driver.population()
            rows["gen"].append(gen)
            rows["n_evals"].append(problem.n_evals)
            rows["hv"].append(h)
            rows["hv_pop"].append(hv(pop_F[nondominated(pop_F)]) if len(pop_F) else 0.0)
            rows["archive_size"].append(len(archive))
            rows["seconds"].append(time.perf_counter() - t0)
            return h

        h = 0.0
        for gen in range(1, driver.n_steps + 1):
            driver.step()
            if getattr(driver, "idle", False):  # a step with nothing evaluated (nsga2 between its genetic search and its last pass)
                if progress is not None:
                    progress(gen, problem.n_evals, h)
                if _is_cancelled(cancel):
                    cancelled = True
                    record(gen)
                    break
                continue
            archive.update()
            recorded = gen % every == 0 or gen == driver.n_steps
            if recorded:
                h = record(gen)
            if progress is not None:
                progress(gen, problem.n_evals, h)
            if _is_cancelled(cancel):
                cancelled = True
                if not recorded:
                    record(gen)
                break
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        final_X, final_F = driver.final()

    final_X = space.canonical(final_X) if len(final_X) else final_X.reshape(0, space.genome_upper.size)
    versions = {**objectives.provenance(), "supernet": supernet_version(space, precomputed_dir), "pymoo": pymoo.__version__}
    return RunResult(
        run_id=make_run_id(spec, created),
        spec=spec,
        ref_point=[float(v) for v in ref],
        ref_point_source=ref_source,
        final_X=final_X,
        final_F=np.asarray(final_F, dtype=float).reshape(len(final_X), objectives.n_obj),
        archive_X=archive.X,
        archive_F=archive.F,
        history={k: np.asarray(v) for k, v in rows.items()},
        n_evals=problem.n_evals,
        seconds=seconds,
        cpu_seconds=cpu,
        hv=rows["hv"][-1] if rows["hv"] else 0.0,
        hv_final=hv(final_F),
        algorithm_params=driver.params,
        versions=versions,
        units=list(objectives.units),
        created=created.isoformat(timespec="seconds"),
        cancelled=cancelled,
    )
