"""CLI subcommands, one module each; every module exposes ``register(subparsers)``.

A module adds its parser with ``set_defaults(func=...)``; the function takes the
parsed arguments and returns an exit code. Errors meant for the user are raised
as ``ValueError`` / ``FileNotFoundError`` and printed by ``ofa_dash.cli`` as
one clear line (exit code 2).
"""

import importlib
import pkgutil


def register_all(subparsers) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
