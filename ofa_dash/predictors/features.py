"""What every accuracy predictor shares: the interface and the one-hot genome features.

The search evaluates accuracy only through a predictor, so every predictor
predicts a whole population in one call (a one-hot feature matrix and one
forward pass; no Python loop per architecture).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, SearchSpace

FEATURES_NAME = "onehot_features"


class AccuracyPredictor(Protocol):
    name: str
    version: str
    source: str  # shown next to every predicted figure

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted top-1 in percent, shape (n,)."""
        ...


def _active_mask(space: SearchSpace, g: np.ndarray) -> np.ndarray:
    """(n, 20) float32: 1 where the stage depth keeps the slot (``g`` already checked)."""
    depth = np.asarray(space.depth_choices)[g[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]]
    return (np.tile(np.arange(MAX_DEPTH), N_STAGES)[None, :] < np.repeat(depth, MAX_DEPTH, axis=1)).astype(np.float32)


def scatter_block_onehot(space: SearchSpace, g: np.ndarray, out: np.ndarray) -> None:
    """Write the kernel and expand one-hots of checked genomes ``g`` straight into ``out[:, :120]``.

    One scatter per block instead of an eye() gather, a mask multiply and a concatenate
    (the 100,000-genome hot path); OFA's published predictor uses the same block layout.
    """
    n_k, n_e = len(space.kernel_choices), len(space.expand_choices)
    active = _active_mask(space, g)
    rows = np.arange(len(g))[:, None]
    out[rows, np.arange(N_SLOTS) * n_k + g[:, :N_SLOTS]] = active
    out[rows, N_SLOTS * n_k + np.arange(N_SLOTS) * n_e + g[:, N_SLOTS : 2 * N_SLOTS]] = active


def block_onehot(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """(n, 120) float32: kernel one-hot per slot (60) then expand one-hot per slot (60); inactive slots all zero."""
    g = space.check_genome(genomes)
    out = np.zeros((len(g), N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices))), dtype=np.float32)
    scatter_block_onehot(space, g, out)
    return out


def n_onehot_features(space: SearchSpace) -> int:
    return N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices)) + len(space.resolutions)


def onehot_features(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Generic predictor input: :func:`block_onehot` plus a resolution one-hot over the space's resolutions."""
    g = space.check_genome(genomes)
    n_block = N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices))
    out = np.zeros((len(g), n_onehot_features(space)), dtype=np.float32)
    scatter_block_onehot(space, g, out)
    out[np.arange(len(g)), n_block + g[:, -1]] = 1.0
    return out


def feature_spec(space: SearchSpace) -> dict:
    """What a fitted model's input columns mean; a saved predictor is refused for a space whose spec differs."""
    return {
        "name": FEATURES_NAME,
        "n_features": n_onehot_features(space),
        "slots": N_SLOTS,
        "kernel_choices": list(space.kernel_choices),
        "expand_choices": list(space.expand_choices),
        "resolutions": list(space.resolutions),
    }
