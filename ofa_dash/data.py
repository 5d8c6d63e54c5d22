"""Datasets: CIFAR-10 (official archive or image folders), decoded once, augmented on whole batches.

Images are decoded a single time into a uint8 array cached on disk (the
cache is keyed by the source files' size and modification time, so a changed
source is decoded again). Everything after that is tensor work on whole
batches: the 2-core CPU spends its time in the network, not in Pillow.

Evaluation and BN recalibration read any :class:`ImageSplit` (labels, subsets,
preprocessed batches): the in-memory :class:`Split` here, or the lazily decoded
ImageNet-style folders of :mod:`ofa_dash.imagefolder`; which loader a space
uses is :mod:`ofa_dash.datasets`' business.

That first decode takes minutes on a busy machine, so :func:`load_dataset`
reports it through an optional ``progress(stage, done, total)`` callback
(stages in :data:`LOAD_STAGES`), which the dashboard's jobs show as counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from ofa_dash.files import staged
from ofa_dash.progress import progress, progress_bar
from ofa_dash.space import SearchSpace

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_CHECKSUM = f"md5:{CIFAR10_MD5}"  # the official archive's, as published with it
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
HOLDOUT_SIZE = 5000
SPLIT_SEED = 0
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
_HELP = (
    "Expected a dataset root holding either the official CIFAR-10 python archive "
    "(cifar-10-python.tar.gz or its extracted cifar-10-batches-py/ folder; "
    "`python -m ofa_dash download-data cifar10 DIR` fetches it), or an image folder with "
    "train/ and test/ (folders or train.zip/test.zip) of <class>/<image> files."
)


# The stages load_dataset reports to its progress callback, and what each one counts.
LOAD_STAGES = {
    "reading": "files read from the source (total: files to read, 0 when unknown)",
    "decoding": "images decoded (total: images in both splits)",
    "loading cache": "the decoded copy read back from the cache (0 of 1, then 1 of 1)",
}
DECODE_REPORT_EVERY = 500  # images between two progress reports while decoding image files
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nowhere."""


class DatasetError(ValueError):
    """The dataset is missing or malformed; the message says what was expected."""


class ImageSplit(Protocol):
    """What evaluation, BN recalibration and export read from a split: labels, a subset, and model-ready batches.

    Two kinds satisfy it: :class:`Split` (decoded uint8 images in memory, CIFAR-10)
    and :class:`ofa_dash.imagefolder.FolderSplit` (JPEG files decoded lazily, batch
    by batch, ImageNet). Each applies its own dataset's evaluation preprocessing,
    so code above this module never branches on the dataset kind.
    """

    labels: np.ndarray

    def __len__(self) -> int: ...

    def subset(self, index: np.ndarray) -> ImageSplit: ...

    def batches(
        self, batch_size: int, mean, std, resolution: int | None = None, device: torch.device | None = None
    ) -> Iterator[tuple[torch.Tensor, np.ndarray]]: ...

    def digest(self, h) -> None: ...


@dataclass
class Split:
    """Decoded images in memory (uint8 NHWC); preprocessing is a straight bilinear resize to the resolution."""

    images: np.ndarray  # (n, h, w, 3) uint8
    labels: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> Split:
        return Split(self.images[index], self.labels[index])

    def batches(
        self, batch_size: int, mean, std, resolution: int | None = None, device: torch.device | None = None
    ) -> Iterator[tuple[torch.Tensor, np.ndarray]]:
        """(normalised float NCHW batch, labels) in order; the uint8 images move to ``device`` before they are converted."""
        for x, y in iterate_batches(self, batch_size):
            t = torch.from_numpy(x)
            yield to_tensor_batch(t if device is None else t.to(device), mean, std, resolution), y

    def digest(self, h) -> None:
        """Feed every image and label into the hash ``h`` (what fingerprints are made of)."""
        h.update(np.ascontiguousarray(self.images).data)
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)


def model_inputs(split: ImageSplit, mean, std, resolution: int, batch_size: int = 64) -> torch.Tensor:
    """All of ``split`` as one preprocessed float NCHW tensor (for the small sets parity and int8 calibration use)."""
    parts = [x for x, _ in split.batches(batch_size, mean, std, resolution)]
    return torch.cat(parts).contiguous() if parts else torch.empty(0, 3, resolution, resolution)


@dataclass
class Dataset:
    train: ImageSplit
    test: ImageSplit
    classes: tuple[str, ...]
    source: str  # human-readable description of the data copy
    test_name: str = "test"  # what the evaluated split is called in its layout ("val" for ImageNet folders)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the classes and every split's content: which data a measurement came from.

        In-memory splits hash their decoded images and labels; image-folder splits hash their
        file list and labels (see :meth:`ofa_dash.imagefolder.FolderSplit.digest`).
        """
        h = hashlib.sha256("|".join(self.classes).encode())
        self.train.digest(h)
        self.test.digest(h)
        return h.hexdigest()[:16]

    def split_holdout(self, holdout: int | None = None, seed: int = SPLIT_SEED) -> tuple[Split, Split]:
        """The fixed, seeded train/holdout split of the training set (45,000 / 5,000 for CIFAR-10).

        Smaller datasets hold out a tenth of their training images.
        """
        if holdout is None:
            holdout = min(HOLDOUT_SIZE, len(self.train) // 10)
        order = np.random.default_rng(seed).permutation(len(self.train))
        return self.train.subset(np.sort(order[holdout:])), self.train.subset(np.sort(order[:holdout]))


class HasClasses(Protocol):
    """A dataset or anything drawn from one (e.g. a calibration sample): what ``check_classes`` reads."""

    classes: tuple[str, ...]


def check_classes(data: HasClasses, space: SearchSpace) -> None:
    """Refuse a dataset whose classes are not the space's: its accuracy would be recorded as if it were.

    With class names (CIFAR-10) the dataset must hold exactly those classes, in
    that order (image folders sort their class folders, which gives CIFAR-10's
    order); without names, exactly ``space.n_classes`` of them.
    """
    got, names, what = tuple(data.classes), tuple(space.class_names), f"space {space.name!r}"
    if names and got != names:
        missing, extra = sorted(set(names) - set(got)), sorted(set(got) - set(names))
        detail = f"missing {missing}" if missing else ""
        detail += (", " if detail and extra else "") + (f"unexpected {extra}" if extra else "")
        raise DatasetError(
            f"the dataset's {len(got)} classes are not {what}'s {len(names)} classes ({detail or 'same names, other order'}); expected {list(names)}"
        )
    if not names and len(got) != space.n_classes:
        raise DatasetError(f"the dataset has {len(got)} classes, {what} has {space.n_classes} outputs")


def default_cache_dir() -> Path:
    return Path(os.environ.get("OFA_DASH_CACHE", Path.home() / ".cache" / "ofa-dash"))


def load_dataset(root: str | os.PathLike, cache_dir: str | os.PathLike | None = None, progress: Progress | None = None) -> Dataset:
    """Load CIFAR-10-like data from ``root`` (see the module doc for layouts), decoding once.

    ``progress(stage, done, total)`` hears how far the load is (stages and what
    they count: :data:`LOAD_STAGES`), so a page can show "decoding i of n images"
    instead of minutes of silence.
    """
    report = progress or _no_progress
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"dataset folder {str(root)!r} does not exist. {_HELP}")
    kind, sources = _detect(root)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    signature = hashlib.sha256("|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources).encode()).hexdigest()[:16]
    cache = cache_dir / f"dataset-{signature}.npz"
    if cache.exists():
        try:
            report("loading cache", 0, 1)
            with np.load(cache, allow_pickle=False) as z:
                return Dataset(
                    Split(z["train_x"], z["train_y"]),
                    Split(z["test_x"], z["test_y"]),
                    tuple(str(c) for c in z["classes"]),
                    str(z["source"]),
                )
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt below
    data = _decode_archive(root, sources[0], report) if kind == "archive" else _decode_folders(root, sources, report)
    try:
        with staged(cache) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                train_x=data.train.images,
                train_y=data.train.labels,
                test_x=data.test.images,
                test_y=data.test.labels,
                classes=np.array(data.classes),
                source=np.array(data.source),
            )
    except OSError:
        pass  # caching is an optimisation; an unwritable cache dir only costs time
    return data


def _detect(root: Path) -> tuple[str, list[Path]]:
    for candidate in (root / "cifar-10-python.tar.gz", root / "cifar-10-batches-py"):
        if candidate.exists():
            return "archive", [candidate]
    sources = []
    for split in ("train", "test"):
        folder, archive = root / split, root / f"{split}.zip"
        if folder.is_dir():
            sources.append(folder)
        elif archive.is_file():
            sources.append(archive)
        else:
            raise DatasetError(f"{str(root)!r} has no {split}/ folder or {split}.zip. {_HELP}")
    return "folders", sources


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's python batches and nothing else.

    A batch is a dict of bytes, lists of ints and bytes, and one uint8 numpy
    array; building that array is the only global the format needs. Any other
    global (the way a crafted pickle runs code) is refused before it is looked up.
    """

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: a CIFAR-10 batch holds only lists, bytes and a numpy array")
        return super().find_class(module, name)


def _load_batch(raw: bytes) -> dict:
    d = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(d, dict) or not isinstance(d.get(b"data"), np.ndarray) or d[b"data"].dtype != np.uint8:
        raise ValueError("not a dict with a uint8 'data' array")
    if not isinstance(d.get(b"labels"), list) or not all(isinstance(v, int) for v in d[b"labels"]):
        raise ValueError("'labels' is not a list of integers")
    return d


def _decode_archive(root: Path, source: Path, report: Progress = _no_progress) -> Dataset:
    decoded = 0

    def batches(names: list[str]) -> Split:
        nonlocal decoded
        xs, ys = [], []
        for name in names:
            raw = members[name]
            try:
                d = _load_batch(raw)
                xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                ys.append(np.asarray(d[b"labels"], dtype=np.int64))
            except Exception as exc:
                raise DatasetError(f"{name} in {source} is not a CIFAR-10 batch ({exc}). {_HELP}") from None
            decoded += len(ys[-1])
            report("decoding", decoded, total)
        return Split(np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys))

    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    members: dict[str, bytes] = {}
    try:
        report("reading", 0, len(names))
        if source.is_dir():
            for n in names:
                members[n] = (source / n).read_bytes()
                report("reading", len(members), len(names))
        else:
            with tarfile.open(source, "r:gz") as tar:
                for m in tar:  # streamed: members are reported as the archive is decompressed
                    base = m.name.rsplit("/", 1)[-1]
                    if base in names and m.isfile():
                        members[base] = tar.extractfile(m).read()
                        report("reading", len(members), len(names))
    except (OSError, tarfile.TarError) as exc:
        raise DatasetError(f"cannot read {source}: {exc}. {_HELP}") from None
    missing = [n for n in names if n not in members]
    if missing:
        raise DatasetError(f"{source} lacks {missing}. {_HELP}")
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    total = 10_000 * len(names)  # CIFAR-10's batches hold 10,000 images each; the count is only known once a batch is unpickled
    train, test = batches(names[:5]), batches(names[5:])
    if decoded != total:  # a smaller archive of the same format: the last report gives the true count
        report("decoding", decoded, decoded)
    return Dataset(train, test, classes, f"CIFAR-10 official python archive ({source.name})")


def _iter_image_files(source: Path, split: str) -> Iterator[tuple[str, str, bytes]]:
    """(class, name, bytes) for every image of one split folder or zip."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.suffix.lower() in _IMAGE_SUFFIXES and path.is_file():
                rel = path.relative_to(source).parts
                if len(rel) == 2:
                    yield rel[0], rel[1], path.read_bytes()
        return
    try:
        with zipfile.ZipFile(source) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                parts = [p for p in info.filename.split("/") if p]
                if info.is_dir() or Path(parts[-1]).suffix.lower() not in _IMAGE_SUFFIXES:
                    continue
                if parts[0] == split:
                    parts = parts[1:]
                if len(parts) == 2:
                    yield parts[0], parts[1], zf.read(info)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{source} is not a readable zip file ({exc}). {_HELP}") from None


def _decode_folders(root: Path, sources: list[Path], report: Progress = _no_progress) -> Dataset:
    from PIL import Image  # imported here: only image folders need Pillow

    splits = {}
    classes_seen: dict[str, list[str]] = {}
    read = 0
    for split, source in zip(("train", "test"), sources, strict=True):
        items = []
        for item in _iter_image_files(source, split):
            items.append(item)
            read += 1
            if read % DECODE_REPORT_EVERY == 0:
                report("reading", read, 0)
        if not items:
            raise DatasetError(f"{source} holds no images laid out as <class>/<image>. {_HELP}")
        classes_seen[split] = sorted({c for c, _, _ in items})
        splits[split] = items
    classes = classes_seen["train"]
    if classes_seen["test"] != classes:
        raise DatasetError(f"train classes {classes} differ from test classes {classes_seen['test']} in {root}")
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    total = sum(len(items) for items in splits.values())
    decoded = 0
    report("decoding", 0, total)
    for split, items in splits.items():
        images, labels = [], []
        size = None
        for cls, name, raw in progress(items, desc=f"decoding {split}", unit="img"):
            try:
                with Image.open(io.BytesIO(raw)) as im:
                    arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
            except Exception as exc:
                raise DatasetError(f"cannot decode {split}/{cls}/{name}: {exc}") from None
            if size is None:
                size = arr.shape
            elif arr.shape != size:
                raise DatasetError(
                    f"{split}/{cls}/{name} is {arr.shape[1]}x{arr.shape[0]}, other images are {size[1]}x{size[0]}; resize the dataset to one size first"
                )
            images.append(arr)
            labels.append(index[cls])
            decoded += 1
            if decoded % DECODE_REPORT_EVERY == 0 or decoded == total:
                report("decoding", decoded, total)
        out[split] = Split(np.stack(images), np.asarray(labels, dtype=np.int64))
    return Dataset(out["train"], out["test"], tuple(classes), f"image folders at {root.name}/ ({', '.join(s.name for s in sources)})")


def download_cifar10(
    dest: str | os.PathLike,
    url: str = CIFAR10_URL,
    checksum: str = CIFAR10_CHECKSUM,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch the CIFAR-10 archive into ``dest``: progress in bytes, checksum-verified, atomic.

    ``url`` may point at a mirror; ``checksum`` is ``ALGORITHM:HEX`` (default: the
    official archive's MD5). The bytes go to a temporary file beside the target and
    replace it only when they are complete and match the checksum: a short,
    damaged or failed download leaves nothing behind. Every failure is a
    :class:`DatasetError` with a one-line message. ``progress(received, total)``
    is called after every chunk (total None when the server does not say); an
    exception it raises (e.g. :class:`~ofa_dash.progress.Cancelled`) stops the
    download and, like any failure, leaves nothing behind.
    """
    algorithm, expected = parse_checksum(checksum)
    dest = Path(dest).expanduser()
    created = [p for p in (dest, *dest.parents) if not p.exists()]  # removed again if the download fails
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / CIFAR10_ARCHIVE
    if target.exists() and _digest(target, algorithm) == expected:
        return target
    try:
        return _download_into(target, url, algorithm, expected, timeout, progress)
    except BaseException:
        for folder in created:  # an empty dataset folder would look like a dataset to whoever reads it next
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _download_into(target: Path, url: str, algorithm: str, expected: str, timeout: float, progress: Callable[[int, int | None], None] | None) -> Path:
    by_hand = f"Download it by hand into {target.parent}, or pass --url with a mirror."
    try:
        with staged(target) as tmp:
            received, total = fetch_url(url, tmp, timeout, progress, desc="CIFAR-10")
            if total is not None and received != total:
                raise DatasetError(f"the download of {url} stopped after {received:,} of {total:,} bytes; nothing was kept. Try again. {by_hand}")
            got = _digest(tmp, algorithm)
            if got != expected:
                raise DatasetError(
                    f"the archive from {url} failed its {algorithm} check (got {got}, expected {expected}): damaged or not CIFAR-10; nothing was kept. {by_hand}"
                )
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"could not download {url}: HTTP {exc.code} {_one_line(exc.reason)}. {by_hand}") from None
    except urllib.error.URLError as exc:
        raise DatasetError(f"could not download {url}: {_one_line(exc.reason)} (offline or unreachable). {by_hand}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DatasetError(f"could not download {url}: {_one_line(exc) or type(exc).__name__}. {by_hand}") from None
    return target


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``ALGORITHM:HEX`` (e.g. ``md5:c58f...`` or ``sha256:...``) -> (algorithm, lower-case hex); a clear error otherwise."""
    algorithm, _, digest = checksum.partition(":")
    algorithm, digest = algorithm.strip().lower(), digest.strip().lower()
    if algorithm not in CHECKSUM_ALGORITHMS or not digest or any(c not in "0123456789abcdef" for c in digest):
        raise DatasetError(f"checksum {checksum!r} is not ALGORITHM:HEX with ALGORITHM one of {', '.join(CHECKSUM_ALGORITHMS)}, e.g. {CIFAR10_CHECKSUM}")
    size = hashlib.new(algorithm).digest_size
    if len(digest) != 2 * size:
        raise DatasetError(f"checksum {checksum!r}: a {algorithm} digest has {2 * size} hex digits, not {len(digest)}")
    return algorithm, digest


def fetch_url(url: str, out: Path, timeout: float, progress: Callable[[int, int | None], None] | None = None, desc: str = "download") -> tuple[int, int | None]:
    """Stream ``url`` into ``out`` with a byte progress bar labelled ``desc``; (bytes received, bytes announced or None).

    The caller writes ``out`` inside :func:`~ofa_dash.files.staged` and compares the two counts (a short download keeps nothing).
    """
    received = 0
    with open(out, "wb") as fh, urllib.request.urlopen(url, timeout=timeout) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with progress_bar(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024) as bar:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
                if progress is not None:
                    progress(received, total)
    return received, total


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- batches
def to_tensor_batch(images: np.ndarray | torch.Tensor, mean, std, resolution: int | None = None) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW (channels-last memory), resized to ``resolution``."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float().div_(255.0)
    if resolution is not None and x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x - m) / s).contiguous(memory_format=torch.channels_last)


def augment(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding and horizontal flip on a whole uint8 NHWC batch."""
    n, h, w, _ = images.shape
    padded = F.pad(images.permute(0, 3, 1, 2), (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]
    flip = torch.rand(n, generator=generator) < 0.5
    cols = torch.where(flip[:, None, None, None], cols.flip(-1), cols)
    batch_idx = torch.arange(n)[:, None, None, None]
    chan_idx = torch.arange(3)[None, :, None, None]
    # The draws come from a CPU generator (so a seed means the same crops on
    # any device); the gather itself runs wherever the images are.
    dev = images.device
    out = padded[batch_idx.to(dev), chan_idx.to(dev), rows.to(dev), cols.to(dev)]
    return out.permute(0, 2, 3, 1)


def iterate_batches(split: Split, batch_size: int, shuffle: bool = False, seed: int = 0, drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(len(split)) if shuffle else np.arange(len(split))
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for i in range(0, stop, batch_size):
        idx = order[i : i + batch_size]
        if shuffle:
            idx = np.sort(idx)
        yield split.images[idx], split.labels[idx]
