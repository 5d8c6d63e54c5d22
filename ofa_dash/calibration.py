"""The BN calibration images: the seeded training images every subnet's batch-norm statistics are re-estimated on.

Validation and export re-estimate BN on the same 2,000 images
(:func:`ofa_dash.evaluate.calibration_indices` over the training part of
:meth:`Dataset.split_holdout`). Those images alone decide the statistics, so a
sample that holds exactly them, in the same order, gives bit-identical subnets
without the dataset. The repository ships such a sample for each space trained
here (``SpaceFolder.calibration``, written by ``scripts/make_calibration_sample.py``)
and every export falls back to it when no dataset is given: a fresh clone
downloads the network that validation measured.

The draw is the seeded one validation has always used; it is not stratified by
class (CIFAR-10's 2,000 hold 188-207 images per class), and keeping it keeps
every earlier measurement and cached subnet valid.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ofa_dash.data import Dataset, DatasetError, ImageSplit, Split
from ofa_dash.evaluate import BN_CALIB_IMAGES, calibration_indices
from ofa_dash.files import staged
from ofa_dash.space import SearchSpace
from ofa_dash.workspace import Workspace

SAMPLE_FORMAT = "ofa-dash-calibration-sample"
SAMPLE_VERSION = 1


class CalibrationError(DatasetError):
    """No calibration images can be had, or the sample file is not one."""


@dataclass(frozen=True, eq=False)
class Calibration:
    """The images BN statistics are re-estimated on (exactly those, in order) and where they come from.

    Compared by identity (its arrays have no single truth value); ``fingerprint`` compares content.
    """

    images: ImageSplit  # in memory (CIFAR-10, shipped samples) or image files decoded on demand (image folders)
    classes: tuple[str, ...]
    source: str  # the data copy the images were drawn from, in words
    origin: str  # "dataset" (drawn from a dataset just now) or "sample" (read from a shipped sample file)
    path: str | None = None  # the sample file, for origin "sample"

    def __len__(self) -> int:
        return len(self.images)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the images and labels: equal fingerprints mean equal BN statistics."""
        h = hashlib.sha256()
        self.images.digest(h)
        return h.hexdigest()[:16]

    def describe(self) -> str:
        """One line for provenance, model cards and captions."""
        n = f"{len(self):,} training images of {self.source}"
        if self.origin == "sample":
            return f"{n}, from the shipped calibration sample {Path(self.path or '').name} (the images validation uses)"
        return f"{n} (the seeded draw validation uses)"


def from_dataset(data: Dataset, n_images: int = BN_CALIB_IMAGES) -> Calibration:
    """The calibration images of ``data``: the seeded draw from the training part of its train/holdout split."""
    calib, _ = data.split_holdout()
    idx = calibration_indices(len(calib), n_images)
    return Calibration(calib.subset(idx), tuple(data.classes), data.source, "dataset")


def write_sample(data: Dataset, path: str | os.PathLike, n_images: int = BN_CALIB_IMAGES) -> Calibration:
    """Write ``data``'s calibration images to ``path`` (compressed uint8 ``.npz``, no pickles), atomically."""
    cal = from_dataset(data, n_images)
    if not isinstance(cal.images, Split):
        raise CalibrationError(
            f"a calibration sample holds decoded images; {data.source} is decoded on demand, so there is nothing to write (pass its folder with --data instead)"
        )
    path = Path(path)
    with staged(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            format=np.array(SAMPLE_FORMAT),
            version=np.array(SAMPLE_VERSION),
            images=cal.images.images,
            labels=cal.images.labels.astype(np.uint8),
            classes=np.array(cal.classes),
            source=np.array(cal.source),
            fingerprint=np.array(cal.fingerprint),
        )
    return cal


def load_sample(path: str | os.PathLike) -> Calibration:
    """Read a calibration sample (``allow_pickle=False``: nothing in the file runs); checked against its own fingerprint."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != SAMPLE_FORMAT or int(z["version"]) != SAMPLE_VERSION:
                raise CalibrationError(f"{str(path)!r} is not an ofa-dash calibration sample (format {str(z['format'])!r} v{int(z['version'])})")
            images, labels = np.asarray(z["images"]), np.asarray(z["labels"]).astype(np.int64)
            classes, source, fingerprint = tuple(str(c) for c in z["classes"]), str(z["source"]), str(z["fingerprint"])
    except (OSError, KeyError, ValueError) as exc:
        raise CalibrationError(f"cannot read the calibration sample {str(path)!r}: {exc}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or len(labels) != len(images):
        raise CalibrationError(f"the calibration sample {str(path)!r} holds {images.dtype} images of shape {images.shape}, expected (n, h, w, 3) uint8")
    cal = Calibration(Split(images, labels), classes, source, "sample", str(path))
    if cal.fingerprint != fingerprint:
        raise CalibrationError(f"the calibration sample {str(path)!r} is damaged (its images do not match its fingerprint)")
    return cal


def shipped_sample_path(space: SearchSpace | str, root: str | os.PathLike | None = None) -> Path:
    """Where the sample of ``space`` lives under the precomputed root (``root`` or the default one)."""
    return Workspace.at(root).space(space).calibration


def shipped_sample(space: SearchSpace | str, root: str | os.PathLike | None = None) -> Calibration | None:
    """The space's shipped sample, or None where there is none."""
    path = shipped_sample_path(space, root)
    return load_sample(path) if path.is_file() else None


def _where_data(space: SearchSpace) -> str:
    kind = space.data_kind
    if kind.downloadable:
        return f"{kind.label}: `python -m ofa_dash download-data {kind.name} DIR` fetches it"
    return f"an {kind.label}: {kind.layout}"


def resolve(space: SearchSpace, data: Dataset | None, root: str | os.PathLike | None = None) -> Calibration:
    """The calibration images an export uses: the dataset's when given, else the shipped sample; refuses when neither exists."""
    if data is not None:
        return from_dataset(data)
    sample = shipped_sample(space, root)
    if sample is None:
        raise CalibrationError(
            f"cannot re-estimate BN statistics for this subnet: no dataset was given and space {space.name!r} ships no calibration sample "
            f"({str(shipped_sample_path(space, root))!r} does not exist). Pass --data DIR "
            f"({_where_data(space)}), or --no-calibration to write a model with the supernet's "
            f"BN statistics, labelled as such (its accuracy may be far lower)"
        )
    return sample
