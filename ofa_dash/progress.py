"""Long work: progress bars (tqdm, quieter when output is not a terminal) and the exception that cancels it."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class Cancelled(Exception):
    """Raised when a ``cancel`` callback asks long work (evaluation, validation, a queued turn) to stop."""


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
