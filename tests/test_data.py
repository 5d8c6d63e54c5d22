import zipfile

import numpy as np
import pytest
import torch

from ofa_dash.data import DatasetError, augment, load_dataset, to_tensor_batch
from ofa_dash.space import CIFAR10_CLASSES
from tests.conftest import CIFAR_JPEG


def test_image_folder_decodes_and_caches(tiny_folder, tmp_path):
    d = load_dataset(tiny_folder, cache_dir=tmp_path)
    assert d.train.images.shape == (60, 32, 32, 3) and d.train.images.dtype == np.uint8
    assert d.classes == CIFAR10_CLASSES
    assert len(list(tmp_path.glob("dataset-*.npz"))) == 1
    again = load_dataset(tiny_folder, cache_dir=tmp_path)
    assert np.array_equal(again.train.images, d.train.images)


def test_cache_is_invalidated_when_source_changes(tmp_path):
    from tests.conftest import make_image_folder

    root = make_image_folder(tmp_path / "ds", per_class_train=3)
    cache = tmp_path / "cache"
    assert len(load_dataset(root, cache_dir=cache).train) == 30
    from PIL import Image

    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "train" / "airplane" / "extra.png")
    (root / "train").touch()
    import os
    import time

    os.utime(root / "train", (time.time() + 5, time.time() + 5))
    assert len(load_dataset(root, cache_dir=cache).train) == 31


def test_zip_layout(tiny_folder, tmp_path):
    for split in ("train", "test"):
        with zipfile.ZipFile(tmp_path / f"{split}.zip", "w") as zf:
            for f in sorted((tiny_folder / split).rglob("*.png")):
                zf.write(f, f.relative_to(tiny_folder).as_posix())
    d = load_dataset(tmp_path, cache_dir=tmp_path / "c")
    assert len(d.train) == 60 and len(d.test) == 20


def test_holdout_split_is_fixed(tiny_folder, tmp_path):
    d = load_dataset(tiny_folder, cache_dir=tmp_path)
    tr1, ho1 = d.split_holdout()
    _tr2, ho2 = d.split_holdout()
    assert len(ho1) == 6 and len(tr1) == 54
    assert np.array_equal(ho1.images, ho2.images)


@pytest.mark.skipif(not (CIFAR_JPEG / "train.zip").exists(), reason="shared CIFAR-10 copy not present")
def test_shared_cifar10_split_sizes():
    d = load_dataset(CIFAR_JPEG)
    train, holdout = d.split_holdout()
    assert (len(train), len(holdout), len(d.test)) == (45000, 5000, 10000)
    assert d.classes[0] == "airplane" and d.classes[-1] == "truck"


def test_missing_and_malformed_data_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no train/ folder or train\.zip"):
        load_dataset(tmp_path / "empty")
    bad = tmp_path / "bad"
    (bad / "train" / "x").mkdir(parents=True)
    (bad / "test" / "x").mkdir(parents=True)
    (bad / "train" / "x" / "1.jpg").write_bytes(b"not an image")
    (bad / "test" / "x" / "1.jpg").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="cannot decode"):
        load_dataset(bad, cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


def test_augment_and_resize_shapes():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 255, (8, 32, 32, 3), dtype=torch.uint8)
    a = augment(x, g)
    assert a.shape == x.shape and a.dtype == torch.uint8
    t = to_tensor_batch(a, (0.5,) * 3, (0.25,) * 3, 24)
    assert t.shape == (8, 3, 24, 24) and t.is_contiguous(memory_format=torch.channels_last)
    # with no padding and no flip the crop is the identity
    same = augment(x, torch.Generator().manual_seed(0), pad=0)
    flipped = same.flip(2)
    assert all(torch.equal(same[i], x[i]) or torch.equal(flipped[i], x[i]) for i in range(8))


def _cifar_batch(data: np.ndarray, labels: list[int]) -> bytes:
    import pickle

    return pickle.dumps({b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": [b"a.png"] * len(labels)})


def test_official_python_batches_load_without_running_code(tmp_path):
    folder = tmp_path / "cifar" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(_cifar_batch(rng.integers(0, 256, (4, 3072), dtype=np.uint8), [0, 1, 2, 3]))
    heard: list[tuple[str, int, int]] = []
    data = load_dataset(tmp_path / "cifar", cache_dir=tmp_path / "cache", progress=lambda *report: heard.append(report))
    assert data.train.images.shape == (20, 32, 32, 3) and data.test.labels.tolist() == [0, 1, 2, 3]
    # progress: the six batch files read, then images decoded batch by batch, ending on the true count
    assert [r for r in heard if r[0] == "reading"][-1] == ("reading", 6, 6)
    assert [r for r in heard if r[0] == "decoding"][-1] == ("decoding", 24, 24)
    # the same batches in the official .tar.gz are read as the archive streams by
    import tarfile

    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    heard.clear()
    again = load_dataset(packed, cache_dir=tmp_path / "cache2", progress=lambda *report: heard.append(report))
    assert np.array_equal(again.train.images, data.train.images) and [r for r in heard if r[0] == "reading"][-1] == ("reading", 6, 6)


def test_a_crafted_python_batch_is_refused_and_its_payload_never_runs(tmp_path):
    import pickle

    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "evil" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    good = _cifar_batch(np.zeros((2, 3072), dtype=np.uint8), [0, 1])
    for name in [f"data_batch_{i}" for i in range(2, 6)] + ["test_batch"]:
        (folder / name).write_bytes(good)
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}))
    with pytest.raises(DatasetError, match=r"data_batch_1 in .* is not a CIFAR-10 batch \(refused (builtins|io)\.open"):
        load_dataset(tmp_path / "evil", cache_dir=tmp_path / "cache")
    assert not marker.exists()


def test_download_data_offline_is_one_clear_line(tmp_path, monkeypatch):
    """No network: the command fails with one line naming the archive and the fix, and leaves no partial file."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "ofa_dash", "download-data", "cifar10", str(tmp_path / "d")], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "could not download" in r.stderr and "by hand" in r.stderr
    assert not (tmp_path / "d").exists()  # not even the folder it made
