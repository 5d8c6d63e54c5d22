"""Validated subnets added to the predictor's data, the predictor refitted and the fronts re-scored: one operation.

Why a separate step: live validation measures top-1 on the test split, while
the predictor learns holdout top-1 (training images set aside), so a
validation cannot go into its data as it is. This measures the same subnets on
the holdout split (what ``measure --arch`` does), refits the predictor on the
grown file (what ``fit-predictor`` does) and re-scores every stored run with it
(:mod:`ofa_dash.rescore`), so the page and the CLI do the same three things.
The predictor is shared by everyone who uses the store, so the dashboard offers
this only in local mode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ofa_dash.space import SearchSpace
from ofa_dash.store import RunStore
from ofa_dash.workspace import Workspace

Progress = Callable[[str, int, int], None]


def validated_not_in_predictor_data(root: str | os.PathLike | None, space: SearchSpace, supernet_version: str) -> list[str]:
    """Subnets validated live on ``supernet_version`` whose holdout top-1 the predictor's data lacks, in validation order."""
    from ofa_dash.predictors.measured import read_measured  # deferred: pyarrow loads only when asked

    folder = Workspace.at(root).space(space)
    validated = RunStore(root).measurements(space.name, supernet_version)
    if not len(validated):
        return []
    known = set(read_measured(folder.measured, space)["id"]) if folder.measured.is_file() else set()
    return [a for a in dict.fromkeys(validated["arch"]) if a not in known]


def default_fit_config():
    """What ``fit-predictor`` fits with by default (every candidate model, cross-validated): the page's refit is the same fit."""
    from ofa_dash.predictors.fit import FitConfig  # deferred: scikit-learn loads only when asked

    return FitConfig()


@dataclass
class RefitResult:
    measured: list[str]
    rows: int
    predictor: dict = field(default_factory=dict)  # model, rmse, kendall_tau, n_measured, interval
    rescored: list[dict] = field(default_factory=list)
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {"measured": self.measured, "rows": self.rows, "predictor": self.predictor, "rescored": self.rescored, "cancelled": self.cancelled}


def refit_with(
    space: SearchSpace,
    arch_ids: list[str],
    data: str | os.PathLike | object,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    n_calib: int = 2000,
    fit_config=None,
) -> RefitResult:
    """Measure ``arch_ids`` on the holdout split (``data``: the dataset's folder, or the dataset already loaded) into the space's measured file, refit its predictor, re-score its runs.

    ``n_calib`` and ``fit_config`` (a :class:`~ofa_dash.predictors.fit.FitConfig`) default to what
    ``measure`` and ``fit-predictor`` use. A cancel before the refit keeps the new measurements (they are valid data) and leaves the
    predictor and the runs as they were; the refit and re-score themselves take seconds.
    """
    # deferred: torch, scikit-learn and pyarrow load only when a refit runs
    from ofa_dash.measure import MeasureConfig, run_measurement
    from ofa_dash.predictors import save_predictor
    from ofa_dash.predictors.fit import fit_predictor
    from ofa_dash.predictors.measured import read_measured
    from ofa_dash.rescore import rescore_runs

    report = progress or (lambda stage, done, total: None)
    stopped = cancel or (lambda: False)
    if not arch_ids:
        raise ValueError("no subnets to add: validate some first")
    archs = tuple(space.arch_from_id(a) for a in arch_ids)  # a bad id is refused before anything runs
    workspace = Workspace.at(root)
    folder = workspace.space(space)
    report(f"measuring {len(archs)} subnet(s) on the holdout split", 0, 3)
    cfg = MeasureConfig(
        space=space,
        n=0,
        data_dir=Path(data) if isinstance(data, (str, os.PathLike)) else Path("."),
        dataset=None if isinstance(data, (str, os.PathLike)) else data,
        supernet_path=folder.supernet,
        out_path=folder.measured,
        cache_dir=Path(cache_dir) if cache_dir else None,
        archs=archs,
        n_calib=n_calib,
    )
    summary = run_measurement(cfg)
    result = RefitResult(measured=[a.id for a in archs], rows=summary.rows)
    if stopped():
        result.cancelled = True
        return result
    report("refitting the predictor", 1, 3)
    predictor, meta = fit_predictor(space, read_measured(folder.measured, space), fit_config or default_fit_config())
    save_predictor(predictor, folder.predictor)
    result.predictor = {k: meta[k] for k in ("model_name", "rmse", "kendall_tau", "n_measured", "interval", "supernet_version")}
    report("re-scoring the stored runs", 2, 3)
    result.rescored = rescore_runs(workspace.root, space.name, predictor)
    report("done", 3, 3)
    return result
