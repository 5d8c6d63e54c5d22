"""OFA's published files (accuracy predictor, Samsung Note10 latency tables) for users who lack them.

They are reference data of the OFA authors and are not shipped with the project;
``python -m ofa_dash download-official DIR`` fetches them from the place the
original OFA code downloads them from, into a folder laid out like
``../shared/ofa-official/`` (what ``--official DIR`` expects). Each file is
written to a temporary name, checked (the predictor loads as a state dict, a
table parses as a layer -> {mean} mapping) and only then renamed into place.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ofa_dash.predictors import OFA_PREDICTOR_FILE

OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/han-cai/files/master/ofa/"
NOTE10_RESOLUTIONS = (160, 176, 192, 208, 224)
OFFICIAL_FILES = (OFA_PREDICTOR_FILE, *(f"note10/{r}_lookup_table.yaml" for r in NOTE10_RESOLUTIONS))


def check_official_file(path: Path, name: str) -> None:
    """Raise ``ValueError`` unless ``path`` is a usable copy of the published file ``name``."""
    if name == OFA_PREDICTOR_FILE:
        from ofa_dash.predictors import _load_state_dict, _ofa_mlp

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
    from ofa_dash.progress import progress_bar

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
            url = base_url.rstrip("/") + "/" + name
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                    total = int(resp.headers.get("Content-Length", 0) or 0) or None
                    with progress_bar(total=total, desc=name, unit="B", unit_scale=True) as bar:
                        while chunk := resp.read(1 << 16):
                            out.write(chunk)
                            bar.update(len(chunk))
                check_official_file(Path(tmp), name)
                os.replace(tmp, target)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise ValueError(
                    f"could not download {url}: {reason}. Without internet, copy the files by hand into {dest} (layout: {', '.join(files)})"
                ) from None
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            status[name] = "downloaded"
    except BaseException:
        for folder in reversed(created):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    return status
