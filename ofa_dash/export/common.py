"""What every export format shares: the error type, the config and preprocessing it describes, and atomic writes.

Every format is written to a temporary file in the destination folder,
verified there, and only then moved into place with ``os.replace``
(:func:`staged`): a failed export leaves nothing at the destination.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import ofa_dash
from ofa_dash import files
from ofa_dash.runtime.onnx import INPUT_NAME, OUTPUT_NAME
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.subnets import PreparedSubnet
from ofa_dash.workspace import Workspace

CONFIG_FORMAT = "ofa-dash-subnet"
CONFIG_VERSION = 1
EVAL_IMAGES = 2000  # test images for the accuracies an export reports (0: the whole test split)
RESIZE = "bilinear, antialiased when shrinking (PIL Image.BILINEAR; torch interpolate antialias=True), straight to resolution x resolution"


class ExportError(ValueError):
    """An export failed its verification; nothing was written to the destination."""


# --------------------------------------------------------------------------- description
def preprocessing(space: SearchSpace, arch: Arch) -> dict:
    """Everything needed to feed the model exactly as in training and validation.

    Spaces measured on image folders (``DataKind.resize == "resize-crop"``) add OFA's
    evaluation transform: ``resize_shorter`` (the shorter side's length) and ``center_crop``.
    """
    pre = {
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": ["batch", 3, arch.r, arch.r],
        "layout": "NCHW",
        "dtype": "float32",
        "color": "RGB",
        "resolution": arch.r,
        "resize": RESIZE,
        "scale": "pixel / 255",
        "mean": list(space.mean),
        "std": list(space.std),
        "normalize": "(pixel / 255 - mean) / std, per channel",
        "output": "logits (apply softmax for probabilities)",
        "class_names": list(space.class_names) if space.class_names else [str(i) for i in range(space.n_classes)],
    }
    kind = space.data_kind
    if kind.resize == "resize-crop":
        shorter = math.ceil(arch.r / kind.crop_fraction)
        pre["resize"] = (
            f"shorter side to ceil({arch.r} / {kind.crop_fraction}) = {shorter} px, bilinear (PIL Image.BILINEAR, antialiased), "
            f"then the centre {arch.r} x {arch.r} crop (OFA's evaluation transform)"
        )
        pre.update(resize_shorter=shorter, center_crop=arch.r, crop_fraction=kind.crop_fraction)
    return pre


def model_config(prepared: PreparedSubnet) -> dict:
    """The JSON config from which :func:`ofa_dash.export.load_exported` (or a user) rebuilds the network."""
    return {
        "format": CONFIG_FORMAT,
        "version": CONFIG_VERSION,
        "space": prepared.space.name,
        "arch_id": prepared.arch.id,
        "arch": prepared.arch.to_dict(),
        "n_classes": prepared.space.n_classes,
        "preprocessing": preprocessing(prepared.space, prepared.arch),
        "provenance": prepared.provenance.to_dict(),
        "ofa_dash_version": ofa_dash.__version__,
    }


# --------------------------------------------------------------------------- atomic writes
def check_destination(out: str | os.PathLike) -> Path:
    """The output path, after checking that it can be written (before any expensive work)."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a folder; give a file path")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{str(parent)!r} in --out is a file, not a folder")
    if not parent.is_dir():
        raise FileNotFoundError(f"folder {str(parent)!r} for --out does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".probe")
    except OSError as exc:
        raise ValueError(f"cannot write to folder {str(parent)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.remove(probe)
    return out


def refuse_overwrite(paths: list[Path], force: bool, protected: Workspace | None = None) -> None:
    """A user's ``--out`` never lands in the precomputed root, and replaces an existing file only with ``--force``."""
    protected = protected or Workspace.default()
    for p in paths:
        if protected.contains(p):
            raise ValueError(
                f"--out {str(p)!r} lies inside the precomputed root {str(protected.root)!r}, whose files the dashboard serves; write the export elsewhere"
            )
        if p.exists() and not force:
            raise ValueError(f"--out {str(p)!r} already exists; pass --force to replace it")


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """:func:`ofa_dash.files.staged` after :func:`check_destination`: built and verified beside ``out``, then moved onto it."""
    with files.staged(check_destination(out)) as tmp:
        yield tmp
