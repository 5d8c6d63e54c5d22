"""Where the dashboard finds its inputs: the precomputed root, OFA's published files and the dataset.

All three come from environment variables (so tests, benchmarks and a
deployment can point the app elsewhere without touching the repo), with
defaults that fit this repository's checkout next to ``../shared``:

- ``OFA_DASH_PRECOMPUTED``: the precomputed root (default ``<repo>/precomputed``);
- ``OFA_DASH_OFFICIAL``: a folder laid out like ``../shared/ofa-official`` (default: that
  folder when it exists; OFA's files are never read from inside the repo);
- ``OFA_DASH_DATA``: a CIFAR-10 dataset root for live validation and export
  (default ``../shared/datasets/cifar10-jpeg`` when it exists, else ``data/cifar10``
  where ``download-data`` and the Subnet page's download button put the archive);
- ``OFA_DASH_IMAGENET``: an ImageNet-style folder (``train/`` and ``val/`` of class folders)
  for the spaces measured on ImageNet (``SearchSpace.data == "imagenet-folder"``: OFA's published ones).

The sidebar may override the last two per browser session.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ofa_dash.space import DATA_KINDS, SearchSpace, get_space
from ofa_dash.workspace import ENV_OFFICIAL, SpaceFolder, Workspace, default_root, supernet_candidates

REPO = Path(__file__).resolve().parent.parent.parent
ENV_DATA = DATA_KINDS["cifar10"].env
ENV_IMAGENET = DATA_KINDS["imagenet-folder"].env
DEFAULT_OFFICIAL = REPO.parent / "shared" / "ofa-official"
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "cifar10-jpeg"
# What a user without the dataset can run, and where it puts the archive (read by default when nothing else is set).
DOWNLOAD_DATA_COMMAND = "python -m ofa_dash download-data cifar10 data/cifar10"
DOWNLOAD_DATA_DIR = REPO / "data" / "cifar10"
# A mirror (and its checksum) for the dashboard's download button, set by whoever runs the server.
ENV_CIFAR10_URL = "OFA_DASH_CIFAR10_URL"
ENV_CIFAR10_CHECKSUM = "OFA_DASH_CIFAR10_CHECKSUM"
DOWNLOAD_OFFICIAL_COMMAND = "python -m ofa_dash download-official ../shared/ofa-official"


ENV_LOCAL = "OFA_DASH_LOCAL"
SHARED_MODE_NOTE = (
    "The dataset and OFA's files are set by whoever runs this server (OFA_DASH_DATA, OFA_DASH_OFFICIAL); "
    "visitors cannot point the server at other folders. A single user on their own machine can allow it with OFA_DASH_LOCAL=1."
)


def local_mode(environ: dict | None = None) -> bool:
    """Single-user mode (``OFA_DASH_LOCAL=1``): the sidebar may point the server at other folders.

    Off by default, so a dashboard others can reach never reads a path a visitor typed
    (a path is what made data execute, and what let a visitor probe which server folders exist).
    """
    env = os.environ if environ is None else environ
    return env.get(ENV_LOCAL, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    """Resolved input folders. ``official`` and ``data`` are None when absent (with the reason in ``notes``)."""

    precomputed: Path
    official: Path | None
    data: Path | None
    official_wanted: str  # what was asked for (shown when it does not exist)
    data_wanted: str
    imagenet: Path | None = None  # the ImageNet-style folder of the spaces measured on ImageNet
    imagenet_wanted: str = ""

    def data_for(self, space: SearchSpace | str) -> Path | None:
        """The dataset folder of ``space``'s kind of data (``SearchSpace.data``), or None when it is absent."""
        space = get_space(space) if isinstance(space, str) else space
        return getattr(self, _DATA_FIELDS[space.data][0])

    def data_wanted_for(self, space: SearchSpace | str) -> str:
        """What was asked for as ``space``'s dataset folder (named when it does not exist)."""
        space = get_space(space) if isinstance(space, str) else space
        return getattr(self, _DATA_FIELDS[space.data][1])

    def folder(self, space: SearchSpace | str) -> SpaceFolder:
        return Workspace(self.precomputed).space(space)

    def space_dir(self, space: SearchSpace | str) -> Path:
        return self.folder(space).path

    def supernet_candidates(self, space: SearchSpace | str) -> list[Path]:
        """Where the weights of ``space`` are looked for, in order: OFA's published file in ``official``
        (for a space that has one), then the precomputed folder (``workspace.supernet_candidates``, the CLI's order)."""
        space = get_space(space) if isinstance(space, str) else space
        return supernet_candidates(space, self.official, self.precomputed, environ={})  # official already holds OFA_DASH_OFFICIAL

    def supernet_path(self, space: SearchSpace | str) -> Path:
        """The first candidate that exists, else the precomputed one (named in "does not exist" messages)."""
        candidates = self.supernet_candidates(space)
        return next((p for p in candidates if p.is_file()), candidates[-1])

    def has_supernet(self, space: SearchSpace | str) -> bool:
        return self.supernet_path(space).is_file()


# Which Settings fields hold each kind of dataset (resolved path, what was asked for).
_DATA_FIELDS = {"cifar10": ("data", "data_wanted"), "imagenet-folder": ("imagenet", "imagenet_wanted")}


def _existing(path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path).expanduser()
    return p.resolve() if p.exists() else None


def resolve_settings(official: str | None = None, data: str | None = None, environ: dict | None = None) -> Settings:
    """Settings from explicit overrides (the sidebar), else the environment, else the defaults."""
    env = os.environ if environ is None else environ
    precomputed = default_root(env)
    official_wanted = official or env.get(ENV_OFFICIAL) or (str(DEFAULT_OFFICIAL) if DEFAULT_OFFICIAL.is_dir() else "")
    data_wanted = data or env.get(ENV_DATA) or next((str(d) for d in (DEFAULT_DATA, DOWNLOAD_DATA_DIR) if d.exists()), "")
    imagenet_wanted = env.get(ENV_IMAGENET, "")
    return Settings(
        precomputed=precomputed.resolve(),
        official=_existing(official_wanted),
        data=_existing(data_wanted),
        official_wanted=official_wanted,
        data_wanted=data_wanted,
        imagenet=_existing(imagenet_wanted),
        imagenet_wanted=imagenet_wanted,
    )


# --------------------------------------------------------------------------- paths on screen
# An absolute path: "/" then at least two name segments ("/srv/x", "/home/me/repo/precomputed/cifar10/runs").
# Not preceded by a name character, ":" or "/" (so "ms/subnet" and "http://host/page" are left alone).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+~-]+/)+[\w.@+~-]*")


def shown_path(path: str | os.PathLike | None, repo: Path = REPO) -> str:
    """How a path appears on a page: relative to the repository root, else just its last name.

    Absolute paths say where a server keeps its files (a visitor has no use for
    them, a projector shows them to a room) and are too long to read. Inside the
    repository the relative path says everything (``precomputed/cifar10/runs``);
    a sibling of the repository keeps the ``../`` form the README uses
    (``../shared/ofa-official``); anything else shows its folder or file name.
    """
    if path is None or str(path) == "":
        return ""
    p = Path(path).expanduser()
    if not p.is_absolute():
        return str(p)
    for base, prefix in ((repo, ""), (repo.parent, "../")):
        if base == Path(base.anchor):  # never relative to "/": that is the absolute path again
            continue
        try:
            rel = p.relative_to(base)
        except ValueError:
            continue
        return prefix + str(rel) if str(rel) != "." else (prefix.rstrip("/") or ".")
    return p.name or str(p)


def hide_absolute_paths(text: object, repo: Path = REPO) -> str:
    """``text`` with every absolute path in it replaced by :func:`shown_path` (messages from lower layers name files in full)."""
    return _ABSOLUTE_PATH.sub(lambda m: shown_path(m.group(0), repo), str(text))


def missing_data_message(settings: Settings, space: SearchSpace | None = None) -> str:
    """Markdown that says why live validation cannot run and how to get the data (CIFAR-10: exports calibrate on the shipped sample without it)."""
    if space is not None and not space.data_kind.downloadable:
        kind, wanted = space.data_kind, settings.data_wanted_for(space)
        where = f"`{shown_path(wanted)}` does not exist" if wanted else f"no folder is set: `{kind.env}` is empty"
        return (
            f"Validating and exporting **{space.name}** subnets needs an {kind.label} ({where}): {kind.layout}. "
            f"Start the app with `{kind.env}=DIR`; the CLI takes `--data DIR`. Nothing can download ImageNet for you "
            "(its licence asks each user to fetch it), and BN statistics are re-estimated on its training images, so without it "
            "this space can neither be validated nor exported here (`python -m ofa_dash export --no-calibration` writes the "
            "checkpoint's own BN statistics, labelled so)."
        )
    where = f"`{shown_path(settings.data_wanted)}` does not exist" if settings.data_wanted else "no dataset folder is set"
    return (
        f"Live validation needs the CIFAR-10 images ({where}). Get the official archive with\n\n"
        f"```bash\n{DOWNLOAD_DATA_COMMAND}\n```\n\n"
        f"then set the folder in the sidebar (**Settings → dataset folder**) or start the app with `{ENV_DATA}=data/cifar10`. "
        "An image-folder root with `train/` and `test/` (folders or zips of `<class>/<image>` files) works too."
    )


def data_download_target(settings: Settings) -> Path:
    """Where the dashboard's download puts CIFAR-10: the dataset folder this server was told to use
    (it does not exist yet), else ``data/cifar10`` in the repository, the folder the CLI command names
    and the one read by default afterwards."""
    return Path(settings.data_wanted).expanduser() if settings.data_wanted else DOWNLOAD_DATA_DIR


def missing_official_message(settings: Settings) -> str:
    where = f"`{shown_path(settings.official_wanted)}` does not exist" if settings.official_wanted else "no folder is set"
    return (
        f"OFA's published files (accuracy predictor, Samsung Note10 latency tables, specialized subnets) were not found ({where}). "
        f"Fetch them with `{DOWNLOAD_OFFICIAL_COMMAND}` (or copy them by hand), then set the folder in the sidebar "
        f"(**Settings → OFA official files**) or with `{ENV_OFFICIAL}=DIR`. Stored runs of this space are still shown with the values they recorded."
    )


def missing_supernet_message(settings: Settings, space: SearchSpace) -> str:
    """Markdown that says where the supernet weights of ``space`` were looked for and how to get them."""
    looked = " and ".join(f"`{shown_path(p)}`" for p in settings.supernet_candidates(space))
    text = f"Validation and export need the supernet weights of **{space.name}** (none at {looked}). "
    if space.trained_here:
        return text + f"Training publishes them with `python -m ofa_dash train --space {space.name} --data DIR`."
    if space.published_weights:
        return text + (
            f"Fetch {space.weights} with `python -m ofa_dash download-official DIR --weights {space.published_weights}`, "
            f"then set the folder in the sidebar (**Settings → OFA official files**) or start the app with `{ENV_OFFICIAL}=DIR`. "
            "Until then this space can be searched and compared but not validated or exported."
        )
    return text + f"{space.weights} is not available here, so this space can be searched and compared but not validated or exported."
