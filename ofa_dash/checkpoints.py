"""Supernet weight files, fine-tuned subnet weight files and in-phase training checkpoints: their formats, and the checks on reading them.

All are read with ``torch.load(..., weights_only=True)``, so a file can hold
tensors and plain containers only, never code. A weights file is what
training publishes and everything else loads (fp16 by default, with JSON
metadata); a subnet weights file holds one static subnet (fp32, what
``finetune`` publishes); a training checkpoint is the full-precision state a
resumed run continues from, exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from pathlib import Path

import torch

from ofa_dash.files import atomic_torch_save
from ofa_dash.nn import StaticNet, Supernet
from ofa_dash.space import DRAFT_SPACES, N_SLOTS, SPACES, Arch, SearchSpace

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
    """The version of a weights file: what its metadata says, else its content hash (so unversioned weights are never mixed).

    OFA's published checkpoints carry no version of ours; they read as ``ofa-published-<hash>``.
    """
    if meta.get("supernet_version"):
        return str(meta["supernet_version"])
    prefix = "ofa-published" if meta.get("source") == OFA_PUBLISHED else "unversioned"
    return f"{prefix}-{sha256[:12]}"


def save_weights(net: Supernet, path: str | os.PathLike, meta: dict, half: bool = True) -> None:
    """Model weights (fp16 by default), their checksum and a JSON metadata string, loadable with weights_only=True."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in net.state_dict().items()}
    blob = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "space": net.space.name, "meta": json.dumps(meta), "state_dict": state}
    atomic_torch_save({**blob, "state_sha256": state_sha256(state)}, path)


def load_weights(path: str | os.PathLike, space: SearchSpace) -> tuple[Supernet, dict]:
    """A :class:`Supernet` of ``space`` with weights from ``path``; clear errors for the wrong file.

    Besides the project's own files this reads OFA's published checkpoints (see
    :func:`load_ofa_published`), so ``--supernet`` can point at either.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"supernet weights {str(path)!r} not found")
    blob = load_tagged(path, "ofa-dash supernet checkpoint")
    if is_ofa_published(blob):
        return _supernet_from_ofa(blob["state_dict"], space, path), {"source": OFA_PUBLISHED}
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


def promote_weights(src: str | os.PathLike, dst: str | os.PathLike, space: SearchSpace, overwrite: bool = False) -> str:
    """Publish a draft space's weights under the name of the space that takes them over; returns the new supernet version.

    A flagship is trained under a draft name (``cifar10-v2``) while the shipped
    name keeps serving the old set, then takes that name over in one change.
    The copy is checked (checksum, tensor shapes against ``space``) before it is
    written, and its version becomes ``<space>-<content hash>``: measurements,
    exports and predictors keyed by the old name's version can never be mixed
    with it. Nothing is written when a check fails or ``dst`` exists (unless
    ``overwrite``).
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} exists; remove it first or pass overwrite=True")
    blob = load_tagged(src, "ofa-dash supernet checkpoint")
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{src} is not an ofa-dash supernet checkpoint (missing format tag)")
    verify_state(blob["state_dict"], blob.get("state_sha256"), src)
    expected = _expected_shapes(space)
    shapes = {k: tuple(v.shape) for k, v in blob["state_dict"].items()}
    if shapes != expected:
        wrong = sorted(set(shapes.items()) ^ set(expected.items()))[:3]
        raise ValueError(f"{src} (space {blob.get('space')!r}) does not fit space {space.name!r}: {wrong}")
    meta = json.loads(blob.get("meta", "{}"))
    sha = blob.get("state_sha256") or state_sha256(blob["state_dict"])
    version = f"{space.name}-{sha[:12]}"
    meta.update({"space": space.name, "supernet_version": version, "promoted_from": {"space": blob.get("space"), "version": meta.get("supernet_version")}})
    atomic_torch_save({**blob, "space": space.name, "meta": json.dumps(meta), "state_sha256": sha}, dst)
    return version


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


# --------------------------------------------------------------------------- OFA's published checkpoints
OFA_PUBLISHED = "OFA's published OFAMobileNetV3 checkpoint"

# OFA's tensor names -> the project's, one rule per module kind. OFA's ``blocks.0`` is the
# fixed first block (depthwise 3x3 + project, no expansion); its ``blocks.N`` (N >= 1) is
# the project's elastic slot N - 1 (stages of up to four blocks, in order).
_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_OFA_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"first_conv\.conv\.weight", "stem.0.weight"),
        (rf"first_conv\.bn\.{_BN}", r"stem.1.\1"),
        (r"blocks\.0\.conv\.depth_conv\.conv\.weight", "first.depthwise.0.weight"),
        (rf"blocks\.0\.conv\.depth_conv\.bn\.{_BN}", r"first.depthwise.1.\1"),
        (r"blocks\.0\.conv\.point_linear\.conv\.weight", "first.project.0.weight"),
        (rf"blocks\.0\.conv\.point_linear\.bn\.{_BN}", r"first.project.1.\1"),
        (r"blocks\.([1-9]\d*)\.conv\.inverted_bottleneck\.conv\.conv\.weight", r"blocks.{\1}.expand_conv.weight"),
        (rf"blocks\.([1-9]\d*)\.conv\.inverted_bottleneck\.bn\.bn\.{_BN}", r"blocks.{\1}.expand_bn.\2"),
        (r"blocks\.([1-9]\d*)\.conv\.depth_conv\.conv\.conv\.weight", r"blocks.{\1}.dw_conv.weight"),
        (r"blocks\.([1-9]\d*)\.conv\.depth_conv\.conv\.(\d+to\d+)_matrix", r"blocks.{\1}.transforms.\2"),
        (rf"blocks\.([1-9]\d*)\.conv\.depth_conv\.bn\.bn\.{_BN}", r"blocks.{\1}.dw_bn.\2"),
        (r"blocks\.([1-9]\d*)\.conv\.depth_conv\.se\.fc\.(reduce|expand)\.(weight|bias)", r"blocks.{\1}.se_\2.\3"),
        (r"blocks\.([1-9]\d*)\.conv\.point_linear\.conv\.conv\.weight", r"blocks.{\1}.project_conv.weight"),
        (rf"blocks\.([1-9]\d*)\.conv\.point_linear\.bn\.bn\.{_BN}", r"blocks.{\1}.project_bn.\2"),
        (r"final_expand_layer\.conv\.weight", "head.final_expand.0.weight"),
        (rf"final_expand_layer\.bn\.{_BN}", r"head.final_expand.1.\1"),
        (r"feature_mix_layer\.conv\.weight", "head.feature_mix.weight"),
        (r"classifier\.linear\.(weight|bias)", r"head.classifier.\1"),
    )
)


def _project_name(ofa_name: str) -> str | None:
    """The project's name for one of OFA's tensors (None: not a tensor of OFA's MobileNetV3 supernet)."""
    for pattern, replacement in _OFA_RULES:
        m = pattern.fullmatch(ofa_name)
        if m:
            # OFA counts the first block as blocks.0, the project keeps it apart: slot = N - 1
            text = m.expand(replacement)
            return re.sub(r"\{(\d+)\}", lambda b: str(int(b.group(1)) - 1), text)
    return None


def is_ofa_published(blob: object) -> bool:
    """Whether a loaded file looks like OFA's published layout (``{"state_dict": {"first_conv.conv.weight": ...}}``)."""
    state = blob.get("state_dict") if isinstance(blob, dict) and "format" not in blob else None
    return isinstance(state, dict) and "first_conv.conv.weight" in state


def ofa_to_project_state(state: dict[str, torch.Tensor], space: SearchSpace, source: str = "the checkpoint") -> dict[str, torch.Tensor]:
    """OFA's ``OFAMobileNetV3`` state dict renamed and checked against ``space``'s :class:`Supernet` (fp32).

    The mapping is by name, and every name and shape is checked before anything is
    used, so a checkpoint of another width or a foreign file fails here with the
    tensors that do not fit (and, where one does fit, the registered space it belongs to).
    """
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ValueError(f"{source} is not in {OFA_PUBLISHED} layout: its state_dict is not a mapping of names to tensors")
    expected = _expected_shapes(space)
    renamed: dict[str, torch.Tensor] = {}
    foreign = []
    for name, tensor in state.items():
        ours = _project_name(name)
        if ours is None or ours not in expected:
            foreign.append(name)
        else:
            renamed[ours] = tensor
    mismatched = [f"{_ofa_name(k)} {tuple(t.shape)} (space needs {expected[k]})" for k, t in renamed.items() if tuple(t.shape) != expected[k]]
    missing = [k for k in expected if k not in renamed and not k.endswith("num_batches_tracked")]
    if foreign or mismatched or missing:
        problems = []
        if mismatched:
            problems.append(f"{len(mismatched)} tensor(s) of the wrong shape, e.g. {'; '.join(mismatched[:3])}")
        if missing:
            problems.append(f"{len(missing)} missing tensor(s), e.g. {', '.join(_ofa_name(k) for k in missing[:3])}")
        if foreign:
            problems.append(f"{len(foreign)} tensor(s) that are not part of it, e.g. {', '.join(foreign[:3])}")
        fits = [s.name for s in (*SPACES.values(), *DRAFT_SPACES.values()) if s.name != space.name and _fits(state, s)]
        hint = f"; it fits space {fits[0]!r}" if fits else ""
        raise ValueError(f"{source} does not match space {space.name!r}: {'; '.join(problems)}{hint}")
    return {k: v.float() if v.is_floating_point() else v for k, v in renamed.items()}


def _ofa_name(project_name: str) -> str:
    """OFA's name for one of the project's tensors (for error messages)."""
    return _ofa_names().get(project_name, project_name)


@functools.cache
def _ofa_names() -> dict[str, str]:
    return {_project_name(name): name for name in _all_ofa_names()}


def _all_ofa_names() -> list[str]:
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    names = [f"first_conv.bn.{b}" for b in bn] + [
        "first_conv.conv.weight",
        "feature_mix_layer.conv.weight",
        "classifier.linear.weight",
        "classifier.linear.bias",
    ]
    names += [f"final_expand_layer.bn.{b}" for b in bn] + ["final_expand_layer.conv.weight"]
    for part in ("depth_conv", "point_linear"):
        names += [f"blocks.0.conv.{part}.conv.weight", *(f"blocks.0.conv.{part}.bn.{b}" for b in bn)]
    for n in range(1, N_SLOTS + 1):
        for part in ("inverted_bottleneck", "depth_conv", "point_linear"):
            names += [f"blocks.{n}.conv.{part}.conv.conv.weight", *(f"blocks.{n}.conv.{part}.bn.bn.{b}" for b in bn)]
        names += [f"blocks.{n}.conv.depth_conv.conv.{m}_matrix" for m in ("7to5", "5to3")]
        names += [f"blocks.{n}.conv.depth_conv.se.fc.{a}.{b}" for a in ("reduce", "expand") for b in ("weight", "bias")]
    return names


@functools.cache
def _expected_shapes(space: SearchSpace) -> dict[str, tuple[int, ...]]:
    # a real (CPU) build, once per space and process: about 0.25 s for w1.2, where the first
    # use of torch's meta device alone costs seconds (measured: 3.9 s on this machine)
    return {k: tuple(v.shape) for k, v in Supernet(space).state_dict().items()}


def _fits(state: dict[str, torch.Tensor], space: SearchSpace) -> bool:
    expected = _expected_shapes(space)
    seen = set()
    for name, tensor in state.items():
        ours = _project_name(name)
        if ours not in expected or expected[ours] != tuple(tensor.shape):
            return False
        seen.add(ours)
    return all(k in seen or k.endswith("num_batches_tracked") for k in expected)


def _supernet_from_ofa(state: dict[str, torch.Tensor], space: SearchSpace, path: str | os.PathLike) -> Supernet:
    converted = ofa_to_project_state(state, space, str(path))
    net = Supernet(space)
    full = net.state_dict()
    full.update(converted)  # num_batches_tracked, when the file has none, keeps its default
    net.load_state_dict(full)
    return net.eval()


def ofa_published_state(net: Supernet) -> dict[str, torch.Tensor]:
    """The supernet's tensors under OFA's names, the converter's inverse: a file OFA's own code loads, and stand-ins for tests and benchmarks."""
    names = _ofa_names()
    return {names[k]: v for k, v in net.state_dict().items()}


def load_ofa_published(path: str | os.PathLike, space: SearchSpace) -> Supernet:
    """A :class:`Supernet` of ``space`` from OFA's published checkpoint (``{"state_dict": ...}`` of ``OFAMobileNetV3``).

    Read with ``weights_only=True`` and converted by tensor name (see ``_OFA_RULES``);
    nothing is written. A truncated or foreign file, or one of another width, raises a
    one-line ``ValueError`` naming what does not match.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"OFA checkpoint {str(path)!r} not found")
    blob = load_tagged(path, OFA_PUBLISHED)
    if isinstance(blob, dict) and blob.get("format") == WEIGHTS_FORMAT:
        raise ValueError(f"{path} is an ofa-dash supernet file (space {blob.get('space')!r}), not {OFA_PUBLISHED}; load it with load_weights")
    if not is_ofa_published(blob):
        raise ValueError(f"{path} is not {OFA_PUBLISHED}: expected a dict with a 'state_dict' holding 'first_conv.conv.weight'")
    return _supernet_from_ofa(blob["state_dict"], space, path)


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
