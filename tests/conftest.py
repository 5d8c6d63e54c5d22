import os
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from ofa_dash.space import CIFAR10_CLASSES, get_space

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CIFAR_JPEG = SHARED / "datasets" / "cifar10-jpeg"
OFFICIAL = SHARED / "ofa-official"

torch.set_num_threads(1)

# Modules that go first, longest first (measured module by module). ``bash scripts/test.sh`` runs the suite on two
# pytest-xdist workers that take whole modules in collection order (``--dist loadfile --no-loadscope-reorder``, so a
# module's fixtures and its tests' order stay as in a serial run, and each worker meets the others in serial order).
# test_train.py alone takes about a quarter of the suite: started last, one worker would run it while the other idles.
SLOW_MODULES = ("test_train.py",)


def pytest_collection_modifyitems(config, items) -> None:
    """Move the modules named in ``SLOW_MODULES`` to the front, in that order; every module stays in one piece and in its own order."""
    rank = {name: i for i, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their collection order


def make_image_folder(root: Path, per_class_train: int = 6, per_class_test: int = 2, size: int = 32, classes=CIFAR10_CLASSES) -> Path:
    """A small image-folder dataset of random PNGs with CIFAR-10's class names (class-dependent colour so it is learnable)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", per_class_train), ("test", per_class_test)):
        for ci, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                arr = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
                arr[..., ci % 3] += 150
                Image.fromarray(arr).save(d / f"{i:04d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    os.environ["OFA_DASH_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest runs a page as ``sys.modules["__main__"]`` and leaves it there; a later test
    that spawns worker processes (``measure --workers``) would then make every worker run that page."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


def write_random_supernet(folder: Path, seed: int = 0, version: str = "cifar10-test-random") -> Path:
    """An untrained cifar10 supernet (weights from ``torch.manual_seed(seed)``) saved as ``folder/supernet.pt``."""
    from ofa_dash.checkpoints import save_weights
    from ofa_dash.nn import Supernet

    torch.manual_seed(seed)
    path = folder / "supernet.pt"
    save_weights(Supernet(get_space("cifar10")), path, {"supernet_version": version})
    return path


@pytest.fixture(scope="module")
def supernet_file(tmp_path_factory) -> Path:
    return write_random_supernet(tmp_path_factory.mktemp("supernet"))


@pytest.fixture(scope="module")
def tiny_data(tiny_folder):
    from ofa_dash.data import load_dataset

    return load_dataset(tiny_folder)


# --------------------------------------------------------------------------- the synthetic demo root (AppTest and Chromium tests)
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    """(precomputed root, dataset root) of the synthetic demo; treat both as read only (``env`` and ``demo_app`` copy the root).

    ``ensure_demo`` builds it once per session on disk, so a session scope would save nothing.
    """
    from ofa_dash.testing.demo import ensure_demo

    return ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")


@pytest.fixture
def env(demo, tmp_path, monkeypatch) -> Path:
    """A private copy of the demo root (pages record measurements and store searches, tests add runs), its dataset, no OFA files.

    The cache stays the session's (see ``_isolated_cache``); a module that must start with nothing built uses ``fresh_cache``.
    """
    root = shutil.copytree(demo[0], tmp_path / "precomputed")
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    monkeypatch.setenv("OFA_DASH_DATA", str(demo[1]))
    monkeypatch.setenv("OFA_DASH_OFFICIAL", str(tmp_path / "no-official-files"))
    return root


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache for this test: exports built by other tests (same subnet) must not show as ready here."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("OFA_DASH_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    from ofa_dash.testing import browser as bh

    with sync_playwright() as p:
        b = bh.launch(p)
        yield b
        b.close()


class DemoServer(NamedTuple):
    base: str  # the server's URL
    root: Path  # its precomputed root


@pytest.fixture(scope="module")
def demo_app(demo, tmp_path_factory, request):
    """``streamlit run app.py`` on a private copy of the demo root, one server per test module so nothing leaks between modules.

    The copy is the module's own because the flows write into it (a validation records a measurement, a launched search is stored).
    """
    from ofa_dash.testing import browser as bh

    work = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2].removeprefix("test_").replace("_", "-"))
    root = shutil.copytree(demo[0], work / "precomputed")
    env = {"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(demo[1]), "OFA_DASH_OFFICIAL": str(work / "no-official-files")}
    with bh.streamlit_server(env, log=work / "streamlit.log") as base:
        yield DemoServer(base, root)
