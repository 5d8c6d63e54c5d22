"""Progress bars for long work (tqdm), quieter when output is not a terminal."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def _defaults(kwargs: dict) -> dict:
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.2 if interactive else 30.0)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", interactive)
    return kwargs


def progress(iterable, **kwargs):
    return tqdm(iterable, **_defaults(kwargs))


def progress_bar(**kwargs) -> tqdm:
    return tqdm(**_defaults(kwargs))
