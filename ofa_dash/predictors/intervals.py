"""Prediction intervals for the accuracy predictor, calibrated and checked on held-out subnets.

What an interval promises: "the measured holdout top-1 of a subnet lies within
prediction +- ``half_width`` for ``level`` % of subnets like the held-out ones".
That is a claim about coverage, so it is *measured*, never assumed.

Method (split-conformal, why): the fit already holds out 20 % of the measured
subnets that neither fitting nor model selection saw (:mod:`ofa_dash.predictors.fit`).
Their absolute residuals are exchangeable with a new subnet's, so the
``ceil((n + 1) * level) / n`` empirical quantile of them is a half-width whose
coverage is at least ``level`` with no assumption about the error's shape.

- Unscaled (one half-width for every subnet), not scaled by an ensemble's
  spread: the shipped predictor is the mean of 3 MLP members compiled into one
  ``Sequential`` (the members are not kept), and 3 members give a very noisy
  spread per subnet; a constant width keeps the promise (marginal coverage) with
  nothing more to store or to trust. Predictions themselves are unchanged.
- Coverage is measured by K-fold cross-conformal on the same held-out subnets:
  each fold is scored against the half-width computed from the *other* folds,
  so no subnet judges a width it helped to pick; the pooled hit rate is the
  stated ``coverage``. The stored ``half_width`` uses all held-out subnets.
- How far a measured coverage may stray from the level by chance alone is the
  binomial standard error ``sqrt(p (1 - p) / n)``: :func:`binomial_tolerance`.

What is stored (``meta["interval"]`` of ``predictor.pt``, JSON): ``level``,
``half_width`` (points), ``coverage`` (percent), ``n_calibration``, ``folds``,
``method``. A predictor file without it is still valid and simply has no interval.
OFA's published predictor has no held-out subnets, hence no interval.

Also here: which points of a front cannot be told apart by such intervals
(:func:`overlaps_neighbours`), the one comparison the Fronts page makes with them.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_LEVEL = 80  # percent
DEFAULT_FOLDS = 5
METHOD = "split-conformal, unscaled: |measured - predicted| quantile on the fit's held-out subnets; coverage by cross-conformal folds"


def conformal_half_width(abs_residuals: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) * level / 100)``-th smallest absolute residual (inf when that rank exceeds n)."""
    r = np.sort(np.abs(np.asarray(abs_residuals, dtype=np.float64)))
    n = len(r)
    if not 0 < level < 100:
        raise ValueError(f"interval level must be between 0 and 100 percent, got {level}")
    k = math.ceil((n + 1) * level / 100.0)
    return float(r[k - 1]) if 1 <= k <= n else math.inf


def cross_conformal_coverage(abs_residuals: np.ndarray, level: float, folds: int = DEFAULT_FOLDS, seed: int = 0) -> float:
    """Percent of residuals within the half-width computed from the other folds (seeded fold split)."""
    r = np.abs(np.asarray(abs_residuals, dtype=np.float64))
    folds = max(2, min(folds, len(r)))
    fold_of = np.random.default_rng(seed).permutation(len(r)) % folds
    hits = np.zeros(len(r), dtype=bool)
    for k in range(folds):
        inside = fold_of == k
        hits[inside] = r[inside] <= conformal_half_width(r[~inside], level)
    return float(100.0 * hits.mean())


def calibrate_interval(predicted: np.ndarray, measured: np.ndarray, level: float = DEFAULT_LEVEL, folds: int = DEFAULT_FOLDS, seed: int = 0) -> dict:
    """The interval metadata from held-out (predicted, measured) pairs; see the module docstring."""
    predicted, measured = np.asarray(predicted, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    if predicted.shape != measured.shape or predicted.ndim != 1:
        raise ValueError(f"predicted and measured must be two 1-D arrays of one length, got shapes {predicted.shape} and {measured.shape}")
    n = len(measured)
    if n < 2 * folds or n < 10:
        raise ValueError(f"only {n} held-out subnets; a calibrated interval needs at least {max(10, 2 * folds)}")
    r = np.abs(predicted - measured)
    return {
        "level": int(level) if float(level).is_integer() else float(level),
        "half_width": conformal_half_width(r, level),
        "coverage": round(cross_conformal_coverage(r, level, folds, seed), 2),
        "n_calibration": n,
        "folds": folds,
        "seed": seed,
        "tolerance": round(binomial_tolerance(n, level), 2),
        "method": METHOD,
    }


def binomial_tolerance(n: int, level: float, z: float = 2.0) -> float:
    """``z`` binomial standard errors of a coverage measured on ``n`` subnets, in percentage points."""
    p = level / 100.0
    return float(100.0 * z * math.sqrt(p * (1 - p) / max(1, n)))


def interval_of(meta: dict | None) -> dict | None:
    """The calibrated interval in a predictor's metadata (``meta["interval"]``), or None (older files, OFA's published one)."""
    found = meta.get("interval") if isinstance(meta, dict) else None
    if not isinstance(found, dict) or not {"level", "half_width", "coverage"} <= found.keys():
        return None
    return found


def overlaps_neighbours(values: np.ndarray, half_widths: np.ndarray) -> np.ndarray:
    """True where a point's interval overlaps the interval of the point before or after it.

    ``values`` are one front's accuracies in the front's order (sorted by its
    cost axis); ``half_widths`` their +- (0 or NaN: a point estimate, e.g. a
    measurement). Two intervals overlap when the values differ by no more than
    the sum of their half-widths: the predictor cannot say which is more accurate.
    """
    v = np.asarray(values, dtype=np.float64)
    h = np.nan_to_num(np.asarray(half_widths, dtype=np.float64), nan=0.0)
    out = np.zeros(len(v), dtype=bool)
    if len(v) < 2:
        return out
    touch = np.abs(np.diff(v)) <= h[:-1] + h[1:]
    out[:-1] |= touch
    out[1:] |= touch
    return out


def separable_steps(values: np.ndarray, half_widths: np.ndarray) -> int:
    """How many points of a front (in its order) can be picked so that each next one's interval clears the last one's.

    Greedy from the first (cheapest) point, which is optimal for intervals on a line: the
    number of accuracy levels along the front that the predictor can actually tell apart,
    however many points the front has.
    """
    v = np.asarray(values, dtype=np.float64)
    h = np.nan_to_num(np.asarray(half_widths, dtype=np.float64), nan=0.0)
    if not len(v):
        return 0
    steps, last = 1, 0
    for i in range(1, len(v)):
        if abs(v[i] - v[last]) > h[i] + h[last]:
            steps, last = steps + 1, i
    return steps
