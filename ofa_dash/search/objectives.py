"""Objectives by name, evaluated for whole populations at once.

The search, the CLI and the dashboard all score subnets through one
:class:`Objectives` object, so "error" or "latency:note10" means the same
number everywhere. Each call is one predictor forward and one table gather per
device for the whole genome array; there is no Python loop per subnet.

Names and units (all minimised):

- ``error``: 100 - predicted top-1, percent;
- ``latency:<device>``: estimated latency on a device table, ms;
- ``macs``: multiply-accumulates, millions;
- ``params``: parameters, millions;
- ``peak_mem``: peak activation memory, MB (10^6 bytes).

Counts are scaled to millions so that hypervolumes stay readable numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ofa_dash.hardware import count
from ofa_dash.hardware import devices as registry
from ofa_dash.search.fast import FastLatency, FastPredictor, MoveScreen
from ofa_dash.space import SearchSpace
from ofa_dash.workspace import Workspace

COUNTERS = {"macs": ("M", 1e-6, "MACs"), "params": ("M", 1e-6, "parameters"), "peak_mem": ("MB", 1e-6, "peak activation memory")}


def parse_objectives(names: str | Iterable[str]) -> tuple[str, ...]:
    """Split and check objective names (``error,latency:note10``); clear ``ValueError`` on a bad one."""
    items = [s.strip() for s in names.split(",")] if isinstance(names, str) else [str(s).strip() for s in names]
    items = [s for s in items if s]
    if not items:
        raise ValueError("no objectives given; use e.g. error,latency:note10")
    for name in items:
        if name == "error" or name in COUNTERS:
            continue
        if name.startswith("latency:") and len(name) > len("latency:"):
            continue
        raise ValueError(f"unknown objective {name!r}; use error, latency:<device>, macs, params or peak_mem")
    dupes = sorted({n for n in items if items.count(n) > 1})
    if dupes:
        raise ValueError(f"objective(s) {dupes} given more than once")
    return tuple(items)


def objective_unit(name: str) -> str:
    if name == "error":
        return "%"
    if name.startswith("latency:"):
        return "ms"
    return COUNTERS[name][0]


def objective_label(name: str) -> str:
    """Axis label, e.g. ``latency on note10 (ms)``."""
    if name == "error":
        return "predicted top-1 error (%)"
    if name.startswith("latency:"):
        return f"latency on {name.split(':', 1)[1]} (ms)"
    unit, _, what = COUNTERS[name]
    return f"{what} ({unit})"


@dataclass
class Objectives:
    """A vectorised evaluator of named objectives for one space.

    ``predictor`` is needed only for ``error`` and ``devices`` only for the
    ``latency:<device>`` names asked for. Usable on its own (the dashboard
    scores a brushed subset with it) and inside the pymoo problem.
    """

    space: SearchSpace
    names: tuple[str, ...]
    predictor: object | None = None
    devices: dict = field(default_factory=dict)
    _acc: object = field(init=False, repr=False, default=None)
    _lat: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.names = parse_objectives(self.names)
        if "error" in self.names:
            if self.predictor is None:
                raise ValueError(f"objective 'error' needs an accuracy predictor for space {self.space.name!r}, and none was found")
            self._acc = FastPredictor(self.space, self.predictor)
        for name in self.names:
            if name.startswith("latency:"):
                device = name.split(":", 1)[1]
                if device not in self.devices:
                    raise ValueError(
                        f"no latency table for device {device!r} in space {self.space.name!r}; available devices: {sorted(self.devices) or 'none'}"
                    )
                self._lat[name] = FastLatency(self.space, self.devices[device])

    @property
    def n_obj(self) -> int:
        return len(self.names)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(objective_unit(n) for n in self.names)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(objective_label(n) for n in self.names)

    def __call__(self, genomes: np.ndarray, check: bool = True) -> np.ndarray:
        """Objective matrix (n, n_obj), float64, columns in ``names`` order.

        ``check=False`` skips the range check for arrays the search itself
        made (they are in range by construction); anything from outside is checked.
        """
        g = self.space.check_genome(genomes) if check else np.asarray(genomes, dtype=np.int64)
        return self._columns(g, self._acc)

    def _columns(self, g: np.ndarray, error: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The objective matrix of checked genomes, the error's top-1 taken from ``error``."""
        out = np.empty((len(g), self.n_obj))
        counts = None
        for j, name in enumerate(self.names):
            if name == "error":
                out[:, j] = 100.0 - error(g)
            elif name in self._lat:
                out[:, j] = self._lat[name](g)
            else:
                if counts is None:
                    counts = count(self.space, g)
                out[:, j] = counts[name] * COUNTERS[name][1]
        return out

    def move_screen(self, error_tolerance: float) -> MoveScreen | None:
        """Cheap estimates of moves' objectives for screened hill climbs; None where the error's
        predictor is not a verified MLP (or there is no error objective: then nothing is costly).

        Every objective but the error is exact (a table gather or a count); the error comes from
        :meth:`FastPredictor.estimate_moves`, trusted to within ``error_tolerance`` points.
        """
        if "error" not in self.names or not self._acc.fast:
            return None
        acc = self._acc

        def estimate(parents: np.ndarray, moves: np.ndarray) -> np.ndarray:
            n, m, genes = moves.shape
            est = acc.estimate_moves(parents, moves).reshape(-1)
            return self._columns(moves.reshape(n * m, genes), lambda _: est).reshape(n, m, -1)

        tolerance = np.array([error_tolerance if n == "error" else 0.0 for n in self.names])
        return MoveScreen(estimate, tolerance)

    def subset(self, names: str | Sequence[str]) -> Objectives:
        """The same predictor and tables, fewer objectives (e.g. only a cost, for a constraint check)."""
        return Objectives(self.space, parse_objectives(names), self.predictor, self.devices)

    def as_dict(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        F = self(genomes)
        return {name: F[:, j] for j, name in enumerate(self.names)}

    def provenance(self) -> dict:
        """Where each figure comes from (predictor, device tables), with content fingerprints."""
        out: dict = {}
        if self.predictor is not None and "error" in self.names:
            p = self.predictor
            out["predictor"] = {
                "name": getattr(p, "name", type(p).__name__),
                "version": getattr(p, "version", None),
                "source": getattr(p, "source", None),
                "fingerprint": self._acc.fingerprint,
                "fast_path": self._acc.fast,
            }
        devices = {}
        for name, lat in self._lat.items():
            table = lat.table
            meta = {k: v for k, v in getattr(table, "meta", {}).items() if isinstance(v, str | int | float | bool) or v is None}
            devices[name.split(":", 1)[1]] = {**meta, "fingerprint": lat.fingerprint, "calibration": list(getattr(table, "calibration", (1.0, 0.0)))}
        if devices:
            out["devices"] = devices
        return out


# --------------------------------------------------------------------------- loading
def _precomputed_dir(space: SearchSpace, precomputed_dir: str | os.PathLike | None) -> Path:
    """The precomputed root: the one given, else the default (``OFA_DASH_PRECOMPUTED`` or the repository's)."""
    return Workspace.at(precomputed_dir).root


def load_predictor_for(space: SearchSpace, official_dir=None, precomputed_dir=None):
    """The space's accuracy predictor (``predictors.load_predictor``): its fitted one, else OFA's published one."""
    from ofa_dash.predictors import load_predictor  # deferred: the predictors package imports torch; searching on costs only never needs it

    return load_predictor(space, official_dir=official_dir, precomputed_dir=_precomputed_dir(space, precomputed_dir))


def load_devices_for(space: SearchSpace, official_dir=None, precomputed_dir=None, names: Sequence[str] | None = None) -> dict:
    """Latency tables of the space: the named devices only (``hardware.devices.get_device``), or every available one."""
    root = _precomputed_dir(space, precomputed_dir)
    if names is None:
        return dict(registry.load_devices(space, official_dir=official_dir, precomputed_dir=root))
    return {n: registry.get_device(space, n, official_dir=official_dir, precomputed_dir=root) for n in names}


def device_names_for(space: SearchSpace, official_dir=None, precomputed_dir=None) -> list[str]:
    """Names of the devices available for the space (cheap)."""
    return list(registry.device_names(space, official_dir, _precomputed_dir(space, precomputed_dir)))


def build_objectives(
    space: SearchSpace,
    names: str | Sequence[str],
    official_dir: str | os.PathLike | None = None,
    precomputed_dir: str | os.PathLike | None = None,
) -> Objectives:
    """Load only what the named objectives need and return the evaluator."""
    names = parse_objectives(names)
    predictor = load_predictor_for(space, official_dir, precomputed_dir) if "error" in names else None
    wanted = [n.split(":", 1)[1] for n in names if n.startswith("latency:")]
    devices = load_devices_for(space, official_dir, precomputed_dir, names=wanted) if wanted else {}
    return Objectives(space, names, predictor, devices)
