import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_dash.space import CIFAR10_CLASSES

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CIFAR_JPEG = SHARED / "datasets" / "cifar10-jpeg"
OFFICIAL = SHARED / "ofa-official"

torch.set_num_threads(1)


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
