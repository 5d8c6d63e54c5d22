"""A small, self-contained precomputed root for tests, benchmarks and offline demos.

The dashboard reads only files, so the synthetic root is built the way the
real one is: a supernet checkpoint (``checkpoints.save_weights`` of an untrained
``Supernet`` with a fixed seed), device profiles in the profile format
(synthetic timings whose layer cost grows with the layer's work, so latency
and size agree), a fitted-predictor file (a linear model over the one-hot
features: bigger kernels, wider blocks, more depth and resolution give higher
predicted top-1), measured subnets for the predictor's quality view, and
search runs saved with ``RunStore``. With an image-folder dataset of ten
classes, live validation and export run end to end on it in seconds.

Nothing here claims to be a real measurement: every file names itself synthetic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ofa_dash.checkpoints import save_weights
from ofa_dash.hardware import load_devices
from ofa_dash.hardware.correction import Correction, fit_affine
from ofa_dash.hardware.devices import profile_path
from ofa_dash.hardware.latency import LatencyTable, keys_at
from ofa_dash.hardware.profile_format import DeviceProfile, LayerTiming, SubnetMeasurement, save_profile
from ofa_dash.nn import Supernet
from ofa_dash.predictors import FittedPredictor, build_mlp, feature_spec, n_onehot_features, predictor_path, save_predictor
from ofa_dash.predictors.measured import write_measured
from ofa_dash.search.objectives import Objectives
from ofa_dash.search.run import RunSpec, run_search
from ofa_dash.space import CIFAR10_CLASSES, get_space
from ofa_dash.store import RunStore

DEMO_VERSION = "demo-untrained"
DEMO_DEVICES = {"demo-cpu": 1.0, "demo-gpu": 0.25}


def make_image_folder(root: Path, classes=CIFAR10_CLASSES, per_class_train: int = 20, per_class_test: int = 5, size: int = 32, seed: int = 0) -> Path:
    """An image-folder dataset (``train/<class>/*.png``, ``test/<class>/*.png``) of random, class-tinted images."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class_train), ("test", per_class_test)):
        for ci, cls in enumerate(classes):
            folder = Path(root) / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                arr = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
                arr[..., ci % 3] += 120 + 12 * (ci // 3)
                Image.fromarray(arr).save(folder / f"{i:04d}.png")
    return Path(root)


def _work_entries(space, speed: float) -> dict:
    """Per-layer 'timings' proportional to the layer's work (parsed from OFA's key format)."""
    entries = {}
    for r in space.resolutions:
        table = {}
        for key in keys_at(space, r):
            m = re.search(r"input:(\d+)x\d+x(\d+).*expand:(\d+)-kernel:(\d+)", key)
            ms = speed * 2e-8 * int(m[1]) ** 2 * int(m[3]) * (int(m[4]) ** 2 + int(m[2])) if m else speed * 0.02
            table[key] = LayerTiming(float(ms), float(ms) * 0.02, 50)
        entries[r] = table
    return entries


def demo_profile(space, name: str, speed: float, seed: int = 0):
    """A device profile as the profiler would write it (measured = 1.1 x layer sum + 0.05 ms, 3 % noise)."""
    entries = _work_entries(space, speed)
    table = LatencyTable(space, name, {r: {k: t.ms for k, t in e.items()} for r, e in entries.items()})
    genomes = space.sample_genomes(30, seed=seed + 11)
    rng = np.random.default_rng(seed + 12)
    measured = (table.layer_sum(genomes) * 1.1 + 0.05) * (1 + 0.03 * rng.standard_normal(len(genomes)))
    splits = ["calibration"] * 12 + ["validation"] * 18
    measurements = [
        SubnetMeasurement(tuple(int(v) for v in g), float(m), float(m) * 0.02, 50, s, space.decode(g)[0].id)
        for g, m, s in zip(genomes, measured, splits, strict=True)
    ]
    meta = {
        "device": name,
        "runtime": "synthetic",
        "runtime_version": "0",
        "hardware": f"synthetic demo device ({name})",
        "threads": 1,
        "batch_size": 1,
        "date": "2026-01-01T00:00:00",
        "repeats": 50,
        "warmup": 5,
        "spread": {},
        "source": f"synthetic demo table {name} (not a measurement)",
    }
    profile = DeviceProfile(space.name, name, meta, entries, measurements, Correction())
    cal = profile.split("calibration")
    profile.correction = fit_affine(table.layer_sum(np.array([m.genome for m in cal])), [m.measured_ms for m in cal])
    profile.quality = profile.evaluate(space)
    return profile


def demo_predictor(space):
    """A linear 'fitted' predictor: top-1 grows with kernel, expand ratio, depth and resolution."""
    n = n_onehot_features(space)
    w = np.concatenate([np.tile([0.5, 0.8, 1.0], 20), np.tile([0.5, 0.9, 1.2], 20), 1.5 * np.arange(len(space.resolutions))])
    model = build_mlp([n, 1])
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(w[None, :], dtype=torch.float32))
        model[0].bias.fill_(45.0)
    meta = {
        "model_name": "demo-linear",
        "model": {"type": "mlp", "sizes": [n, 1]},
        "features": feature_spec(space),
        "space": space.name,
        "n_measured": 0,
        "supernet_version": DEMO_VERSION,
        "fitted": "2026-01-01T00:00:00Z",
    }
    return FittedPredictor(space, model, meta)


def make_demo_root(
    root: str | Path,
    space_name: str = "cifar10",
    runs: tuple[tuple[str, int], ...] = (("nsga2", 1), ("nsga2", 2), ("smsemoa", 1)),
    pop_size: int = 16,
    n_gen: int = 6,
    supernet: bool = True,
    seed: int = 0,
) -> Path:
    """Build the synthetic root under ``root`` (``<root>/<space>/...``) and return ``root``."""
    root = Path(root)
    space = get_space(space_name)
    base = root / space.name
    base.mkdir(parents=True, exist_ok=True)
    (base / "train_manifest.json").write_text(json.dumps({"space": space.name, "phases_done": [], "supernet_version": DEMO_VERSION, "note": "synthetic demo"}))
    for i, (name, speed) in enumerate(DEMO_DEVICES.items()):
        save_profile(demo_profile(space, name, speed, seed + i), profile_path(space, name, root))

    predictor = demo_predictor(space)
    # measured subnets for the predictor's quality view: prediction + noise, the last 12 held out
    genomes = space.canonical(space.sample_genomes(48, seed=seed + 21))
    rng = np.random.default_rng(seed + 22)
    truth = predictor.predict(genomes) + rng.normal(0, 1.0, len(genomes))
    ids = [a.id for a in space.decode(genomes)]
    measured = pd.DataFrame({"id": ids, "genome": [g.tolist() for g in genomes], "top1_holdout": truth, "supernet_version": DEMO_VERSION, "space": space.name})
    write_measured(measured, base / "measured.parquet")
    test = np.arange(36, 48)
    pred = predictor.predict(genomes[test])
    from scipy.stats import kendalltau

    predictor.meta.update(
        n_measured=len(genomes),
        n_train=36,
        n_test=12,
        test_ids=[ids[i] for i in test],
        rmse=float(np.sqrt(np.mean((pred - truth[test]) ** 2))),
        kendall_tau=float(kendalltau(pred, truth[test]).statistic),
    )
    predictor = FittedPredictor(space, predictor.model, predictor.meta)  # its source line is derived from the final meta
    save_predictor(predictor, predictor_path(space, root))

    if supernet:
        torch.manual_seed(seed)
        save_weights(Supernet(space), base / "supernet.pt", {"space": space.name, "supernet_version": DEMO_VERSION, "phases_done": []})

    devices = load_devices(space, precomputed_dir=root)
    store = RunStore(root)
    for algorithm, run_seed in runs:
        objectives = Objectives(space, ("error", "latency:demo-cpu"), predictor, devices)
        # the plain protocol (no local search): small fronts whose crowding the browser tests rely on; local search has its own tests
        spec = RunSpec(space.name, algorithm, objectives.names, pop_size=pop_size, n_gen=n_gen, seed=run_seed, params={"local_search": "none"})
        store.save(run_search(spec, objectives=objectives, precomputed_dir=root))
    return root


def ensure_demo(folder: str | Path) -> tuple[Path, Path]:
    """(precomputed root, dataset root) of a demo under ``folder``, built once (tests and benchmarks share it)."""
    folder = Path(folder)
    done = folder / ".complete"
    if not done.exists():
        make_demo_root(folder / "precomputed")
        make_image_folder(folder / "data")
        done.write_text("ok")
    return folder / "precomputed", folder / "data"
