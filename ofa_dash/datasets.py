"""Which loader reads a space's dataset: a registry keyed by ``SearchSpace.data`` (the space's :class:`~ofa_dash.space.DataKind`).

Commands, validation and the dashboard's jobs call :func:`load_for_space`
instead of choosing a loader themselves, so a new dataset kind is one entry
here and one in ``space.DATA_KINDS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ofa_dash.data import Dataset, DatasetError, Progress, check_classes, load_dataset
from ofa_dash.imagefolder import load_image_folder
from ofa_dash.space import SearchSpace

Loader = Callable[..., Dataset]  # (root, cache_dir=None, progress=None) -> Dataset

LOADERS: dict[str, Loader] = {
    "cifar10": load_dataset,
    "imagenet-folder": load_image_folder,
}


def load_for_space(space: SearchSpace, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None, progress: Progress | None = None) -> Dataset:
    """The dataset at ``root`` read as ``space``'s kind, refused (one clear line) when its classes are not the space's."""
    data = LOADERS[space.data](root, cache_dir=cache_dir, progress=progress)
    check_classes(data, space)
    return data


__all__ = ["LOADERS", "DatasetError", "load_for_space"]
