"""The "Profile a browser" page's parts: serving onnxruntime-web and the models, and saving what the browser measured.

Everything reaches the visitor's browser through the dashboard's own server,
as two Streamlit components (v1, ``declare_component(path=...)``; their
route serves any file of the folder, ``.wasm`` as ``application/wasm`` and
``.mjs`` as JavaScript):

- ``browser_profiler``: ``web/`` (``index.html``, ``profiler.js`` and the
  npm-installed ``node_modules/onnxruntime-web``); its return value is the
  browser's answer;
- ``browser_models``: the cache folder the plan's ONNX files are written to
  (:func:`ofa_dash.hardware.browser.write_plan_models`), reached from the
  profiler's frame by a relative URL (``../<component name>/<space>/``), so it
  also works behind a ``baseUrlPath`` and from a phone on the network.

Saving goes through :func:`ofa_dash.hardware.browser.profile_from_result`
(the shared builder); the new file changes the device folder's stamps, so the
Fronts page's cached loaders pick the device up on their next run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ofa_dash.data import default_cache_dir
from ofa_dash.hardware.browser import (
    QUICK_POLICY,
    WEB_DIR,
    BrowserSettings,
    check_web_files,
    make_manifest,
    models_folder,
    models_root,
    profile_from_result,
    write_plan_models,
)
from ofa_dash.hardware.devices import profile_path
from ofa_dash.hardware.profile_build import plan_profile
from ofa_dash.hardware.profile_format import DeviceProfile, save_profile
from ofa_dash.space import SearchSpace

ENV_SWITCH = "OFA_DASH_BROWSER_PROFILES"


def browser_profiles_allowed(environ: dict | None = None) -> bool:
    """Whether visitors may add devices (on by default; ``OFA_DASH_BROWSER_PROFILES=0`` turns the page off on a shared server).

    A visitor's answer is checked for shape, not for truth: whoever may open the
    page can add a device (never replace one, unless the dashboard is single-user).
    """
    env = os.environ if environ is None else environ
    return env.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no")


def browser_settings(name: str, n_calibration: int, n_validation: int, quick: bool, backend: str = "wasm") -> BrowserSettings:
    """The visitor's choices, checked (a ``ValueError`` with one clear sentence otherwise)."""
    name = (name or "").strip()
    if not name:
        raise ValueError("name the device first (e.g. my-phone): a-z, 0-9, '.', '_' or '-'")
    if quick:
        return BrowserSettings(name, n_calibration, n_validation, layer_policy=QUICK_POLICY, subnet_policy=QUICK_POLICY, backend=backend)
    return BrowserSettings(name, n_calibration, n_validation, backend=backend)


def check_target(space: SearchSpace, root: str | Path, name: str, may_replace: bool) -> Path:
    """Where device ``name`` will be saved; refuses an existing device unless ``may_replace``."""
    path = profile_path(space, name, root)
    if path.exists() and not may_replace:
        raise ValueError(f"device {name!r} already exists for {space.name}; pick another name")
    return path


def prepare_manifest(space: SearchSpace, settings: BrowserSettings, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Export the plan's models into the cache (reusing files already there) and return the manifest the browser times."""
    check_web_files()
    plan = plan_profile(space, settings.n_calibration, settings.n_validation, settings.seed)
    models = write_plan_models(space, plan, models_folder(default_cache_dir(), space), progress)
    return make_manifest(space, settings, models)


def _components():
    # deferred: streamlit registers components while a script runs; the functions above are tested without it
    import streamlit.components.v1 as components

    root = models_root(default_cache_dir())
    root.mkdir(parents=True, exist_ok=True)
    profiler = components.declare_component("browser_profiler", path=str(WEB_DIR))
    models = components.declare_component("browser_models", path=str(root))
    return profiler, models


def run_in_browser(space: SearchSpace, manifest: dict, key: str) -> object:
    """Draw the profiler (it starts by itself, shows its progress) and return its answer: None until it is done."""
    profiler, models = _components()
    return profiler(manifest=manifest, model_base=f"../{models.name}/{space.name}/", key=key, default=None)


TAU_BAR = 0.85  # the bar a trustworthy table meets on held-out subnets (the shipped profiles: 0.91 - 0.92)
MAPE_BAR = 15.0


def quality_note(quality: dict, quick: bool) -> str | None:
    """Why a saved browser profile's figures should not be trusted yet, or None when they meet the bar."""
    tau, mape = quality.get("kendall_tau"), quality.get("mape")
    if tau is not None and mape is not None and tau >= TAU_BAR and mape <= MAPE_BAR:
        return None
    why = "the quick check times a few runs per model" if quick else "the device was probably busy, or the tab went to the background"
    return (
        f"Below the bar of a trustworthy table (Kendall tau >= {TAU_BAR}, MAPE <= {MAPE_BAR:.0f} %): {why}. "
        "Profile again with the device idle and this tab in front (a taken name needs a new one)."
    )


@dataclass
class Saved:
    profile: DeviceProfile
    path: Path


def save_browser_profile(space: SearchSpace, root: str | Path, name: str, manifest: dict, result: object, may_replace: bool) -> Saved:
    """Check the browser's answer, build the profile like every other one, save it as device ``name`` of ``space``."""
    path = check_target(space, root, name, may_replace)
    profile = profile_from_result(space, name, manifest, result)  # every check happens before anything is written
    save_profile(profile, path)
    return Saved(profile, path)
