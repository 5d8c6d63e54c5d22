"""The correction from a device's layer table to whole-subnet latency: its forms, its fit, and the per-layer costs it gives.

Layer entries are timed one layer at a time; a subnet runs them in one graph.
What differs is not one factor for every layer. On OpenVINO with the L2
evicted before each layer run (``hardware.cold_cache``), an early stage's big
activations cost about 2.7x in isolation what they cost inside a subnet and a
late stage's 1.3x, and a weight-heavy subnet pays for weights that no layer
run charged for (cifar10-v2, quiet machine: one affine scale ranked 60 held-out
subnets at Kendall tau 0.843, per-stage scales with a size term at 0.93).
So a correction is a linear model on per-layer features, summed over the
subnet's active layers, in one of three nested forms:

- ``affine``: ``scale * layer_sum + offset`` (Theil-Sen, robust to a disturbed timing);
- ``per-stage``: one scale for the fixed layers (stem, first block, head) and one
  per stage, plus an offset;
- ``per-stage+size``: as ``per-stage``, plus milliseconds per million parameters
  and per million MACs of each layer (:mod:`ofa_dash.hardware.counters`).

Each form is a per-layer cost, so every form compiles into the table's
``cost_slot_ms`` / ``cost_fixed_ms`` arrays (:meth:`Correction.layer_costs`) and
estimating stays one gather and a masked sum. The richer forms are fitted by
robust least squares on relative errors (soft-L1, non-negative scales).

Which form: :func:`fit_correction` scores each by 5-fold cross-validated mean
absolute percentage error on the calibration subnets and keeps a richer form
only when it beats the simpler one by :data:`MIN_GAIN` (a quarter) and there are
at least :data:`MIN_PER_PARAMETER` calibration subnets per fitted number. The
validation subnets are never seen by the choice or the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ofa_dash.hardware.counters import count, counter_tables
from ofa_dash.hardware.latency import LatencyTable
from ofa_dash.space import MAX_DEPTH, N_STAGES

KINDS = ("affine", "per-stage", "per-stage+size")
FORMULAS = {
    "affine": "estimate_ms = scale * layer_sum_ms + offset_ms",
    "per-stage": "estimate_ms = sum over active layers of part_scales[part] * entry_ms + offset_ms (parts: fixed layers, stage 1, ...)",
    "per-stage+size": (
        "estimate_ms = sum over active layers of (part_scales[part] * entry_ms + ms_per_mparam * params / 1e6 + ms_per_mmac * macs / 1e6) + offset_ms"
    ),
}
FOLDS = 5
# A richer form must cut the cross-validated error by a quarter of the simpler one's. The
# richer forms are fitted on relative errors, the affine one by Theil-Sen on absolute ones;
# on an affine truth with 1 % multiplicative noise the loss alone gains 10-20 %, which
# says nothing about the form (OpenVINO on cifar10-v2: affine 3.27 %, per-stage 2.24 %,
# per-stage+size 1.43 %).
MIN_GAIN = 0.25
MIN_PER_PARAMETER = 10  # calibration subnets per fitted number
ROBUST_SCALE = 0.02  # soft-L1 switches from squared to absolute at a 2 % relative error


@dataclass(frozen=True)
class Correction:
    """A fitted correction (see the module docstring); the default is the identity."""

    scale: float = 1.0
    offset_ms: float = 0.0
    kind: str = "affine"
    fitted_on: str = ""
    part_scales: tuple[float, ...] = ()  # per-stage forms: fixed layers, then stage 1..N
    ms_per_mparam: float = 0.0  # per-stage+size
    ms_per_mmac: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"correction kind {self.kind!r} is not supported (this ofa-dash knows {', '.join(KINDS)})")
        if self.kind != "affine" and len(self.part_scales) != 1 + N_STAGES:
            raise ValueError(f"a {self.kind} correction needs {1 + N_STAGES} part scales (fixed layers, then each stage), got {len(self.part_scales)}")

    def layer_costs(self, table: LatencyTable) -> tuple[np.ndarray, np.ndarray, float]:
        """(slot costs (R, 20, K, E), fixed-layer costs (R,), offset ms): what :meth:`LatencyTable.set_layer_costs` takes."""
        if self.kind == "affine":
            return table.slot_ms * self.scale, table.fixed_ms * self.scale, self.offset_ms
        stage_of_slot = np.repeat(np.arange(N_STAGES), MAX_DEPTH)
        scales = np.asarray(self.part_scales, dtype=np.float64)
        slot = table.slot_ms * scales[1 + stage_of_slot][None, :, None, None]
        fixed = table.fixed_ms * scales[0]
        if self.kind == "per-stage+size":
            c = counter_tables(table.space)
            slot = slot + (self.ms_per_mparam * 1e-6) * c.slot_params[None] + (self.ms_per_mmac * 1e-6) * c.slot_macs
            fixed = fixed + (self.ms_per_mparam * 1e-6) * c.fixed_params + (self.ms_per_mmac * 1e-6) * c.fixed_macs
        return slot, fixed, self.offset_ms

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "formula": FORMULAS[self.kind], "scale": self.scale, "offset_ms": self.offset_ms, "fitted_on": self.fitted_on}
        if self.kind != "affine":
            out["part_scales"] = list(self.part_scales)
        if self.kind == "per-stage+size":
            out.update(ms_per_mparam=self.ms_per_mparam, ms_per_mmac=self.ms_per_mmac)
        return out


# --------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class _Features:
    """Per calibration subnet: layer sum, fixed layers' entries, each stage's entries, params and MACs (millions)."""

    layer_sum: np.ndarray
    fixed: np.ndarray
    stages: np.ndarray
    mparams: np.ndarray
    mmacs: np.ndarray

    def take(self, rows: np.ndarray) -> _Features:
        return _Features(self.layer_sum[rows], self.fixed[rows], self.stages[rows], self.mparams[rows], self.mmacs[rows])

    def design(self, kind: str) -> np.ndarray:
        cols = [self.fixed[:, None], self.stages]
        if kind == "per-stage+size":
            cols += [self.mparams[:, None], self.mmacs[:, None]]
        return np.column_stack([*cols, np.ones(len(self.fixed))])


def _features(table: LatencyTable, genomes: np.ndarray) -> _Features:
    fixed, stages = table.stage_sums(genomes)
    counts = count(table.space, np.asarray(genomes, dtype=np.int64))
    return _Features(fixed + stages.sum(axis=1), fixed, stages, counts["params"] * 1e-6, counts["macs"] * 1e-6)


def fit_affine(layer_sum_ms: np.ndarray, measured_ms: np.ndarray) -> Correction:
    """Robust (Theil-Sen) affine fit of measured end-to-end latency on the layer sum.

    One timing disturbed by another process can make a subnet look 50 % slower;
    least squares let such a point tilt the whole line (the shipped cifar10
    cpu-ort profile: validation MAPE 5.0 % with least squares, 2.0 % with the
    median of pairwise slopes).
    """
    from scipy.stats import theilslopes

    x = np.asarray(layer_sum_ms, dtype=np.float64)
    y = np.asarray(measured_ms, dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError(f"the affine correction needs at least 2 calibration subnets with different layer sums, got {len(x)}")
    fit = theilslopes(y, x)
    return Correction(scale=float(fit.slope), offset_ms=float(fit.intercept), fitted_on=f"Theil-Sen on {len(x)} calibration subnets")


def _fit_linear(kind: str, f: _Features, y: np.ndarray) -> Correction:
    """Soft-L1 least squares on relative errors; scales (not the size terms or the offset) kept non-negative."""
    from scipy.optimize import least_squares

    A = f.design(kind)
    n_scales = 1 + N_STAGES
    lower = np.full(A.shape[1], -np.inf)
    lower[:n_scales] = 0.0
    start = np.zeros(A.shape[1])
    start[:n_scales] = 1.0
    fit = least_squares(lambda w: (A @ w - y) / y, start, bounds=(lower, np.inf), loss="soft_l1", f_scale=ROBUST_SCALE)
    w = fit.x
    size = {"ms_per_mparam": float(w[n_scales]), "ms_per_mmac": float(w[n_scales + 1])} if kind == "per-stage+size" else {}
    return Correction(
        offset_ms=float(w[-1]),
        kind=kind,
        part_scales=tuple(float(v) for v in w[:n_scales]),
        fitted_on=f"robust least squares (soft-L1 on relative error) on {len(y)} calibration subnets",
        **size,
    )


def _fit(kind: str, f: _Features, y: np.ndarray) -> Correction:
    return fit_affine(f.layer_sum, y) if kind == "affine" else _fit_linear(kind, f, y)


def _predict(c: Correction, f: _Features) -> np.ndarray:
    if c.kind == "affine":
        return f.layer_sum * c.scale + c.offset_ms
    w = [*c.part_scales, *((c.ms_per_mparam, c.ms_per_mmac) if c.kind == "per-stage+size" else ()), c.offset_ms]
    return f.design(c.kind) @ np.asarray(w)


def _n_numbers(kind: str) -> int:
    return {"affine": 2, "per-stage": 2 + N_STAGES, "per-stage+size": 4 + N_STAGES}[kind]


def cross_validated_mape(kind: str, f: _Features, y: np.ndarray, folds: int = FOLDS, seed: int = 0) -> float:
    """Mean absolute percentage error of ``kind`` fitted on the other folds, over every calibration subnet."""
    fold_of = np.random.default_rng(seed).permutation(len(y)) % folds
    err = np.empty(len(y))
    for k in range(folds):
        held = fold_of == k
        c = _fit(kind, f.take(~held), y[~held])
        err[held] = np.abs(_predict(c, f.take(held)) - y[held]) / y[held]
    return float(100.0 * err.mean())


def fit_correction(table: LatencyTable, genomes: np.ndarray, measured_ms: np.ndarray, kinds: tuple[str, ...] = KINDS) -> Correction:
    """The correction of ``table`` fitted on calibration subnets, its form chosen by cross-validation (module docstring).

    ``fitted_on`` records the choice: each tried form's cross-validated error.
    """
    y = np.asarray(measured_ms, dtype=np.float64)
    f = _features(table, np.asarray(genomes, dtype=np.int64))
    best = "affine"
    scores = {}
    if len(y) >= FOLDS * 2:
        scores["affine"] = cross_validated_mape("affine", f, y)
        for kind in kinds:
            if kind == "affine" or len(y) < MIN_PER_PARAMETER * _n_numbers(kind):
                continue
            scores[kind] = cross_validated_mape(kind, f, y)
            if scores[kind] < (1.0 - MIN_GAIN) * scores[best]:
                best = kind
    c = _fit(best, f, y)
    if scores:
        tried = ", ".join(f"{k} {v:.2f} %" for k, v in scores.items())
        c = Correction(**{**c.__dict__, "fitted_on": f"{c.fitted_on}; form chosen by {FOLDS}-fold cross-validated MAPE ({tried})"})
    return c
