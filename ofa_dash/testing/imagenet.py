"""A synthetic ImageNet-style folder (real JPEG files) for tests and benchmarks; never used by the product.

``train/`` and ``val/`` hold ``n_classes`` class folders named like ImageNet's
(``n00000000`` ...); only the first ``filled`` classes hold images, the rest are
empty (an empty class folder still counts as a class: see ``ofa_dash.imagefolder``),
so a folder for a 1,000-class space stays a few kilobytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_imagenet_folder(
    root: Path,
    n_classes: int = 1000,
    filled: int = 3,
    per_class_train: int = 4,
    per_class_val: int = 2,
    size: tuple[int, int] = (48, 40),
    seed: int = 0,
) -> Path:
    """Write ``root/train`` and ``root/val`` with seeded noise JPEGs (``size`` is width x height; each class has its own tint)."""
    from PIL import Image  # deferred: only the folder's writer needs Pillow

    rng = np.random.default_rng(seed)
    w, h = size
    for split, per_class in (("train", per_class_train), ("val", per_class_val)):
        for c in range(n_classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            if c >= filled:
                continue
            tint = rng.integers(0, 256, 3)
            for i in range(per_class):
                noise = rng.integers(0, 96, (h, w, 3))
                pixels = np.clip(tint + noise - 48, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{split}_{c}_{i}.JPEG", quality=90)
    return root
