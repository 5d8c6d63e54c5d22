"""Accuracy predictors behind one interface: genome array in, top-1 (%) array out.

The search evaluates accuracy only through a predictor, so every predictor
predicts a whole population in one call (a one-hot feature matrix and one
forward pass; no Python loop per architecture).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ofa_dash.space import N_SLOTS, SearchSpace

OFA_PREDICTOR_FILE = "acc_predictor.pth"
OFA_PREDICTOR_URL = "https://raw.githubusercontent.com/han-cai/files/master/ofa/acc_predictor.pth"


class AccuracyPredictor(Protocol):
    name: str
    version: str
    source: str  # shown next to every predicted figure

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted top-1 in percent, shape (n,)."""
        ...


def block_onehot(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """(n, 120) float32: kernel one-hot per slot (60) then expand one-hot per slot (60); inactive slots all zero."""
    g = space.check_genome(genomes)
    active = space.values(g)["active"][:, :, None].astype(np.float32)
    k = np.eye(len(space.kernel_choices), dtype=np.float32)[g[:, :N_SLOTS]] * active
    e = np.eye(len(space.expand_choices), dtype=np.float32)[g[:, N_SLOTS : 2 * N_SLOTS]] * active
    return np.concatenate([k.reshape(len(g), -1), e.reshape(len(g), -1)], axis=1)


def onehot_features(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Generic predictor input: :func:`block_onehot` plus a resolution one-hot over the space's resolutions."""
    g = space.check_genome(genomes)
    res = np.eye(len(space.resolutions), dtype=np.float32)[g[:, -1]]
    return np.concatenate([block_onehot(space, g), res], axis=1)


def _ofa_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(128, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 1))


@dataclass
class OfaPublishedPredictor:
    """OFA's published ImageNet predictor for the w1.2 space (``acc_predictor.pth``).

    Its input puts the resolution one-hot at ``120 + (r - 112) // 16`` (8
    positions for 112..224), so it is only defined for spaces whose
    resolutions fall on that grid.
    """

    space: SearchSpace
    path: Path
    name: str = "ofa-published"
    version: str = "ofa-acc-predictor-w1.2"
    source: str = "OFA's published ImageNet accuracy predictor"
    model: nn.Module = field(init=False, repr=False)

    def __post_init__(self) -> None:
        bad = [r for r in self.space.resolutions if r < 112 or r > 224 or (r - 112) % 16]
        if bad:
            raise ValueError(f"OFA's predictor encodes resolutions 112..224 in steps of 16; space {self.space.name!r} has {bad}")
        self.model = _ofa_mlp()
        state = _load_state_dict(self.path)
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{self.path} does not match OFA's predictor (Linear 128-400-400-400-1): {str(exc).splitlines()[0]}") from None
        self.model.eval()
        self._res_pos = 120 + (np.asarray(self.space.resolutions) - 112) // 16

    def features(self, genomes: np.ndarray) -> np.ndarray:
        g = self.space.check_genome(genomes)
        x = np.zeros((len(g), 128), dtype=np.float32)
        x[:, :120] = block_onehot(self.space, g)
        x[np.arange(len(g)), self._res_pos[g[:, -1]]] = 1.0
        return x

    @torch.no_grad()
    def predict(self, genomes: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.features(genomes))
        return self.model(x).squeeze(1).double().numpy() * 100.0


def _load_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"OFA's accuracy predictor {str(path)!r} not found; pass --official DIR with {OFA_PREDICTOR_FILE} in it, "
            f"or fetch it with `python -m ofa_dash download-official DIR`"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable PyTorch state dict ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return {k: v.float() for k, v in state.items()}


def load_official_predictor(space: SearchSpace, official_dir: str | os.PathLike) -> OfaPublishedPredictor:
    return OfaPublishedPredictor(space, Path(official_dir) / OFA_PREDICTOR_FILE)
