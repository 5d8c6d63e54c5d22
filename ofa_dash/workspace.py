"""The on-disk layout of the precomputed artefacts: one owner for every path under ``precomputed/``.

``precomputed/<space>/`` holds what the dashboard and the CLI load by
default: the trained supernet and its teacher, the training manifest and
log, the measured subnets, the fitted predictor, live-validation records,
the device profiles, the search runs, the BN calibration sample and the
fine-tuned subnets (``finetuned/<arch id>/``). :class:`Workspace` is the root
(``OFA_DASH_PRECOMPUTED`` or the repository's ``precomputed/``);
:class:`SpaceFolder` is one space's folder. Nothing else spells these names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ofa_dash.space import SearchSpace

ENV_PRECOMPUTED = "OFA_DASH_PRECOMPUTED"
ENV_OFFICIAL = "OFA_DASH_OFFICIAL"  # a folder of OFA's published files (predictor, Note10 tables, checkpoints)
REPO_PRECOMPUTED = Path(__file__).resolve().parent.parent / "precomputed"

SUPERNET_FILE = "supernet.pt"
TEACHER_FILE = "teacher.pt"
TRAIN_MANIFEST_FILE = "train_manifest.json"
TRAIN_LOG_FILE = "train_log.jsonl"
MEASURED_FILE = "measured.parquet"
PREDICTOR_FILE = "predictor.pt"
MEASUREMENTS_FILE = "measurements.jsonl"
CALIBRATION_FILE = "calibration.npz"
RUNS_DIR = "runs"
DEVICES_DIR = "devices"
FINETUNED_DIR = "finetuned"
FINETUNED_WEIGHTS_FILE = "weights.pt"
FINETUNE_RECORD_FILE = "finetune.json"
FINETUNE_CHECKPOINT_FILE = "checkpoint.pt"
PROFILE_SUFFIX = ".json"
SHORTLIST_FILE = "shortlist.json"


def default_root(environ: dict | None = None) -> Path:
    """``OFA_DASH_PRECOMPUTED`` when set, else the repository's ``precomputed/``."""
    env = os.environ if environ is None else environ
    return Path(env.get(ENV_PRECOMPUTED) or REPO_PRECOMPUTED).expanduser()


def supernet_candidates(
    space: SearchSpace, official: str | os.PathLike | None = None, root: str | os.PathLike | None = None, environ: dict | None = None
) -> list[Path]:
    """Where the supernet weights of ``space`` are looked for when no file is named, in order.

    For a space with OFA's published weights: ``<official>/<published name>``, the folder
    being ``official`` (``--official DIR``) or else ``OFA_DASH_OFFICIAL``; then, for every
    space, ``<root>/<space>/supernet.pt`` (``root``: the precomputed root, default
    :func:`default_root`). The paths may not exist.
    """
    env = os.environ if environ is None else environ
    out = []
    folder = official or env.get(ENV_OFFICIAL)
    if space.published_weights and folder:
        out.append(Path(folder).expanduser() / space.published_weights)
    out.append(Workspace(Path(root) if root is not None else default_root(env)).space(space).supernet)
    return out


@dataclass(frozen=True)
class SpaceFolder:
    """One space's artefacts (``<root>/<space>/``); the paths exist or not, nothing is created here."""

    path: Path

    @property
    def supernet(self) -> Path:
        return self.path / SUPERNET_FILE

    @property
    def teacher(self) -> Path:
        return self.path / TEACHER_FILE

    @property
    def train_manifest(self) -> Path:
        return self.path / TRAIN_MANIFEST_FILE

    @property
    def train_log(self) -> Path:
        return self.path / TRAIN_LOG_FILE

    @property
    def measured(self) -> Path:
        return self.path / MEASURED_FILE

    @property
    def predictor(self) -> Path:
        return self.path / PREDICTOR_FILE

    @property
    def measurements(self) -> Path:
        return self.path / MEASUREMENTS_FILE

    @property
    def calibration(self) -> Path:
        """The shipped BN calibration sample (``ofa_dash.calibration``): exports re-estimate BN on it without the dataset."""
        return self.path / CALIBRATION_FILE

    @property
    def runs(self) -> Path:
        return self.path / RUNS_DIR

    @property
    def shortlist(self) -> Path:
        """``shortlist.json``: the subnets pinned with a note (``ofa_dash.shortlist``)."""
        return self.path / SHORTLIST_FILE

    @property
    def devices(self) -> Path:
        return self.path / DEVICES_DIR

    def profile(self, device: str) -> Path:
        return self.devices / f"{device}{PROFILE_SUFFIX}"

    def finetuned(self, arch_id: str) -> Path:
        """The folder of one fine-tuned subnet (``finetuned/<arch id>/``): weights, record and, while unfinished, its checkpoint."""
        if not arch_id or "/" in arch_id or arch_id.startswith("."):
            raise ValueError(f"{arch_id!r} is not a subnet id")
        return self.path / FINETUNED_DIR / arch_id

    def finetuned_weights(self, arch_id: str) -> Path:
        return self.finetuned(arch_id) / FINETUNED_WEIGHTS_FILE

    def finetune_record(self, arch_id: str) -> Path:
        """``finetune.json``: how the fine-tuned weights were made (hyper-parameters, before/after top-1, curve)."""
        return self.finetuned(arch_id) / FINETUNE_RECORD_FILE

    def finetune_checkpoint(self, arch_id: str) -> Path:
        """The resumable state of an interrupted fine-tune; removed when it finishes."""
        return self.finetuned(arch_id) / FINETUNE_CHECKPOINT_FILE

    def read_finetune_record(self, arch_id: str) -> dict | None:
        """What a finished fine-tune recorded; None where the subnet was never fine-tuned (or the record is unreadable)."""
        try:
            record = json.loads(self.finetune_record(arch_id).read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def read_train_manifest(self) -> dict | None:
        """What training published (phases, minutes, recipe); None where nothing was trained here."""
        try:
            return json.loads(self.train_manifest.read_text())
        except (OSError, ValueError):
            return None

    def supernet_version(self) -> str | None:
        """The version training published in ``train_manifest.json``; None where there is none."""
        manifest = self.read_train_manifest()
        return manifest.get("supernet_version") if isinstance(manifest, dict) else None


@dataclass(frozen=True)
class Workspace:
    """The precomputed root. ``Workspace.default()`` honours ``OFA_DASH_PRECOMPUTED``."""

    root: Path

    @classmethod
    def default(cls) -> Workspace:
        return cls(default_root())

    @classmethod
    def at(cls, root: str | os.PathLike | None) -> Workspace:
        """The given root, or the default one when ``root`` is None."""
        return cls.default() if root is None else cls(Path(root).expanduser())

    def space(self, space: SearchSpace | str) -> SpaceFolder:
        return SpaceFolder(self.root / (space if isinstance(space, str) else space.name))

    def contains(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` lies under this root (after resolving links), e.g. to refuse overwriting a shipped file."""
        try:
            Path(path).expanduser().resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True
