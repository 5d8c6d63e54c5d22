"""ImageNet-style folders: listed lazily, OFA's evaluation preprocessing, a seeded calibration draw, and
validate / export of an official space end to end on a synthetic folder of real JPEG files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

import ofa_dash.imagefolder as imagefolder
from ofa_dash import calibration
from ofa_dash.checkpoints import ofa_published_state
from ofa_dash.cli import main
from ofa_dash.data import DatasetError
from ofa_dash.datasets import load_for_space
from ofa_dash.evaluate import calibration_batches
from ofa_dash.export import FORMATS
from ofa_dash.imagefolder import FolderSplit, crop_box, load_image_folder, preprocess_image, resize_size
from ofa_dash.nn import Supernet
from ofa_dash.runtime import ort
from ofa_dash.runtime.ort import TimingPolicy
from ofa_dash.space import get_space
from ofa_dash.testing.imagenet import make_imagenet_folder
from ofa_dash.ui.config import missing_data_message, resolve_settings

torch.set_num_threads(1)
W10 = get_space("ofa-mbv3-w1.0")
NAME = "ofa_mbv3_d234_e346_k357_w1.0"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """1,000 class folders (ImageNet's count), three of them holding JPEGs: 12 training and 6 val images."""
    return make_imagenet_folder(tmp_path_factory.mktemp("imagenet"), filled=3, per_class_train=4, per_class_val=2)


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> Path:
    """A w1.0 checkpoint in OFA's published layout (seeded random weights) under its published name."""
    root = tmp_path_factory.mktemp("official")
    torch.manual_seed(5)
    torch.save({"state_dict": ofa_published_state(Supernet(W10))}, root / NAME)
    return root


@pytest.fixture(autouse=True)
def _quick_latency(monkeypatch):
    monkeypatch.setattr(ort, "MODEL_TIMING", TimingPolicy(warmup=1, repeats=3, min_repeats=3, budget_s=0.01))


# --------------------------------------------------------------------------- the lazy folder
def test_listing_decodes_nothing_and_orders_like_imagefolder(folder, monkeypatch):
    opened = []
    real = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    data = load_for_space(W10, folder)
    assert opened == [], "listing the folder must not decode an image"
    assert len(data.classes) == 1000 and list(data.classes) == sorted(data.classes)
    assert data.test_name == "val" and len(data.train) == 12 and len(data.test) == 6
    assert isinstance(data.test, FolderSplit)
    # sorted class folders give the labels; files in name order inside each class
    assert list(data.test.labels) == [0, 0, 1, 1, 2, 2]
    assert list(data.test.files[:2]) == ["n00000000/val_0_0.JPEG", "n00000000/val_0_1.JPEG"]
    x, y = next(data.test.subset(np.array([2, 5])).batches(8, W10.mean, W10.std, 160))
    assert len(opened) == 2 and x.shape == (2, 3, 160, 160) and list(y) == [1, 2]


def test_batches_come_in_order_with_their_labels(folder):
    data = load_image_folder(folder)
    seen = [(tuple(x.shape), list(y)) for x, y in data.test.batches(4, W10.mean, W10.std, 160)]
    assert seen == [((4, 3, 160, 160), [0, 0, 1, 1]), ((2, 3, 160, 160), [2, 2])]


# --------------------------------------------------------------------------- preprocessing
@pytest.mark.parametrize("r, shorter", [(160, 183), (224, 256)])
def test_preprocessing_matches_a_hand_computed_reference(tmp_path, r, shorter):
    assert shorter == math.ceil(r / 0.875)
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)  # height 300, width 400: the height is the shorter side
    path = tmp_path / "a.png"  # lossless, so the reference starts from the very same pixels
    Image.fromarray(pixels).save(path)
    # by hand: shorter side to `shorter`, width int(shorter * 400 / 300), centre crop r, then (x / 255 - mean) / std
    width = int(shorter * 400 / 300)
    assert resize_size(400, 300, r, 0.875) == (width, shorter)
    resized = np.asarray(Image.fromarray(pixels).resize((width, shorter), Image.BILINEAR), dtype=np.float32)
    left, top = round((width - r) / 2), round((shorter - r) / 2)
    assert crop_box(width, shorter, r) == (left, top, left + r, top + r)
    crop = resized[top : top + r, left : left + r]
    reference = (crop / 255.0 - np.array(W10.mean, dtype=np.float32)) / np.array(W10.std, dtype=np.float32)
    split = FolderSplit(tmp_path, np.array(["a.png"]), np.array([0]))
    x, _ = next(split.batches(1, W10.mean, W10.std, r))
    assert x.shape == (1, 3, r, r)
    np.testing.assert_allclose(x[0].permute(1, 2, 0).numpy(), reference, atol=1e-5)
    with Image.open(path) as im:
        assert preprocess_image(im, r, 0.875).shape == (r, r, 3)


def test_calibration_sample_is_seeded_and_fixed(folder):
    a, b = calibration.from_dataset(load_image_folder(folder)), calibration.from_dataset(load_image_folder(folder))
    assert list(a.images.files) == list(b.images.files) and a.fingerprint == b.fingerprint
    assert len(a) == 11  # 12 training images, a tenth (1) held out, the rest (< 2,000) all drawn
    batches = [x for x in calibration_batches(W10, a.images, 160, batch_size=4)]
    again = [x for x in calibration_batches(W10, b.images, 160, batch_size=4)]
    assert sum(len(x) for x in batches) == 11
    assert all(torch.equal(p, q) for p, q in zip(batches, again, strict=True))


# --------------------------------------------------------------------------- clear errors
def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


def test_missing_val_is_named(folder, tmp_path):
    root = _copy(folder, tmp_path)
    shutil.rmtree(root / "val")
    with pytest.raises(DatasetError, match=r"has no val/ folder.*train/ and val/"):
        load_for_space(W10, root)


def test_wrong_class_count_says_what_the_space_expects(tmp_path):
    root = make_imagenet_folder(tmp_path / "few", n_classes=3, filled=3)
    with pytest.raises(DatasetError, match=r"3 classes.*ofa-mbv3-w1.0.*1000"):
        load_for_space(W10, root)


def test_no_jpegs_and_a_flat_val_are_refused(folder, tmp_path):
    root = _copy(folder, tmp_path)
    for f in (root / "val").rglob("*.JPEG"):
        f.rename(root / "val" / f.name)  # ILSVRC's flat val/
    with pytest.raises(DatasetError, match=r"no images in class folders.*6 images directly"):
        load_for_space(W10, root)
    for f in (root / "val").glob("*.JPEG"):
        f.unlink()
    with pytest.raises(DatasetError, match=r"no images in class folders"):
        load_for_space(W10, root)


def test_an_undecodable_file_is_named(folder, tmp_path):
    root = _copy(folder, tmp_path)
    (root / "val" / "n00000001" / "val_1_0.JPEG").write_bytes(b"not a jpeg")
    data = load_for_space(W10, root)
    with pytest.raises(DatasetError, match=r"cannot decode val/n00000001/val_1_0.JPEG"):
        list(data.test.batches(8, W10.mean, W10.std, 160))


def test_dashboard_says_what_is_missing(tmp_path):
    unset = missing_data_message(resolve_settings(environ={}), W10)
    assert "OFA_DASH_IMAGENET" in unset and "train/ and val/" in unset and "is empty" in unset
    settings = resolve_settings(environ={"OFA_DASH_IMAGENET": str(tmp_path / "nowhere")})
    assert settings.data_for(W10) is None and "nowhere` does not exist" in missing_data_message(settings, W10)
    assert resolve_settings(environ={"OFA_DASH_IMAGENET": str(tmp_path)}).data_for(W10) == tmp_path.resolve()


# --------------------------------------------------------------------------- end to end
def test_validate_cli_end_to_end(folder, official, tmp_path, capsys):
    argv = ["validate", "--space", W10.name, "--arch", "smallest", "--official", str(official), "--data", str(folder)]
    assert main([*argv, "--limit", "4", "--no-record", "--threads", "1", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "re-estimating BN statistics" in captured.err and "evaluating" in captured.err  # the progress shown
    assert out["n_images"] == 4 and out["subset"] == "val, fixed class-balanced subset of 4 of 6 images"
    assert 0.0 <= out["top1"] <= out["top5"] <= 100.0
    assert out["calib_images"] == 11 and out["latency_ms"] > 0
    assert "ImageNet-style image folder" in out["data"]
    # 1,000 classes: no 1,000 x 1,000 confusion matrix in the record, top-1 only for the classes evaluated
    assert out["confusion"] == [] and set(out["per_class"]) <= {"n00000000", "n00000001", "n00000002"} and out["per_class"]


def test_export_onnx_calibrated_on_the_folder(folder, official, tmp_path, capsys):
    out = tmp_path / "w10.onnx"
    argv = ["export", "--space", W10.name, "--arch", "smallest", "--official", str(official), "--format", "onnx", "--out", str(out)]
    assert main([*argv, "--data", str(folder), "--eval-images", "4", "--threads", "1", "--json"]) == 0
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    config = json.loads(meta["ofa_dash.config"])
    r = config["arch"]["r"]
    assert meta["resize_shorter"] == str(math.ceil(r / 0.875)) and meta["center_crop"] == str(r)
    assert "centre" in meta["resize"] and json.loads(meta["mean"]) == list(W10.mean)
    assert config["provenance"]["bn_recalibrated"] is True and "ImageNet-style" in config["provenance"]["data"]


def test_export_without_data_says_what_is_missing(official, tmp_path, capsys):
    out = tmp_path / "w10.onnx"
    argv = ["export", "--space", W10.name, "--arch", "smallest", "--official", str(official), "--format", "onnx", "--out", str(out)]
    assert main(argv) == 2
    assert "--data DIR" in capsys.readouterr().err and not out.exists()


def test_fingerprint_names_the_files_not_where_they_live(folder, tmp_path):
    moved = _copy(folder, tmp_path)
    assert load_image_folder(moved).fingerprint == load_image_folder(folder).fingerprint
    h = hashlib.sha256()
    imagefolder.FolderSplit(folder, np.array(["x/a.JPEG"]), np.array([0])).digest(h)
    assert h.hexdigest() != hashlib.sha256().hexdigest()


def _preprocessing_of(fmt: str, out: Path) -> dict:
    """The preprocessing an exported file carries, read the way a user would."""
    if fmt == "torchscript":
        return json.loads(out.with_name(f"{out.stem}.json").read_text())["preprocessing"]
    if fmt == "bundle":
        with zipfile.ZipFile(out) as zf:
            return json.loads(zf.read("config.json"))["preprocessing"]
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    return json.loads(meta["ofa_dash.config"])["preprocessing"]


@pytest.mark.parametrize("fmt", ["onnx-int8", "torchscript", "bundle"])
def test_every_format_carries_ofas_preprocessing(folder, official, tmp_path, capsys, fmt):
    out = tmp_path / f"w10-{fmt}.{FORMATS[fmt].file_for('m').rsplit('.', 1)[-1]}"
    argv = ["export", "--space", W10.name, "--arch", "smallest", "--official", str(official), "--format", fmt, "--out", str(out)]
    assert main([*argv, "--data", str(folder), "--eval-images", "4", "--threads", "1", "--json"]) == 0, capsys.readouterr().err
    pre = _preprocessing_of(fmt, out)
    r = pre["resolution"]
    assert pre["resize_shorter"] == math.ceil(r / 0.875) and pre["center_crop"] == r and pre["mean"] == list(W10.mean)
    if fmt == "bundle":  # the shipped predict.py crops like validation did: its input equals the folder split's batch
        with zipfile.ZipFile(out) as zf:
            zf.extractall(tmp_path / "bundle")
        spec = importlib.util.spec_from_file_location("bundle_predict_test", tmp_path / "bundle" / "predict.py")
        predict = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(predict)
        _, pre_meta = predict.load(tmp_path / "bundle" / "model.onnx")
        image = folder / "val" / "n00000002" / "val_2_1.JPEG"
        split = FolderSplit(folder / "val", np.array(["n00000002/val_2_1.JPEG"]), np.array([2]))
        x, _ = next(split.batches(1, W10.mean, W10.std, r))
        np.testing.assert_allclose(predict.preprocess(image, pre_meta), x.numpy(), atol=1e-5)


def test_finetune_on_a_folder_is_refused_clearly(folder, official, capsys):
    argv = ["finetune", "--space", W10.name, "--arch", "smallest", "--official", str(official), "--data", str(folder), "--epochs", "1"]
    assert main(argv) == 2
    assert "fine-tuning on it is not supported yet" in capsys.readouterr().err


def test_measure_and_fit_predictor_work_on_an_official_space(folder, official, tmp_path, capsys):
    """A predictor for a published space without one: measured holdout top-1 on the folder, then a fitted predictor that loads."""
    from ofa_dash.predictors.fitted import load_fitted_predictor
    from ofa_dash.predictors.measured import read_measured

    measured, predictor = tmp_path / "measured.parquet", tmp_path / "predictor.pt"
    argv = ["measure", "--space", W10.name, "--subnets", "20", "--data", str(folder), "--official", str(official), "--out", str(measured)]
    assert main([*argv, "--calib-images", "4", "--engine", "torch", "--threads", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["measured"] == summary["rows"] == 20
    rows = read_measured(measured, W10)
    assert set(rows["space"]) == {W10.name} and rows["n_holdout"].min() >= 1 and rows["top1_holdout"].between(0, 100).all()
    argv = ["fit-predictor", "--space", W10.name, "--measured", str(measured), "--out", str(predictor), "--candidates", "ridge", "--folds", "2"]
    assert main([*argv, "--threads", "1", "--json"]) == 0
    fitted = load_fitted_predictor(predictor, W10)
    assert fitted.predict(W10.sample_genomes(5, seed=2)).shape == (5,)
