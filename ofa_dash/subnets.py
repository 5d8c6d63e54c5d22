"""A subnet ready to use: supernet weights found and loaded, subnet extracted, BN re-estimated.

Validation and export must hand the user the *same* network, so both get it
from :func:`prepare`: the same supernet file, the same 2,000 seeded training
images for BN recalibration, hence bit-identical weights. Recalibrated subnets
are cached on disk (keyed by supernet content, subnet id and the calibration
images), which makes "validate, then export" pay for recalibration once, even
across processes (CLI, dashboard).

``prepare(..., weights="finetuned")`` hands out a subnet's fine-tuned weights
(``finetune``'s result, stored beside the supernet) instead of the supernet's,
recalibrated on the same images; the default stays the supernet's weights,
which every validation, prediction and front of the dashboard refers to.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ofa_dash.calibration import Calibration, from_dataset
from ofa_dash.checkpoints import load_subnet_weights, load_weights, weights_version
from ofa_dash.data import Dataset, ImageSplit, check_classes, default_cache_dir
from ofa_dash.evaluate import BN_CALIB_IMAGES, calibration_indices, prepare_subnet, recalibrate_subnet
from ofa_dash.files import atomic_torch_save, file_sha256
from ofa_dash.nn import StaticNet, Supernet
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.workspace import ENV_OFFICIAL, SpaceFolder, Workspace, supernet_candidates

SUBNET_CACHE_ENTRIES = 16
WEIGHTS_CHOICES = ("supernet", "finetuned")  # where a prepared subnet's weights come from
_CACHE_FORMAT = "ofa-dash-recalibrated-subnet"


@dataclass
class Provenance:
    """Where a subnet's weights come from: every exported or measured figure carries this."""

    space: str
    arch_id: str
    arch: dict
    supernet_path: str | None
    supernet_version: str
    supernet_sha256: str | None
    bn_recalibrated: bool
    calib_images: int
    data: str | None  # the data copy used for BN recalibration (and evaluation)
    calibration: str | None = None  # which images BN was re-estimated on, in words (dataset draw or shipped sample)
    calibration_fingerprint: str | None = None  # their SHA-256 (16 hex): equal fingerprints, equal BN statistics
    weights: str = "supernet"  # "supernet" (extracted as trained) or "finetuned" (trained further as a static network)
    finetune: dict | None = None  # with fine-tuned weights: how they were made (from finetune.json) and their file's SHA-256

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PreparedSubnet:
    net: StaticNet  # eval mode, contiguous memory format
    space: SearchSpace
    arch: Arch
    provenance: Provenance
    calibration: Calibration | None = None  # the images BN was re-estimated on (int8 draws its activation ranges from them)


def default_supernet_path(space: SearchSpace) -> Path:
    return Workspace.default().space(space).supernet


def resolve_supernet_path(space: SearchSpace, path: str | os.PathLike | None, official: str | os.PathLike | None = None) -> Path:
    """The supernet weights file of ``space``: the one place that decides where it is.

    In order: ``path`` (``--supernet FILE``) when given; for a space with OFA's published
    weights, ``<official>/<published name>`` (``--official DIR``, else ``OFA_DASH_OFFICIAL``);
    then ``precomputed/<space>/supernet.pt``. A clear error naming every place looked at
    (and how to fetch OFA's file) when none holds it.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"supernet weights {str(p)!r} not found")
        return p
    candidates = supernet_candidates(space, official)
    found = next((p for p in candidates if p.is_file()), None)
    if found is not None:
        return found
    looked = ", ".join(repr(str(p)) for p in candidates)
    if space.published_weights:
        if official is None and not os.environ.get(ENV_OFFICIAL):
            looked += f" (no --official DIR given and {ENV_OFFICIAL} is not set)"
        how = (
            f"fetch OFA's checkpoint with `python -m ofa_dash download-official DIR --weights {space.published_weights}` "
            f"and pass --official DIR (or set {ENV_OFFICIAL}=DIR), or pass --supernet FILE"
        )
    else:
        how = f"train it (`python -m ofa_dash train --space {space.name} --data DIR`) or pass --supernet PATH to an ofa-dash checkpoint of this space"
    raise FileNotFoundError(f"space {space.name!r} has no supernet weights: looked at {looked}; {how}")


@dataclass
class LoadedSupernet:
    net: Supernet
    meta: dict
    path: Path
    sha256: str

    @property
    def version(self) -> str:
        """The weights' version from their metadata; unversioned weights are named by content hash."""
        return weights_version(self.meta, self.sha256)


_load_lock = threading.Lock()


def load_supernet(space: SearchSpace, path: str | os.PathLike | None = None, official: str | os.PathLike | None = None) -> LoadedSupernet:
    """Load (and keep in memory) the supernet of ``space`` (found by :func:`resolve_supernet_path`); reloaded when the file changes."""
    p = resolve_supernet_path(space, path, official).resolve()
    st = p.stat()
    with _load_lock:
        return _load_cached(space, str(p), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=2)
def _load_cached(space: SearchSpace, path: str, mtime_ns: int, size: int) -> LoadedSupernet:
    net, meta = load_weights(path, space)
    return LoadedSupernet(net, meta, Path(path), file_sha256(Path(path)))


def _calib_key(calib: ImageSplit, n_calib: int) -> str:
    idx = calibration_indices(len(calib), n_calib)
    h = hashlib.sha256()
    calib.subset(idx).digest(h)
    return h.hexdigest()[:16]


def _cache_path(sha: str, arch: Arch, calib_key: str, n_calib: int) -> Path:
    return default_cache_dir() / "subnets" / f"{sha[:16]}-{arch.id}-{arch.r}-{calib_key}-{n_calib}.pt"


def recalibrated_subnet(loaded: LoadedSupernet, arch: Arch, calib: ImageSplit, n_calib: int = BN_CALIB_IMAGES, use_cache: bool = True) -> StaticNet:
    """``prepare_subnet`` with an on-disk cache of the re-estimated weights."""
    space = loaded.net.space
    space.validate(arch)
    return _cached_recalibration(space, arch, loaded.sha256, calib, n_calib, use_cache, lambda: prepare_subnet(loaded.net, arch, calib, n_calib))


def _cached_recalibration(space: SearchSpace, arch: Arch, sha: str, calib: ImageSplit, n_calib: int, use_cache: bool, build) -> StaticNet:
    """The recalibrated subnet from the cache (keyed by the weights file's ``sha``), or ``build()``'s, then cached."""
    path = _cache_path(sha, arch, _calib_key(calib, n_calib), n_calib) if use_cache else None
    if path is not None and path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if blob.get("format") == _CACHE_FORMAT:
                net = StaticNet(space, arch)
                net.load_state_dict(blob["state_dict"])
                return net.eval()
        except Exception:  # a damaged cache entry is rebuilt below
            pass
    net = build().to(memory_format=torch.contiguous_format).eval()
    if path is not None:
        _write_cache(path, net)
    return net


def _write_cache(path: Path, net: StaticNet) -> None:
    try:
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        atomic_torch_save({"format": _CACHE_FORMAT, "state_dict": state}, path)
        entries = sorted(path.parent.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[SUBNET_CACHE_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # the cache only saves time


def prepare(
    space: SearchSpace,
    arch: Arch,
    supernet: str | os.PathLike | LoadedSupernet | None = None,
    data: Dataset | None = None,
    n_calib: int = BN_CALIB_IMAGES,
    use_cache: bool = True,
    calibration: Calibration | None = None,
    weights: str = "supernet",
) -> PreparedSubnet:
    """The subnet ``arch`` with its provenance; BN re-estimated when training images are given.

    The images are ``data``'s seeded calibration draw (``data`` wins when both are
    given), or ``calibration`` (e.g. the shipped sample: the same images, hence the
    same weights). Without either the
    supernet's own running statistics are kept (they fit the largest subnet best
    and smaller ones poorly); the provenance says so.

    ``weights="finetuned"`` takes the subnet's fine-tuned weights (see
    :func:`load_finetuned`) in place of the supernet's; a clear error when
    there are none, or when they were made from another supernet.
    """
    if weights not in WEIGHTS_CHOICES:
        raise ValueError(f"unknown weights {weights!r}; choose one of {list(WEIGHTS_CHOICES)}")
    space.validate(arch)
    loaded = supernet if isinstance(supernet, LoadedSupernet) else load_supernet(space, supernet)
    if loaded.net.space != space:
        raise ValueError(f"supernet {str(loaded.path)!r} is for space {loaded.net.space.name!r}, not {space.name!r}")
    if data is not None:
        check_classes(data, space)
        calibration = from_dataset(data, n_calib)
    tuned = load_finetuned(loaded, arch) if weights == "finetuned" else None
    if calibration is not None:
        check_classes(calibration, space)
    if tuned is not None and calibration is not None:
        build = lambda: recalibrate_subnet(tuned.net, space, arch, calibration.images, len(calibration))  # noqa: E731
        net = _cached_recalibration(space, arch, tuned.sha256, calibration.images, len(calibration), use_cache, build)
    elif tuned is not None:
        net = tuned.net.eval()
    elif calibration is not None:
        net = recalibrated_subnet(loaded, arch, calibration.images, len(calibration), use_cache)
    else:
        net = loaded.net.extract(arch).eval()
    prov = Provenance(
        space=space.name,
        arch_id=arch.id,
        arch=arch.to_dict(),
        supernet_path=str(loaded.path),
        supernet_version=loaded.version,
        supernet_sha256=loaded.sha256,
        bn_recalibrated=calibration is not None,
        calib_images=len(calibration) if calibration is not None else 0,
        data=data.source if data is not None else (calibration.source if calibration is not None else None),
        calibration=calibration.describe() if calibration is not None else None,
        calibration_fingerprint=calibration.fingerprint if calibration is not None else None,
        weights=weights,
        finetune=tuned.summary() if tuned is not None else None,
    )
    return PreparedSubnet(net, space, arch, prov, calibration)


@dataclass
class FinetunedWeights:
    """A subnet's fine-tuned weights as stored by ``finetune``, with the record of how they were made."""

    net: StaticNet
    record: dict  # finetune.json
    path: Path
    sha256: str

    def summary(self) -> dict:
        """What the provenance and the model card carry: the weights file and how it was made (not the per-epoch curve)."""
        keep = (
            "epochs",
            "steps",
            "hyperparameters",
            "seed",
            "top1_before",
            "top1_after",
            "test_images",
            "data",
            "hardware",
            "train_minutes",
            "wall_minutes",
            "finished",
        )
        return {"weights_path": str(self.path), "weights_sha256": self.sha256, **{k: self.record.get(k) for k in keep}}


def finetuned_folder(loaded: LoadedSupernet) -> SpaceFolder:
    """Where a supernet's fine-tuned subnets live: its own folder (``precomputed/<space>/finetuned/...`` for the shipped one).

    OFA's published checkpoint sits in a folder of OFA's files (``--official DIR``, perhaps shared
    or read-only); what is made from it goes to the space's precomputed folder, where the
    dashboard reads it (the records name the checkpoint's SHA-256, so nothing is mixed up).
    """
    space = loaded.net.space
    if space.published_weights and loaded.path.name == space.published_weights:
        return Workspace.default().space(space)
    return SpaceFolder(loaded.path.parent)


def load_finetuned(loaded: LoadedSupernet, arch: Arch) -> FinetunedWeights:
    """The fine-tuned weights of ``arch`` made from ``loaded``; a clear error when there are none or they come from other supernet weights."""
    folder = finetuned_folder(loaded)
    path, record = folder.finetuned_weights(arch.id), folder.read_finetune_record(arch.id)
    if not path.is_file() or record is None:
        raise FileNotFoundError(
            f"subnet {arch.id!r} of space {loaded.net.space.name!r} has no fine-tuned weights under {str(folder.finetuned(arch.id))!r}; "
            f"run `python -m ofa_dash finetune --space {loaded.net.space.name} --arch {arch.id} ...` first, or export the supernet's weights"
        )
    if record.get("supernet_sha256") != loaded.sha256:
        raise ValueError(
            f"the fine-tuned weights of {arch.id!r} were made from supernet version {record.get('supernet_version')!r} "
            f"(sha256 {str(record.get('supernet_sha256'))[:12]}), not from the supernet loaded now ({loaded.version}, sha256 {loaded.sha256[:12]}); fine-tune again"
        )
    sha = file_sha256(path)
    if record.get("weights_sha256") != sha:
        raise ValueError(f"{str(path)!r} is not the file its finetune.json describes (SHA-256 differs); fine-tune again")
    net, _ = load_subnet_weights(path, loaded.net.space, arch)
    return FinetunedWeights(net, record, path, sha)


def from_module(space: SearchSpace, arch: Arch, net: torch.nn.Module, version: str = "random-init", data: str | None = None) -> PreparedSubnet:
    """Wrap a subnet built elsewhere (e.g. random weights for a space without a checkpoint)."""
    space.validate(arch)
    prov = Provenance(space.name, arch.id, arch.to_dict(), None, version, None, False, 0, data)
    return PreparedSubnet(net.to(memory_format=torch.contiguous_format).eval(), space, arch, prov)
