"""The project's own accuracy predictor, and the choice of predictor a space's objectives use.

A fitted predictor is a torch module over :func:`~ofa_dash.predictors.features.onehot_features`
that returns top-1 in percent, saved as ``precomputed/<space>/predictor.pt``: a dict of plain
tensors, strings and ints (loadable with ``weights_only=True``) whose JSON metadata says how it
was fitted and how good it is. :func:`load_predictor` picks it when it exists and OFA's published
predictor (:mod:`ofa_dash.predictors.official`) otherwise.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ofa_dash.checkpoints import load_tagged, state_sha256, verify_state
from ofa_dash.files import atomic_torch_save
from ofa_dash.predictors.features import AccuracyPredictor, feature_spec, onehot_features
from ofa_dash.predictors.intervals import interval_of
from ofa_dash.predictors.official import OFA_PREDICTOR_FILE, load_official_predictor
from ofa_dash.space import SearchSpace, get_space
from ofa_dash.workspace import Workspace

PREDICTOR_FILE = "predictor.pt"
PREDICTOR_FORMAT = "ofa-dash-predictor"
PREDICTOR_FORMAT_VERSION = 1


def build_mlp(sizes: list[int]) -> nn.Sequential:
    """``Sequential(Linear, ReLU, ..., Linear)`` through ``sizes`` (``[n_in, 1]`` is a linear model)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def build_model(spec: dict) -> nn.Module:
    """The (untrained) module a saved ``model`` spec describes.

    Every candidate ``fit-predictor`` compares ends as a plain ReLU MLP (ridge is one linear
    layer, gradient-boosted trees become one hidden unit per distinct leaf), so one file
    format and one fast inference path serve whichever model wins.
    """
    kind = spec.get("type")
    if kind == "mlp":
        return build_mlp([int(v) for v in spec["sizes"]])
    raise ValueError(f"unknown predictor model type {kind!r}; this version reads 'mlp'")


@dataclass
class FittedPredictor:
    """The project's own predictor: a fitted model over :func:`onehot_features` -> holdout top-1 (%).

    ``meta`` carries the fit's provenance and quality (see :func:`ofa_dash.predictors.fit.fit_predictor`).
    """

    space: SearchSpace
    model: nn.Module
    meta: dict
    name: str = field(init=False)  # the rest are derived from ``meta``
    version: str = field(init=False)
    source: str = field(init=False)

    def __post_init__(self) -> None:
        self.model.eval()
        m = self.meta
        self.name = f"ofa-dash-{m.get('model_name', 'predictor')}"
        self.version = f"{m.get('supernet_version', 'unknown supernet')} / fitted {m.get('fitted', '?')}"
        quality = ""
        if m.get("rmse") is not None and m.get("kendall_tau") is not None:
            quality = f"; held-out RMSE {m['rmse']:.2f} points, Kendall tau {m['kendall_tau']:.3f}"
        self.source = f"ofa-dash {m.get('model_name', 'model')} fitted on {m.get('n_train', '?')} of {m.get('n_measured', '?')} measured subnets{quality}"

    @property
    def interval(self) -> dict | None:
        """The calibrated accuracy interval (``level``, ``half_width``, measured ``coverage``), None in files fitted before intervals."""
        return interval_of(self.meta)

    def features(self, genomes: np.ndarray) -> np.ndarray:
        return onehot_features(self.space, genomes)

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted holdout top-1 (%), shape (n,): one feature matrix, one forward pass."""
        x = torch.from_numpy(self.features(genomes))
        with torch.inference_mode():
            return self.model(x).squeeze(1).double().numpy()


def save_predictor(predictor: FittedPredictor, path: str | os.PathLike) -> Path:
    """Write ``predictor`` atomically (temp file + rename), so a reader never sees half a file."""
    path = Path(path)
    blob = {
        "format": PREDICTOR_FORMAT,
        "version": PREDICTOR_FORMAT_VERSION,
        "space": predictor.space.name,
        "meta": json.dumps(predictor.meta),
        "state_dict": {k: v.detach().clone() for k, v in predictor.model.state_dict().items()},
    }
    atomic_torch_save({**blob, "state_sha256": state_sha256(blob["state_dict"])}, path)
    return path


def _read_predictor_blob(path: Path, space: SearchSpace) -> tuple[dict, dict]:
    """(blob, meta) of a saved predictor after every check that needs no model."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no fitted accuracy predictor at {str(path)!r}; measure subnets with `python -m ofa_dash measure --space {space.name} ...` "
            f"and fit one with `python -m ofa_dash fit-predictor --space {space.name}`"
        )
    blob = load_tagged(path, "ofa-dash predictor")
    if not isinstance(blob, dict) or blob.get("format") != PREDICTOR_FORMAT:
        raise ValueError(f"{path} is not an ofa-dash predictor file (missing format tag {PREDICTOR_FORMAT!r})")
    if blob.get("version") != PREDICTOR_FORMAT_VERSION:
        raise ValueError(f"{path} has predictor format version {blob.get('version')!r}; this version reads {PREDICTOR_FORMAT_VERSION}")
    if blob.get("space") != space.name:
        raise ValueError(f"{path} holds a predictor for space {blob.get('space')!r}, not {space.name!r}")
    try:
        meta = json.loads(blob.get("meta", ""))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} has unreadable metadata: {exc}") from None
    verify_state(blob.get("state_dict", {}), blob.get("state_sha256"), path)
    if meta.get("features") != feature_spec(space):
        raise ValueError(
            f"{path} was fitted on features {meta.get('features')}, but space {space.name!r} now gives {feature_spec(space)}; refit with `fit-predictor`"
        )
    return blob, meta


def predictor_meta(path: str | os.PathLike, space: SearchSpace) -> dict:
    """The metadata of a saved predictor (how it was fitted, its held-out ``test_ids``), checked like a load but building no model."""
    return _read_predictor_blob(Path(path), space)[1]


def load_fitted_predictor(path: str | os.PathLike, space: SearchSpace) -> FittedPredictor:
    """A saved :class:`FittedPredictor`; clear errors for a missing, foreign or mismatched file."""
    path = Path(path)
    blob, meta = _read_predictor_blob(path, space)
    model = build_model(meta.get("model", {}))
    try:
        model.load_state_dict(blob["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: weights do not match the model it describes ({str(exc).splitlines()[0]})") from None
    return FittedPredictor(space, model, meta)


def predictor_path(space: SearchSpace, precomputed_dir: str | os.PathLike | None = None) -> Path:
    """Where the space's fitted predictor lives: ``<root>/<space>/predictor.pt`` (``precomputed_dir`` is the root)."""
    return Workspace.at(precomputed_dir).space(space).predictor


def load_predictor(
    space: SearchSpace | str,
    official_dir: str | os.PathLike | None = None,
    precomputed_dir: str | os.PathLike | None = None,
) -> AccuracyPredictor:
    """The accuracy predictor a space's objectives use.

    The space's own fitted predictor (``precomputed/<space>/predictor.pt``) when it exists;
    otherwise, with ``official_dir``, OFA's published one (which checks that it fits the space).
    """
    if isinstance(space, str):
        space = get_space(space)
    path = predictor_path(space, precomputed_dir)
    if path.is_file():
        return load_fitted_predictor(path, space)
    if official_dir is not None and space.needs_official_files:
        return load_official_predictor(space, official_dir)
    if not space.needs_official_files:  # OFA published a predictor for its w1.2 space only
        raise FileNotFoundError(
            f"no accuracy predictor for space {space.name!r}: {str(path)!r} does not exist and OFA published none for this space "
            f"(fit one with `python -m ofa_dash fit-predictor --space {space.name}`)"
        )
    raise FileNotFoundError(
        f"no accuracy predictor for space {space.name!r}: {str(path)!r} does not exist and no --official DIR was given "
        f"(fit one with `python -m ofa_dash fit-predictor --space {space.name}`, or pass --official DIR holding OFA's {OFA_PREDICTOR_FILE})"
    )


def _interval_fields(meta: dict) -> dict:
    """``interval`` (level and measured coverage first) and, when there is none, ``interval_note`` saying why."""
    found = interval_of(meta)
    if found is None and "interval" in meta:
        return {
            "interval": None,
            "interval_note": f"only {meta.get('n_test', '?')} held-out subnets: too few to calibrate an interval and measure its coverage",
        }
    if found is None:
        return {
            "interval": None,
            "interval_note": "this predictor file was fitted before calibrated intervals; add one with `fit-predictor --calibrate-only`",
        }
    keys = ("level", "coverage", "half_width", "n_calibration", "folds", "tolerance", "method")
    return {"interval": {k: found[k] for k in keys if k in found}}


def predictor_report(
    space: SearchSpace | str,
    precomputed_dir: str | os.PathLike | None = None,
    official_dir: str | os.PathLike | None = None,
) -> dict:
    """Quality figures of the predictor ``load_predictor`` would pick, for ``report`` (no model is built).

    Keys: ``rmse``, ``kendall_tau``, ``n_measured`` (None for OFA's published predictor, whose
    quality the project cannot measure), plus ``name``, ``source``, ``model``, ``n_train``,
    ``n_test``, ``comparison``, ``supernet_version``, ``fitted``, ``path``, and ``interval``:
    ``{"level": 80, "coverage": <measured %>, "half_width": ..., ...}`` (a contract other tools
    read), or None with the reason in ``interval_note``.
    Raises ``FileNotFoundError`` when the space has no predictor at all.
    """
    if isinstance(space, str):
        space = get_space(space)
    path = predictor_path(space, precomputed_dir)
    if path.is_file():
        _, meta = _read_predictor_blob(path, space)
        return {
            "name": f"ofa-dash-{meta.get('model_name', 'predictor')}",
            "source": "fitted by ofa-dash on measured subnets (holdout top-1)",
            "path": str(path),
            "model": meta.get("model_name"),
            "rmse": meta.get("rmse"),
            "kendall_tau": meta.get("kendall_tau"),
            "n_measured": meta.get("n_measured"),
            "n_train": meta.get("n_train"),
            "n_test": meta.get("n_test"),
            "comparison": meta.get("comparison", []),
            "supernet_version": meta.get("supernet_version"),
            "fitted": meta.get("fitted"),
            **_interval_fields(meta),
        }
    if official_dir is not None and space.needs_official_files:
        pred = load_official_predictor(space, official_dir)
        return {
            "name": pred.name,
            "source": pred.source,
            "path": str(pred.path),
            "model": "OFA MLP 128-400-400-400-1",
            "rmse": None,
            "kendall_tau": None,
            "n_measured": None,
            "interval": None,
            "interval_note": "OFA's published predictor comes with no held-out subnets, so it has no calibrated interval",
        }
    why = "no official dir was given" if space.needs_official_files else "OFA published none for this space"
    raise FileNotFoundError(f"no accuracy predictor for space {space.name!r}: {str(path)!r} does not exist and {why}")
