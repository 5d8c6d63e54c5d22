"""Accuracy predictors behind one interface: genome array in, top-1 (%) array out.

The search evaluates accuracy only through a predictor, so every predictor
predicts a whole population in one call (a one-hot feature matrix and one
forward pass; no Python loop per architecture).
"""

from __future__ import annotations

import io
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ofa_dash.space import MAX_DEPTH, N_SLOTS, N_STAGES, SearchSpace

OFA_PREDICTOR_FILE = "acc_predictor.pth"
OFA_PREDICTOR_URL = "https://raw.githubusercontent.com/han-cai/files/master/ofa/acc_predictor.pth"


class AccuracyPredictor(Protocol):
    name: str
    version: str
    source: str  # shown next to every predicted figure

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted top-1 in percent, shape (n,)."""
        ...


def _active_mask(space: SearchSpace, g: np.ndarray) -> np.ndarray:
    """(n, 20) float32: 1 where the stage depth keeps the slot (``g`` already checked)."""
    depth = np.asarray(space.depth_choices)[g[:, 2 * N_SLOTS : 2 * N_SLOTS + N_STAGES]]
    return (np.tile(np.arange(MAX_DEPTH), N_STAGES)[None, :] < np.repeat(depth, MAX_DEPTH, axis=1)).astype(np.float32)


def _scatter_block_onehot(space: SearchSpace, g: np.ndarray, out: np.ndarray) -> None:
    # Write the kernel and expand one-hots straight into ``out[:, :120]``: one scatter per block
    # instead of an eye() gather, a mask multiply and a concatenate (the 100,000-genome hot path).
    n_k, n_e = len(space.kernel_choices), len(space.expand_choices)
    active = _active_mask(space, g)
    rows = np.arange(len(g))[:, None]
    out[rows, np.arange(N_SLOTS) * n_k + g[:, :N_SLOTS]] = active
    out[rows, N_SLOTS * n_k + np.arange(N_SLOTS) * n_e + g[:, N_SLOTS : 2 * N_SLOTS]] = active


def block_onehot(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """(n, 120) float32: kernel one-hot per slot (60) then expand one-hot per slot (60); inactive slots all zero."""
    g = space.check_genome(genomes)
    out = np.zeros((len(g), N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices))), dtype=np.float32)
    _scatter_block_onehot(space, g, out)
    return out


def n_onehot_features(space: SearchSpace) -> int:
    return N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices)) + len(space.resolutions)


def onehot_features(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Generic predictor input: :func:`block_onehot` plus a resolution one-hot over the space's resolutions."""
    g = space.check_genome(genomes)
    n_block = N_SLOTS * (len(space.kernel_choices) + len(space.expand_choices))
    out = np.zeros((len(g), n_onehot_features(space)), dtype=np.float32)
    _scatter_block_onehot(space, g, out)
    out[np.arange(len(g)), n_block + g[:, -1]] = 1.0
    return out


def _ofa_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(128, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 1))


@dataclass
class OfaPublishedPredictor:
    """OFA's published ImageNet predictor for the w1.2 space (``acc_predictor.pth``).

    Its input puts the resolution one-hot at ``120 + (r - 112) // 16`` (8
    positions for 112..224), so it is only defined for spaces whose
    resolutions fall on that grid.
    """

    space: SearchSpace
    path: Path
    name: str = "ofa-published"
    version: str = "ofa-acc-predictor-w1.2"
    source: str = "OFA's published ImageNet accuracy predictor"
    model: nn.Module = field(init=False, repr=False)

    def __post_init__(self) -> None:
        bad = [r for r in self.space.resolutions if r < 112 or r > 224 or (r - 112) % 16]
        if bad:
            raise ValueError(f"OFA's predictor encodes resolutions 112..224 in steps of 16; space {self.space.name!r} has {bad}")
        self.model = _ofa_mlp()
        state = _load_state_dict(self.path)
        try:
            self.model.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{self.path} does not match OFA's predictor (Linear 128-400-400-400-1): {str(exc).splitlines()[0]}") from None
        self.model.eval()
        self._res_pos = 120 + (np.asarray(self.space.resolutions) - 112) // 16

    def features(self, genomes: np.ndarray) -> np.ndarray:
        """(n, 128) float32 in OFA's layout (see ``../shared/ofa-official/README.md``)."""
        g = self.space.check_genome(genomes)
        x = np.zeros((len(g), 128), dtype=np.float32)
        _scatter_block_onehot(self.space, g, x)
        x[np.arange(len(g)), self._res_pos[g[:, -1]]] = 1.0
        return x

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.features(genomes))
        with torch.inference_mode():
            return self.model(x).squeeze(1).double().numpy() * 100.0


def _load_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"OFA's accuracy predictor {str(path)!r} not found; pass --official DIR with {OFA_PREDICTOR_FILE} in it, "
            f"or fetch it with `python -m ofa_dash download-official DIR`"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable PyTorch state dict ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return {k: v.float() for k, v in state.items()}


def load_official_predictor(space: SearchSpace, official_dir: str | os.PathLike) -> OfaPublishedPredictor:
    return OfaPublishedPredictor(space, Path(official_dir) / OFA_PREDICTOR_FILE)


# =========================================================================== the project's own predictor
# A fitted predictor is a torch module over :func:`onehot_features` that returns top-1 in percent,
# saved as ``precomputed/<space>/predictor.pt``: a dict of plain tensors, strings and ints (loadable
# with ``weights_only=True``) whose JSON metadata says how it was fitted and how good it is.

PREDICTOR_FILE = "predictor.pt"
PREDICTOR_FORMAT = "ofa-dash-predictor"
PREDICTOR_FORMAT_VERSION = 1
FEATURES_NAME = "onehot_features"


def feature_spec(space: SearchSpace) -> dict:
    """What a fitted model's input columns mean; a saved predictor is refused for a space whose spec differs."""
    return {
        "name": FEATURES_NAME,
        "n_features": n_onehot_features(space),
        "slots": N_SLOTS,
        "kernel_choices": list(space.kernel_choices),
        "expand_choices": list(space.expand_choices),
        "resolutions": list(space.resolutions),
    }


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

    ``meta`` carries the fit's provenance and quality (see ``predictor_fit.fit_predictor``).
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
    from ofa_dash.store import atomic_write_bytes

    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _read_predictor_blob(path: Path, space: SearchSpace) -> tuple[dict, dict]:
    """(blob, meta) of a saved predictor after every check that needs no model."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no fitted accuracy predictor at {str(path)!r}; measure subnets with `python -m ofa_dash measure --space {space.name} ...` "
            f"and fit one with `python -m ofa_dash fit-predictor --space {space.name}`"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path} is not a readable ofa-dash predictor ({type(exc).__name__}: {exc})") from None
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
    if meta.get("features") != feature_spec(space):
        raise ValueError(
            f"{path} was fitted on features {meta.get('features')}, but space {space.name!r} now gives {feature_spec(space)}; refit with `fit-predictor`"
        )
    return blob, meta


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
    """Where the space's fitted predictor lives.

    ``precomputed_dir`` is the ``precomputed/`` root (the file is ``<root>/<space>/predictor.pt``);
    a space's own folder (``precomputed/cifar10``) is accepted too, since callers hold either.
    """
    root = Path(precomputed_dir) if precomputed_dir is not None else _default_precomputed()
    nested = root / space.name / PREDICTOR_FILE
    if not nested.is_file() and root.name == space.name:
        return root / PREDICTOR_FILE
    return nested


def _default_precomputed() -> Path:
    from ofa_dash.commands.common import PRECOMPUTED

    return PRECOMPUTED


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
        from ofa_dash.space import get_space

        space = get_space(space)
    path = predictor_path(space, precomputed_dir)
    if path.is_file():
        return load_fitted_predictor(path, space)
    if official_dir is not None:
        return load_official_predictor(space, official_dir)
    raise FileNotFoundError(
        f"no accuracy predictor for space {space.name!r}: {str(path)!r} does not exist and no --official DIR was given "
        f"(fit one with `python -m ofa_dash fit-predictor --space {space.name}`, or pass --official DIR holding OFA's {OFA_PREDICTOR_FILE})"
    )


def predictor_report(
    space: SearchSpace | str,
    precomputed_dir: str | os.PathLike | None = None,
    official_dir: str | os.PathLike | None = None,
) -> dict:
    """Quality figures of the predictor ``load_predictor`` would pick, for ``report`` (no model is built).

    Keys: ``rmse``, ``kendall_tau``, ``n_measured`` (None for OFA's published predictor, whose
    quality the project cannot measure), plus ``name``, ``source``, ``model``, ``n_train``,
    ``n_test``, ``comparison``, ``supernet_version``, ``fitted``, ``path``.
    Raises ``FileNotFoundError`` when the space has no predictor at all.
    """
    if isinstance(space, str):
        from ofa_dash.space import get_space

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
        }
    if official_dir is not None:
        pred = load_official_predictor(space, official_dir)
        return {
            "name": pred.name,
            "source": pred.source,
            "path": str(pred.path),
            "model": "OFA MLP 128-400-400-400-1",
            "rmse": None,
            "kendall_tau": None,
            "n_measured": None,
        }
    raise FileNotFoundError(f"no accuracy predictor for space {space.name!r}: {str(path)!r} does not exist and no official dir was given")
