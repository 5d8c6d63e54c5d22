"""A-posteriori decision aids on a front, all from pymoo.

Each works on a minimisation matrix ``F`` (rows = subnets on the front,
columns = objectives) normalised to [0, 1] per objective by the front's own
ideal and nadir points, so that "1 ms" and "1 % top-1" are weighed by their
range on this front, not by their units:

- knee points: :class:`pymoo.mcdm.high_tradeoff.HighTradeoffPoints` (subnets where a small gain
  in one objective costs a large loss in another);
- a preference by pseudo-weights: :class:`pymoo.mcdm.pseudo_weights.PseudoWeights` (the subnet
  whose relative position on the front best matches the weights a user sets);
- a reference-point pick: the subnet minimising the achievement scalarising function
  (:class:`pymoo.decomposition.asf.ASF`) towards an aspiration point a user types in.
"""

from __future__ import annotations

import warnings

import numpy as np
from pymoo.decomposition.asf import ASF
from pymoo.mcdm.high_tradeoff import HighTradeoffPoints
from pymoo.mcdm.pseudo_weights import PseudoWeights


def normalise(F: np.ndarray, ideal: np.ndarray | None = None, nadir: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F scaled to [0, 1] per column, ideal, nadir); a column without spread maps to 0."""
    F = np.asarray(F, dtype=float)
    ideal = F.min(axis=0) if ideal is None else np.asarray(ideal, dtype=float)
    nadir = F.max(axis=0) if nadir is None else np.asarray(nadir, dtype=float)
    span = np.where(nadir - ideal > 0, nadir - ideal, 1.0)
    return (F - ideal) / span, ideal, nadir


def knee_points(F: np.ndarray) -> np.ndarray:
    """Indices of the high trade-off points (empty when the front is too small or has no knee)."""
    F = np.asarray(F, dtype=float)
    if len(F) < 4 or F.shape[1] < 2:
        return np.zeros(0, dtype=int)
    Fn, _, _ = normalise(F)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        found = HighTradeoffPoints().do(Fn)  # it switches warnings off globally: catch_warnings restores them
    if found is None:
        return np.zeros(0, dtype=int)
    return np.unique(np.asarray(found, dtype=int).ravel())


def pseudo_weight_pick(F: np.ndarray, weights) -> int:
    """Index of the subnet whose pseudo-weights are closest to ``weights`` (normalised to sum 1)."""
    F = np.asarray(F, dtype=float)
    w = np.asarray(weights, dtype=float)
    if len(F) == 0:
        raise ValueError("the front is empty")
    if w.shape != (F.shape[1],) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {F.shape[1]} non-negative numbers, not all zero; got {list(w)}")
    if len(F) == 1:
        return 0
    Fn, _, _ = normalise(F)
    if np.ptp(Fn, axis=0).max() == 0:
        return 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return int(PseudoWeights(w / w.sum()).do(Fn))


def asf_pick(F: np.ndarray, reference, weights=None) -> int:
    """Index of the subnet that minimises the ASF towards the aspiration point ``reference`` (in F's units).

    ``weights`` (default equal) scale how much each normalised objective may fall short of its aspiration.
    """
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        raise ValueError("the front is empty")
    ref = np.asarray(reference, dtype=float)
    if ref.shape != (F.shape[1],):
        raise ValueError(f"the reference point needs {F.shape[1]} values, got {list(ref)}")
    w = np.ones(F.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    Fn, ideal, nadir = normalise(F)
    ref_n, _, _ = normalise(ref[None, :], ideal, nadir)
    values = ASF().do(Fn, w, utopian_point=ref_n[0])
    return int(np.argmin(values))
