"""Numpy fast paths for the search's hot loop, checked against the slow path.

A search scores ~100,000 subnets; per call, torch's dispatch and the generic
decoders cost more than the arithmetic. These wrappers compile a predictor's
MLP into float32 numpy matmuls and a latency table into one flat gather, and
*verify* both against the owner's own ``predict`` / ``estimate`` on a fixed
sample when built. Anything that does not match (another predictor kind, a
table subclass) silently uses the owner's method instead, so the fast path can
only be faster, never different.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, SearchSpace

_CHECK_SEED = 20230324  # fixed: the verification sample and the fingerprints must not vary between runs
_CHECK_N = 256


def fingerprint(*arrays: np.ndarray) -> str:
    """Short content hash: a version string that changes exactly when the numbers do."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def check_genomes(space: SearchSpace) -> np.ndarray:
    """Fixed verification sample: random genomes plus the largest and smallest subnet."""
    g = space.sample_genomes(_CHECK_N, seed=_CHECK_SEED)
    return np.concatenate([g, space.encode([space.largest(), space.smallest()])])


def active_mask(space: SearchSpace, g: np.ndarray) -> np.ndarray:
    """(n, 20) bool: which slots the per-stage depths keep."""
    depth = np.asarray(space.depth_choices)[g[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]]
    return np.tile(np.arange(MAX_DEPTH), N_STAGES)[None, :] < np.repeat(depth, MAX_DEPTH, axis=1)


def _mlp_layers(model) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(W, b) float32 pairs of a ``Sequential(Linear, ReLU, ..., Linear)``; None for anything else."""
    try:
        from torch import nn
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        return None
    mods = list(model)
    linears = mods[0::2]
    relus = mods[1::2]
    if not all(type(m) is nn.Linear for m in linears) or not all(type(m) is nn.ReLU for m in relus) or len(linears) != len(relus) + 1:
        return None
    return [(m.weight.detach().cpu().numpy().astype(np.float32).T.copy(), m.bias.detach().cpu().numpy().astype(np.float32).copy()) for m in linears]


@dataclass(frozen=True)
class MoveScreen:
    """Estimated objectives of genomes near known ones, and how far each estimate may be off.

    ``estimate(parents, moves)`` gives the (n, m, n_obj) objectives of ``moves`` (n, m, genes),
    each ``moves[i]`` a small change of ``parents[i]``; ``tolerance`` (n_obj,) bounds the error of
    each column (0: exact). A screened hill climb scores exactly only the moves whose
    estimate is within the tolerance of the best estimate.
    """

    estimate: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tolerance: np.ndarray


def _sparse_rows(a: np.ndarray):
    """``a`` (2-D, mostly zeros) as a CSR matrix, built from one pass over a boolean mask
    (scipy's own constructor scans the floats and costs several times the product)."""
    from scipy.sparse import csr_matrix

    flat = np.flatnonzero(a != 0)
    rows, cols = np.divmod(flat, a.shape[1])
    indptr = np.searchsorted(rows, np.arange(a.shape[0] + 1))
    return csr_matrix((a.ravel()[flat], cols, indptr), shape=a.shape)


class FastPredictor:
    """Predicted top-1 (%) for a genome array: the predictor's own MLP as float32 numpy matmuls when verified."""

    def __init__(self, space: SearchSpace, predictor) -> None:
        self.space = space
        self.predictor = predictor
        self.layers = _mlp_layers(getattr(predictor, "model", None))
        self._features = getattr(predictor, "features", None)
        self.fast = False
        self.scale = 1.0
        g = check_genomes(space)
        ref = np.asarray(self._slow(g), dtype=np.float64)
        if self.layers is not None and callable(self._features):
            raw = self._forward(np.asarray(self._features(g), dtype=np.float32))
            for scale in (100.0, 1.0):  # predictors return percent; some MLPs output a fraction
                if np.allclose(raw * scale, ref, rtol=0, atol=1e-3):
                    self.fast, self.scale = True, scale
                    break
        self.fingerprint = fingerprint(np.round(ref, 4))

    def _slow(self, g: np.ndarray) -> np.ndarray:
        try:
            import torch

            with torch.inference_mode():
                return self.predictor.predict(g)
        except ImportError:  # pragma: no cover
            return self.predictor.predict(g)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        h = x
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self.layers):
            h = h @ w
            h += b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h[:, 0].astype(np.float64)

    def __call__(self, g: np.ndarray) -> np.ndarray:
        if not self.fast:
            return np.asarray(self._slow(g), dtype=np.float64)
        return self._forward(np.asarray(self._features(g), dtype=np.float32)) * self.scale

    def estimate_moves(self, parents: np.ndarray, moves: np.ndarray) -> np.ndarray:
        """Estimated top-1 (%), shape (n, m), of genomes ``moves`` (n, m, genes), row i's m moves
        small changes of ``parents[i]``: the first layer exact, the layers after it linearised at
        the parent (one backward pass per parent).

        Why: a hill climb scores every one-gene move of a genome to take the best one; nearly all
        of them are far from the best. The first layer of a one-hot MLP holds the first
        non-linearity exactly and costs a seventh of the network; linearising the rest costs a
        dot product. On OFA's predictor such estimates err by 0.03-0.05 points (median) and keep
        the exact best move within 0.2 points of the best estimate at 99.7 % of a climb's
        steps, so a climb needs exact scores for about a quarter of its moves
        (docs/notes/search.md). Only for a verified MLP (``fast``); callers check that first.
        """
        if not self.fast:
            raise ValueError("move estimates need the predictor's MLP (fast path)")
        n, m, genes = moves.shape
        if len(self.layers) == 1:  # a linear model: the exact prediction is as cheap as any estimate
            return self(moves.reshape(n * m, genes)).reshape(n, m)
        (w1, b1), rest = self.layers[0], self.layers[1:]
        x = np.asarray(self._features(parents), dtype=np.float32)
        z1 = x @ w1 + b1
        h = np.maximum(z1, 0.0)
        out, masks = h, []
        for i, (w, b) in enumerate(rest):
            out = out @ w + b
            if i < len(rest) - 1:
                masks.append(out > 0)
                np.maximum(out, 0.0, out=out)
        grad = np.tile(rest[-1][0][:, 0], (n, 1))  # d output / d last hidden layer
        for (w, _), mask in zip(rest[-2::-1], masks[::-1], strict=True):
            grad = (grad * mask) @ w.T  # through the ReLU, then back through the layer: d output / d h
        # a move's first layer is its parent's plus the rows of the few features it changes: a sparse
        # product (~2 non-zeros a move) instead of a dense one over every feature
        delta = np.asarray(self._features(moves.reshape(n * m, genes)), dtype=np.float32).reshape(n, m, -1)
        delta -= x[:, None, :]
        z = _sparse_rows(delta.reshape(n * m, -1)) @ w1
        z = z.reshape(n, m, -1)
        z += z1[:, None, :]
        np.maximum(z, 0.0, out=z)
        est = np.matmul(z, grad[:, :, None])[..., 0]
        est += (out[:, 0] - np.einsum("nh,nh->n", h, grad))[:, None]
        return est.astype(np.float64) * self.scale


class FastLatency:
    """Estimated latency (ms) from a ``LatencyTable``'s corrected layer costs as one flat gather and a masked sum."""

    def __init__(self, space: SearchSpace, table) -> None:
        self.space = space
        self.table = table
        self.fast = False
        slot_ms = getattr(table, "cost_slot_ms", None)  # corrected per-layer costs (hardware.correction)
        fixed_ms = getattr(table, "cost_fixed_ms", None)
        g = check_genomes(space)
        ref = np.asarray(table.estimate(g), dtype=np.float64)
        if slot_ms is not None and fixed_ms is not None and np.shape(slot_ms)[:2] == (len(space.resolutions), N_SLOTS):
            self._flat = np.ascontiguousarray(slot_ms, dtype=np.float64).reshape(-1)
            self._fixed = np.asarray(fixed_ms, dtype=np.float64)
            _, _, self._k, self._e = np.shape(slot_ms)
            self._offset = float(getattr(table, "offset_ms", 0.0))
            self.fast = bool(np.allclose(self._fast(g), ref, rtol=1e-9, atol=1e-9))
        self.fingerprint = fingerprint(np.round(ref, 6))

    def _fast(self, g: np.ndarray) -> np.ndarray:
        k, e, r = g[:, :N_SLOTS], g[:, N_SLOTS : 2 * N_SLOTS], g[:, -1]
        idx = ((r[:, None] * N_SLOTS + np.arange(N_SLOTS)[None, :]) * self._k + k) * self._e + e
        per_slot = self._flat[idx]
        per_slot[~active_mask(self.space, g)] = 0.0
        return per_slot.sum(1) + self._fixed[r] + self._offset

    def __call__(self, g: np.ndarray) -> np.ndarray:
        return self._fast(g) if self.fast else np.asarray(self.table.estimate(g), dtype=np.float64)
