"""Reading exported TorchScript / state-dict / JSON config files back: their config, and the rebuilt network."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path

import torch

from ofa_dash.export.common import CONFIG_FORMAT
from ofa_dash.nn import StaticNet
from ofa_dash.space import Arch, get_space


def read_export_config(path: str | os.PathLike) -> dict:
    """The JSON config of an exported TorchScript file, state-dict file or config file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exported model {str(path)!r} not found")
    if path.suffix == ".json":
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not a JSON config: {exc}") from None
    else:
        config = _config_from_torch_file(path)
    if not isinstance(config, dict) or config.get("format") != CONFIG_FORMAT:
        raise ValueError(f"{path} is not an ofa-dash exported subnet (missing format tag {CONFIG_FORMAT!r})")
    return config


def _config_from_torch_file(path: Path) -> dict:
    blob = _load_state_file(path)
    if blob is not None:
        return json.loads(blob["config"])
    extra = {"ofa_dash_config.json": ""}
    try:
        _jit_load(path, extra)
    except Exception as exc:
        raise ValueError(f"{path} is neither an ofa-dash state-dict file nor a TorchScript file ({type(exc).__name__})") from None
    if not extra["ofa_dash_config.json"]:
        raise ValueError(f"{path} is a TorchScript file without an ofa-dash config")
    return json.loads(extra["ofa_dash_config.json"])


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips with a ``code/`` folder; ``torch.save`` files have none."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any("/code/" in n or n.endswith("constants.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _jit_load(path: Path, extra_files: dict | None = None):
    # torch 2.13 deprecates TorchScript in favour of torch.export; the format still loads and runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu", _extra_files=extra_files if extra_files is not None else {})


def _load_state_file(path: Path) -> dict | None:
    if _is_torchscript(path):
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a plain torch.save file (e.g. TorchScript): the caller tries that next
        return None
    return blob if isinstance(blob, dict) and blob.get("format") == CONFIG_FORMAT else None


def load_exported(path: str | os.PathLike) -> StaticNet:
    """Rebuild the :class:`StaticNet` from an exported state-dict file, TorchScript file, or JSON config."""
    path = Path(path)
    config = read_export_config(path)
    space = get_space(config["space"])
    arch = space.validate(Arch.from_dict(config["arch"]))
    if path.suffix == ".json":
        path = path.with_name(config.get("files", {}).get("state_dict", ""))
        if not path.is_file():
            raise FileNotFoundError(f"state-dict file {str(path)!r} named by the config not found")
    blob = _load_state_file(path)
    state = blob["state_dict"] if blob is not None else _jit_load(path).state_dict()
    net = StaticNet(space, arch)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not match subnet {arch.id} of space {space.name!r}: {str(exc).splitlines()[0]}") from None
    return net.eval()
