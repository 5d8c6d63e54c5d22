"""Checking an exported model against the PyTorch subnet: which inputs, whose logits, how close."""

from __future__ import annotations

import numpy as np
import torch

from ofa_dash.data import Dataset, model_inputs
from ofa_dash.evaluate import balanced_subset
from ofa_dash.hardware import count
from ofa_dash.subnets import PreparedSubnet

PARITY_IMAGES = 256
PARITY_MACS_BUDGET = 12e9
PARITY_ATOL = 1e-4


def parity_count(prepared: PreparedSubnet) -> int:
    """How many inputs the parity check uses: 256, fewer for costly subnets (PyTorch runs them all).

    A budget of ~12 GMACs keeps the check around a second: 256 images for every
    ``cifar10`` subnet, 16 for the largest ``ofa-mbv3-w1.2`` one at 224 px.
    """
    macs = float(count(prepared.space, prepared.space.encode(prepared.arch))["macs"][0])
    return int(np.clip(PARITY_MACS_BUDGET / max(macs, 1.0), 16, PARITY_IMAGES))


def parity_inputs(prepared: PreparedSubnet, data: Dataset | None, n: int | None = None, seed: int = 0) -> tuple[torch.Tensor, str]:
    """Real images (a fixed class-balanced subset): test images when data is at hand, else the BN calibration images; else seeded random inputs."""
    n = n or parity_count(prepared)
    space, r = prepared.space, prepared.arch.r
    if data is not None:
        idx = balanced_subset(data.test.labels, n)
        return model_inputs(data.test.subset(idx), space.mean, space.std, r), f"{len(idx)} {data.test_name} images ({data.source})"
    if prepared.calibration is not None:
        cal = prepared.calibration.images
        idx = balanced_subset(cal.labels, n)
        return model_inputs(cal.subset(idx), space.mean, space.std, r), f"{len(idx)} BN calibration images ({prepared.calibration.source})"
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, r, r, generator=g), f"{n} random normal inputs (no dataset given)"


@torch.no_grad()
def torch_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    net = net.eval()
    return torch.cat([net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()


def ort_logits(session, x: torch.Tensor | np.ndarray, batch_size: int = 64) -> np.ndarray:
    name = session.get_inputs()[0].name
    x = np.ascontiguousarray(x.numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
    return np.concatenate([session.run(None, {name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)])


def compare(reference: np.ndarray, other: np.ndarray, inputs: str) -> dict:
    """Max/mean absolute difference of two logit arrays and how often their top-1 agrees."""
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    agree = reference.argmax(1) == other.argmax(1)
    return {
        "n_inputs": len(reference),
        "inputs": inputs,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_reference": float(np.abs(reference).max()),  # the logits' scale, to read the difference against
        "top1_agreement": float(100.0 * agree.mean()),
        "top1_disagreements": int((~agree).sum()),
    }
