"""Supernet weight files, fine-tuned subnet weight files and in-phase training checkpoints: their formats, and the checks on reading them.

All are read with ``torch.load(..., weights_only=True)``, so a file can hold
tensors and plain containers only, never code. A weights file is what
training publishes and everything else loads (fp16 by default, with JSON
metadata); a subnet weights file holds one static subnet (fp32, what
``finetune`` publishes); a training checkpoint is the full-precision state a
resumed run continues from, exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import torch

from ofa_dash.files import atomic_torch_save
from ofa_dash.nn import StaticNet, Supernet
from ofa_dash.space import Arch, SearchSpace

WEIGHTS_FORMAT = "ofa-dash-supernet"
WEIGHTS_VERSION = 1
TRAINING_CHECKPOINT_VERSION = 2
TRAINING_CHECKPOINT_NAME = "checkpoint.pt"  # one file, written by rank 0, read by every rank
SUBNET_WEIGHTS_FORMAT = "ofa-dash-subnet-weights"
SUBNET_WEIGHTS_VERSION = 1


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """A hash of every tensor's name, dtype, shape and bytes, in key order: what a damaged file cannot keep."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def verify_state(state: dict[str, torch.Tensor], expected: str | None, path: str | os.PathLike) -> None:
    """Raise a clear error when tensors do not hash to what their file recorded (files without a hash pass)."""
    if expected is not None and state_sha256(state) != expected:
        raise ValueError(f"{path} is damaged: its weights do not match the checksum recorded when it was written; restore or re-download the file")


def load_tagged(path: str | os.PathLike, what: str) -> object:
    """``torch.load(..., weights_only=True)`` of a file this project wrote, or a clear error naming ``what`` it should be."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable {what} ({type(exc).__name__}: {exc})") from None


def weights_version(meta: dict, sha256: str) -> str:
    """The version of a weights file: what its metadata says, else its content hash (so unversioned weights are never mixed)."""
    return str(meta.get("supernet_version") or f"unversioned-{sha256[:12]}")


def save_weights(net: Supernet, path: str | os.PathLike, meta: dict, half: bool = True) -> None:
    """Model weights (fp16 by default), their checksum and a JSON metadata string, loadable with weights_only=True."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in net.state_dict().items()}
    blob = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "space": net.space.name, "meta": json.dumps(meta), "state_dict": state}
    atomic_torch_save({**blob, "state_sha256": state_sha256(state)}, path)


def load_weights(path: str | os.PathLike, space: SearchSpace) -> tuple[Supernet, dict]:
    """A :class:`Supernet` of ``space`` with weights from ``path``; clear errors for the wrong file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"supernet weights {str(path)!r} not found")
    blob = load_tagged(path, "ofa-dash supernet checkpoint")
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not an ofa-dash supernet checkpoint (missing format tag)")
    if blob.get("space") != space.name:
        raise ValueError(f"{path} holds weights for space {blob.get('space')!r}, not {space.name!r}")
    verify_state(blob["state_dict"], blob.get("state_sha256"), path)
    net = Supernet(space)
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match space {space.name!r}: {str(exc).splitlines()[0]}") from None
    return net.eval(), json.loads(blob.get("meta", "{}"))


def save_subnet_weights(net: StaticNet, path: str | os.PathLike, space: SearchSpace, arch: Arch, meta: dict) -> None:
    """A static subnet's weights (fp32: fine-tuned weights are small and kept exactly), their checksum and JSON metadata."""
    state = {k: v.detach().float().cpu().contiguous() if v.is_floating_point() else v.detach().cpu() for k, v in net.state_dict().items()}
    blob = {"format": SUBNET_WEIGHTS_FORMAT, "version": SUBNET_WEIGHTS_VERSION, "space": space.name, "arch_id": arch.id, "meta": json.dumps(meta)}
    atomic_torch_save({**blob, "state_dict": state, "state_sha256": state_sha256(state)}, path)


def load_subnet_weights(path: str | os.PathLike, space: SearchSpace, arch: Arch) -> tuple[StaticNet, dict]:
    """The :class:`StaticNet` of ``arch`` with weights from ``path`` (eval mode); clear errors for the wrong or a damaged file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"subnet weights {str(path)!r} not found")
    blob = load_tagged(path, "ofa-dash subnet weights file")
    if not isinstance(blob, dict) or blob.get("format") != SUBNET_WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not an ofa-dash subnet weights file (missing format tag)")
    if blob.get("space") != space.name or blob.get("arch_id") != arch.id:
        raise ValueError(f"{path} holds weights of subnet {blob.get('arch_id')!r} of space {blob.get('space')!r}, not {arch.id!r} of {space.name!r}")
    verify_state(blob["state_dict"], blob.get("state_sha256"), path)
    net = StaticNet(space, arch)
    try:
        net.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match subnet {arch.id!r}: {str(exc).splitlines()[0]}") from None
    return net.eval(), json.loads(blob.get("meta", "{}"))


def save_training_checkpoint(path: str | os.PathLike, space: SearchSpace, recipe_name: str, state: dict) -> None:
    """Everything a resume needs, in full precision (model, optimizer, EMA, position in the phase)."""
    atomic_torch_save(
        {"version": TRAINING_CHECKPOINT_VERSION, "space": space.name, "recipe": recipe_name, **state, "saved": time.strftime("%Y-%m-%dT%H:%M:%S")}, path
    )


def load_training_checkpoint(path: str | os.PathLike, space: SearchSpace, recipe_name: str) -> dict:
    """A checkpoint of this space and recipe, or a clear error naming what does not match."""
    ck = load_tagged(path, "training checkpoint (remove it or point --work elsewhere)")
    check_training_checkpoint(ck, path, space, recipe_name)
    return ck


def check_training_checkpoint(ck: dict, path: str | os.PathLike, space: SearchSpace, recipe_name: str) -> None:
    if not isinstance(ck, dict) or ck.get("version") != TRAINING_CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a version-{TRAINING_CHECKPOINT_VERSION} training checkpoint; remove it or point --work elsewhere")
    if ck.get("space") != space.name or ck.get("recipe") != recipe_name:
        raise ValueError(f"{path} belongs to space {ck.get('space')!r}, recipe {ck.get('recipe')!r}, not {space.name!r}, {recipe_name!r}")
