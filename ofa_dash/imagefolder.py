"""ImageNet-style image folders: ``train/`` and ``val/`` of class folders, decoded lazily with OFA's evaluation preprocessing.

ImageNet's 1.28 million training images do not fit in one decoded array (the
CIFAR-10 path in :mod:`ofa_dash.data` keeps everything in memory), so a
:class:`FolderSplit` holds only the file list and the labels and decodes a
batch when it is asked for one: a fixed seeded sample of training images for
BN recalibration, ``val/`` (or a ``--limit`` subset of it) for top-1/top-5.

Layout (what :func:`load_image_folder` accepts):

- ``ROOT/train/<class>/<image>`` and ``ROOT/val/<class>/<image>``, images in
  JPEG (``.JPEG`` as ImageNet names them, ``.jpg``, ``.jpeg``; ``.png`` is read too).
- The classes are ``train/``'s sub-folders sorted by name, as torchvision's
  ``ImageFolder`` numbers them; that index is the model's output index. A
  class folder counts even when it is empty, so a small copy of ImageNet (a few
  classes filled, the other folders empty) keeps the 1,000 indices OFA's
  classifier expects. ``val/`` may omit class folders but may not hold one
  ``train/`` lacks (its labels would mean nothing).
- ``val/`` as ILSVRC ships it (50,000 files directly in ``val/``) is refused with
  a message saying to sort it into class folders first.

Preprocessing (OFA's evaluation transform, :func:`preprocess_image`): shorter
side resized to ``ceil(r / 0.875)`` (bilinear, PIL's antialiased filter as
torchvision uses on PIL images), centre crop ``r x r``, then ``pixel / 255``
normalised with the space's mean and std. Decoding runs in a small thread pool
(Pillow releases the GIL while decoding and resizing) and the next batch is
decoded while the model runs on the current one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ofa_dash.data import Dataset, DatasetError, to_tensor_batch
from ofa_dash.space import DATA_KINDS, DataKind

IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png"})  # compared lower-cased: ImageNet's files end in .JPEG
DECODE_THREADS = min(4, os.cpu_count() or 1)
Progress = Callable[[str, int, int], None]


def resize_size(width: int, height: int, resolution: int, crop_fraction: float) -> tuple[int, int]:
    """(width, height) after OFA's resize: the shorter side to ``ceil(resolution / crop_fraction)``, the longer in proportion (truncated, as torchvision does)."""
    short_target = math.ceil(resolution / crop_fraction)
    if width <= height:
        return short_target, int(short_target * height / width)
    return int(short_target * width / height), short_target


def crop_box(width: int, height: int, resolution: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centre ``resolution x resolution`` crop (torchvision's rounding of the offsets)."""
    left = round((width - resolution) / 2.0)
    top = round((height - resolution) / 2.0)
    return left, top, left + resolution, top + resolution


def preprocess_image(image, resolution: int, crop_fraction: float) -> np.ndarray:
    """A PIL image -> the uint8 ``(resolution, resolution, 3)`` RGB crop OFA evaluates (normalisation comes after, on the batch)."""
    from PIL import Image  # deferred: Pillow is only needed where images are decoded

    im = image.convert("RGB")
    size = resize_size(im.width, im.height, resolution, crop_fraction)
    if size != im.size:
        im = im.resize(size, Image.BILINEAR)
    return np.asarray(im.crop(crop_box(im.width, im.height, resolution)), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class FolderSplit:
    """One split of an image folder: file names and labels only; images are decoded when a batch is asked for.

    Satisfies :class:`ofa_dash.data.ImageSplit`, so evaluation and BN recalibration
    read it exactly like an in-memory split.
    """

    root: Path  # the split's folder (ROOT/train or ROOT/val)
    files: np.ndarray  # paths relative to root, "<class>/<image>", in order
    labels: np.ndarray  # (n,) int64 class indices
    crop_fraction: float = 0.875
    threads: int = DECODE_THREADS

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> FolderSplit:
        return replace(self, files=self.files[index], labels=self.labels[index])

    def crop(self, i: int, resolution: int) -> np.ndarray:
        """Image ``i`` decoded and cropped (uint8 HWC); a clear error naming the file when it is not an image."""
        from PIL import Image  # deferred: Pillow is only needed where images are decoded

        path = self.root / str(self.files[i])
        try:
            with Image.open(path) as im:
                return preprocess_image(im, resolution, self.crop_fraction)
        except Exception as exc:
            raise DatasetError(f"cannot decode {self.root.name}/{self.files[i]}: {exc}") from None

    def batches(
        self, batch_size: int, mean, std, resolution: int | None = None, device: torch.device | None = None
    ) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
        """(normalised float NCHW batch, labels) in order, decoded by a thread pool one batch ahead of the consumer."""
        if resolution is None:
            raise ValueError("an image-folder split is cropped to the model's resolution: pass resolution")
        starts = range(0, len(self), batch_size)
        if not len(starts):
            return
        pool = ThreadPoolExecutor(max(1, self.threads))

        def submit(start: int):
            return [pool.submit(self.crop, i, resolution) for i in range(start, min(start + batch_size, len(self)))]

        try:
            ahead = submit(starts[0])
            for k, start in enumerate(starts):
                current = ahead
                if k + 1 < len(starts):
                    ahead = submit(starts[k + 1])
                x = torch.from_numpy(np.stack([f.result() for f in current]))
                yield to_tensor_batch(x if device is None else x.to(device), mean, std, None), self.labels[start : start + len(current)]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def digest(self, h) -> None:
        """Feed the file list and labels into ``h``: a fingerprint of which images, cheap for a million files (contents are not read)."""
        h.update("\n".join(str(f) for f in self.files).encode())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)


def _class_folders(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _images_in(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES)


def _list_split(root: Path, name: str, classes: list[str], report: Progress) -> FolderSplit:
    folder = root / name
    index = {c: i for i, c in enumerate(classes)}
    present = _class_folders(folder)
    foreign = [c for c in present if c not in index]
    if foreign:
        raise DatasetError(f"{name}/ has class folders that train/ lacks: {foreign[:5]}{' ...' if len(foreign) > 5 else ''} ({len(foreign)} in all)")
    files, labels = [], []
    for k, cls in enumerate(present):
        for image in _images_in(folder / cls):
            files.append(f"{cls}/{image}")
            labels.append(index[cls])
        report(f"listing {name}", k + 1, len(present))
    if not files:
        loose = len(_images_in(folder))
        hint = (
            f" It holds {loose} images directly: sort them into one folder per class (ILSVRC's val/ ships flat; its devkit's ground truth says which class each is)."
            if loose
            else ""
        )
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise DatasetError(f"{str(folder)!r} holds no images in class folders ({name}/<class>/<image>, {suffixes}).{hint}")
    return FolderSplit(folder, np.array(files), np.asarray(labels, dtype=np.int64))


def load_image_folder(root: str | os.PathLike, cache_dir=None, progress: Progress | None = None, kind: DataKind = DATA_KINDS["imagenet-folder"]) -> Dataset:
    """List an ImageNet-style folder (see the module doc); nothing is decoded here.

    ``cache_dir`` is accepted for the loaders' common signature and unused (nothing is cached).
    ``progress(stage, done, total)`` hears the listing, class folder by class folder.
    """
    report = progress or (lambda stage, done, total: None)
    root = Path(root).expanduser()
    expected = f"Expected an {kind.label}: {kind.layout}."
    if not root.is_dir():
        raise DatasetError(f"dataset folder {str(root)!r} does not exist. {expected}")
    missing = [name for name in ("train", kind.test_split) if not (root / name).is_dir()]
    if missing:
        raise DatasetError(f"{str(root)!r} has no {' or '.join(f'{m}/' for m in missing)} folder. {expected}")
    classes = _class_folders(root / "train")
    if not classes:
        raise DatasetError(f"{str(root / 'train')!r} has no class folders. {expected}")
    train = _list_split(root, "train", classes, report)
    test = _list_split(root, kind.test_split, classes, report)
    train, test = (replace(s, crop_fraction=kind.crop_fraction) for s in (train, test))
    source = f"{kind.label} {root.name}/ ({len(classes)} classes; train/ {len(train):,} images, {kind.test_split}/ {len(test):,} images)"
    return Dataset(train, test, tuple(classes), source, test_name=kind.test_split)
