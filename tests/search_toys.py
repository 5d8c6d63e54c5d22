"""Synthetic predictors and latency tables for search/store tests that must not need shared files."""

from __future__ import annotations

import re

import numpy as np
import torch
from torch import nn

from ofa_dash.hardware.latency import LatencyTable, keys_at
from ofa_dash.predictors import onehot_features
from ofa_dash.search.objectives import Objectives
from ofa_dash.space import get_space

TOY_SPACE = "cifar10"


class ToyPredictor:
    """A fixed random MLP over the generic one-hot features; ``affine`` adds an offset the fast path cannot see."""

    name = "toy"
    version = "toy-1"
    source = "synthetic (tests)"

    def __init__(self, space, seed: int = 0, affine: bool = False) -> None:
        self.space = space
        self.affine = affine
        rng = np.random.default_rng(seed)
        n_k, n_e, n_r = 3 * 20, 3 * 20, len(space.resolutions)
        # larger kernels / expands, more active slots and higher resolution -> higher accuracy (a real trade-off)
        score = np.concatenate([np.tile([0.002, 0.004, 0.006], 20), np.tile([0.002, 0.004, 0.006], 20), 0.02 * np.arange(n_r)])
        w1 = np.vstack([score, rng.normal(0, 0.01, (7, n_k + n_e + n_r))]).astype(np.float32)
        self.model = nn.Sequential(nn.Linear(n_k + n_e + n_r, 8), nn.ReLU(), nn.Linear(8, 1))
        with torch.no_grad():
            self.model[0].weight.copy_(torch.from_numpy(w1))
            self.model[0].bias.copy_(torch.from_numpy(np.r_[0.6, rng.normal(0, 0.01, 7)].astype(np.float32)))
            self.model[2].weight.copy_(torch.from_numpy(np.r_[1.0, rng.normal(0, 0.05, 7)].astype(np.float32)[None, :]))
            self.model[2].bias.zero_()

    def features(self, genomes: np.ndarray) -> np.ndarray:
        return onehot_features(self.space, genomes)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.features(genomes))
        with torch.no_grad():
            raw = self.model(x).squeeze(1).double().numpy()
        return raw * 100.0 + (0.5 if self.affine else 0.0)


def toy_table(space, name: str = "toy-cpu", speed: float = 1.0) -> LatencyTable:
    """A latency table whose entries grow with the layer's work (parsed from OFA's key format)."""
    entries = {}
    for r in space.resolutions:
        table = {}
        for key in keys_at(space, r):
            m = re.search(r"input:(\d+)x\d+x(\d+).*expand:(\d+)-kernel:(\d+)", key)
            if m:
                f, cin, mid, k = (int(v) for v in m.groups())
                table[key] = speed * 1e-5 * f * f * mid * (k * k + 2 * cin / 8)
            else:
                table[key] = speed * 0.05
        entries[r] = table
    return LatencyTable(space, name, entries, {"device": name, "runtime": "synthetic"})


def toy_objectives(names=("error", "latency:toy-cpu"), affine: bool = False) -> Objectives:
    space = get_space(TOY_SPACE)
    devices = {"toy-cpu": toy_table(space), "toy-gpu": toy_table(space, "toy-gpu", speed=0.3)}
    return Objectives(space, tuple(names), ToyPredictor(space, affine=affine), devices)


class DeepToyPredictor(ToyPredictor):
    """The toy's trade-off through three ReLU layers: move estimates are approximate, not exact."""

    def __init__(self, space, seed: int = 1) -> None:
        super().__init__(space, seed=seed)
        rng = np.random.default_rng(seed)
        first = self.model[0]
        n_h = 16
        self.model = nn.Sequential(first, nn.ReLU(), nn.Linear(8, n_h), nn.ReLU(), nn.Linear(n_h, n_h), nn.ReLU(), nn.Linear(n_h, 1))
        with torch.no_grad():
            for layer in (self.model[2], self.model[4]):
                w = rng.normal(0, 1.0, tuple(layer.weight.shape))
                w[:, 0] = np.abs(w[:, 0]) + 0.5  # keep the accuracy direction alive through the layers
                layer.weight.copy_(torch.from_numpy(w.astype(np.float32)))
                layer.bias.copy_(torch.from_numpy(rng.normal(-0.3, 0.3, layer.bias.shape).astype(np.float32)))  # units that switch
            self.model[6].weight.copy_(torch.from_numpy(rng.normal(0.1, 0.3, (1, n_h)).astype(np.float32)))
            self.model[6].bias.zero_()


def deep_toy_objectives(names=("error", "latency:toy-cpu")) -> Objectives:
    space = get_space(TOY_SPACE)
    return Objectives(space, tuple(names), DeepToyPredictor(space), {"toy-cpu": toy_table(space)})
