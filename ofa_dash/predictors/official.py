"""OFA's published files: their accuracy predictor, and fetching them for users who lack them.

- :class:`OfaPublishedPredictor`: OFA's published ImageNet accuracy predictor
  (``acc_predictor.pth``) for the w1.2 space, behind the same interface as the
  project's own fitted one.
- :func:`download_official`: the published files (accuracy predictor, Samsung
  Note10 latency tables) are reference data of the OFA authors and are not
  shipped with the project; ``python -m ofa_dash download-official DIR`` fetches
  them from the place the original OFA code downloads them from, into a folder
  laid out like ``../shared/ofa-official/`` (what ``--official DIR`` expects).
  Each file is written to a temporary name, checked (its size against what the
  server announced; the predictor loads as a state dict, a table parses as a
  layer -> {mean} mapping) and only then renamed into place.
  ``download-official DIR --weights NAME`` fetches OFA's published supernet
  checkpoint ``NAME`` (``SearchSpace.published_weights``; OFA's ``ofa_net`` reads it from
  ``<base>/ofa_nets/NAME``) into ``DIR/NAME``, checked by loading it into the space's
  supernet, where ``--official DIR`` finds it.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ofa_dash.checkpoints import OFA_PUBLISHED, load_ofa_published, load_tagged
from ofa_dash.data import fetch_url
from ofa_dash.files import staged
from ofa_dash.predictors.features import scatter_block_onehot
from ofa_dash.space import PUBLISHED_WEIGHTS, SearchSpace

OFA_PREDICTOR_FILE = "acc_predictor.pth"
OFA_PREDICTOR_URL = "https://raw.githubusercontent.com/han-cai/files/master/ofa/acc_predictor.pth"


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
        if not self.space.needs_official_files:
            # same input layout for every width, so only the space can say the w1.2 predictor does not apply
            raise ValueError(f"OFA's accuracy predictor was trained for its w1.2 space; space {self.space.name!r} does not use OFA's published files")
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
        scatter_block_onehot(self.space, g, x)
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
    state = load_tagged(path, "PyTorch state dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return {k: v.float() for k, v in state.items()}


def load_official_predictor(space: SearchSpace, official_dir: str | os.PathLike) -> OfaPublishedPredictor:
    return OfaPublishedPredictor(space, Path(official_dir) / OFA_PREDICTOR_FILE)


# =========================================================================== fetching the published files
OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/han-cai/files/master/ofa/"
NOTE10_RESOLUTIONS = (160, 176, 192, 208, 224)
OFFICIAL_FILES = (OFA_PREDICTOR_FILE, *(f"note10/{r}_lookup_table.yaml" for r in NOTE10_RESOLUTIONS))
WEIGHTS_REMOTE_DIR = "ofa_nets"  # where OFA's model zoo (ofa.model_zoo.ofa_net) fetches its checkpoints: <base>/ofa_nets/<name>


def remote_name(name: str) -> str:
    """The path of a published file under the base URL (a checkpoint lives in ``ofa_nets/``, the others where they lie locally)."""
    return f"{WEIGHTS_REMOTE_DIR}/{name}" if name in PUBLISHED_WEIGHTS else name


def weights_files(names: str | list[str]) -> tuple[str, ...]:
    """``--weights``: one published checkpoint name, several, or ``all``; a clear error naming the choices otherwise."""
    wanted = [names] if isinstance(names, str) else list(names)
    if "all" in wanted:
        return tuple(sorted(PUBLISHED_WEIGHTS))  # w1.0 (the smaller) first
    unknown = [n for n in wanted if n not in PUBLISHED_WEIGHTS]
    if unknown:
        raise ValueError(f"unknown published checkpoint(s) {unknown}; choose from {sorted(PUBLISHED_WEIGHTS)} or 'all'")
    return tuple(dict.fromkeys(wanted))


def check_official_file(path: Path, name: str) -> None:
    """Raise ``ValueError`` unless ``path`` is a usable copy of the published file ``name``."""
    if name in PUBLISHED_WEIGHTS:  # loads (weights_only) and converts into the space's supernet, every tensor checked
        space = PUBLISHED_WEIGHTS[name]
        try:
            load_ofa_published(path, space)
        except (ValueError, FileNotFoundError) as exc:
            raise ValueError(f"{name} is not a usable copy of {OFA_PUBLISHED} for space {space.name!r}: {str(exc).replace(str(path), 'the file')}") from None
        return
    if name == OFA_PREDICTOR_FILE:
        try:
            _ofa_mlp().load_state_dict(_load_state_dict(path))
        except RuntimeError as exc:
            raise ValueError(f"{name} does not match OFA's predictor: {str(exc).splitlines()[0]}") from None
        return
    import yaml

    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:
        raise ValueError(f"{name} is not YAML ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) and "mean" in v for v in data.values()):
        raise ValueError(f"{name} is not an OFA latency table (layer key -> {{count, mean, std}})")


def download_official(
    dest: str | os.PathLike,
    base_url: str = OFFICIAL_BASE_URL,
    files: tuple[str, ...] = OFFICIAL_FILES,
    force: bool = False,
    timeout: float = 60.0,
) -> dict[str, str]:
    """Fetch ``files`` into ``dest``; returns file -> 'downloaded' or 'present' (already there and valid).

    A failed file leaves no partial copy and no folder this call created; files fetched
    before the failure stay (they are complete and checked, so a rerun resumes).
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"{dest} exists and is not a folder")
    status: dict[str, str] = {}
    created: list[Path] = []
    try:
        for name in files:
            target = dest / name
            if target.is_file() and not force:
                try:
                    check_official_file(target, name)
                    status[name] = "present"
                    continue
                except ValueError:
                    pass  # a damaged copy is fetched again
            for folder in reversed(target.parents):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            url = base_url.rstrip("/") + "/" + remote_name(name)
            by_hand = f"Without internet, copy the files by hand into {dest} (layout: {', '.join(files)})"
            try:
                with staged(target) as tmp:  # removed unless complete and checked; a rerun starts the file again
                    received, total = fetch_url(url, tmp, timeout, desc=name)
                    if total is not None and received != total:
                        raise OSError(f"the download stopped after {received:,} of {total:,} bytes")
                    check_official_file(tmp, name)
            except ValueError as exc:
                reason = " ".join(str(exc).split())  # one line, whatever the loader said
                raise ValueError(f"the file from {url} is damaged or not what was asked for: {reason}; nothing was kept. {by_hand}") from None
            except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
                reason = " ".join(str(getattr(exc, "reason", None) or exc).split()) or type(exc).__name__
                raise ValueError(f"could not download {url}: {reason}; nothing was kept. {by_hand}") from None
            status[name] = "downloaded"
    except BaseException:
        for folder in reversed(created):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    return status
