"""The BN calibration images: the shipped sample equals the full dataset's draw, exports use it, refuse without it, label --no-calibration."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_dash import calibration as cal
from ofa_dash import export as ex
from ofa_dash.cli import main
from ofa_dash.data import default_cache_dir, load_dataset
from ofa_dash.export.int8 import int8_verdict
from ofa_dash.runtime import ort
from ofa_dash.runtime.ort import TimingPolicy
from ofa_dash.space import get_space
from ofa_dash.subnets import prepare
from ofa_dash.ui import jobs
from ofa_dash.ui.config import Settings
from ofa_dash.ui.int8_note import int8_note
from tests.conftest import CIFAR_JPEG, ROOT

torch.set_num_threads(1)
CIFAR = get_space("cifar10")
TEST_IMAGES = 1000


@pytest.fixture
def root_with_sample(tmp_path, tiny_data, supernet_file, monkeypatch) -> Path:
    """A precomputed root holding the supernet and a calibration sample drawn from the tiny dataset, set as the default root."""
    root = tmp_path / "precomputed"
    (root / "cifar10").mkdir(parents=True)
    (root / "cifar10" / "supernet.pt").write_bytes(supernet_file.read_bytes())
    cal.write_sample(tiny_data, cal.shipped_sample_path(CIFAR, root))
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    return root


@pytest.fixture(autouse=True)
def _quick_latency(monkeypatch):
    """Latency figures are checked for presence and consistency here, not value: time a few runs only."""
    monkeypatch.setattr(ort, "MODEL_TIMING", TimingPolicy(warmup=1, repeats=5, min_repeats=3, budget_s=0.01))


def _small(space=CIFAR):
    arch = space.smallest()
    return type(arch)(ks=arch.ks, e=arch.e, d=arch.d, r=32)


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _bn_state(prepared) -> dict[str, torch.Tensor]:
    return {k: v for k, v in prepared.net.state_dict().items() if "running_" in k}


# --------------------------------------------------------------------------- the sample file
def test_sample_round_trip_holds_exactly_the_calibration_draw(tiny_data, tmp_path):
    path = tmp_path / "calibration.npz"
    written = cal.write_sample(tiny_data, path)
    loaded = cal.load_sample(path)
    drawn = cal.from_dataset(tiny_data)
    assert np.array_equal(loaded.images.images, drawn.images.images) and np.array_equal(loaded.images.labels, drawn.images.labels)
    assert loaded.fingerprint == drawn.fingerprint == written.fingerprint
    assert loaded.classes == tiny_data.classes and loaded.source == tiny_data.source and loaded.origin == "sample"
    with np.load(path, allow_pickle=False) as z:  # plain arrays only: nothing in the file can run
        assert z["images"].dtype == np.uint8 and all(z[k].dtype != object for k in z.files)


def test_damaged_or_foreign_samples_are_refused(tiny_data, tmp_path):
    path = tmp_path / "calibration.npz"
    cal.write_sample(tiny_data, path)
    with np.load(path, allow_pickle=False) as z:
        parts = {k: z[k] for k in z.files}
    parts["images"] = parts["images"].copy()
    parts["images"][0, 0, 0, 0] ^= 1
    np.savez_compressed(tmp_path / "damaged.npz", **parts)
    with pytest.raises(cal.CalibrationError, match="damaged"):
        cal.load_sample(tmp_path / "damaged.npz")
    np.savez_compressed(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(cal.CalibrationError, match="cannot read the calibration sample"):
        cal.load_sample(tmp_path / "foreign.npz")


def test_sample_and_dataset_give_bit_identical_bn_statistics(supernet_file, tiny_data, tmp_path):
    cal.write_sample(tiny_data, tmp_path / "s.npz")
    sample = cal.load_sample(tmp_path / "s.npz")
    a = prepare(CIFAR, _small(), supernet_file, tiny_data, use_cache=False)
    b = prepare(CIFAR, _small(), supernet_file, calibration=sample, use_cache=False)
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k]), k
    assert a.provenance.calibration_fingerprint == b.provenance.calibration_fingerprint == sample.fingerprint
    assert b.provenance.bn_recalibrated and "shipped calibration sample" in b.provenance.calibration


# --------------------------------------------------------------------------- the shipped sample against the full dataset
@pytest.mark.skipif(not CIFAR_JPEG.is_dir(), reason=f"the CIFAR-10 copy at {CIFAR_JPEG} is missing (see ../shared/datasets/README.md)")
@pytest.mark.parametrize("which", ["smallest", "sampled"])
def test_shipped_sample_exports_match_full_dataset_exports(which, tmp_path):
    """The shipped sample holds the full dataset's calibration draw: same BN statistics bit for bit, same accuracy on 1,000 test images."""
    sample = cal.shipped_sample(CIFAR, ROOT / "precomputed")
    assert sample is not None, "precomputed/cifar10/calibration.npz is not shipped"
    data = load_dataset(CIFAR_JPEG)
    drawn = cal.from_dataset(data)
    assert sample.fingerprint == drawn.fingerprint and np.array_equal(sample.images.images, drawn.images.images)
    assert len(sample) <= 2000 and sample.images.images.dtype == np.uint8
    counts = np.bincount(sample.images.labels, minlength=10)
    assert counts.min() >= 150, counts  # seeded, not stratified: every class holds about a tenth

    supernet = ROOT / "precomputed" / "cifar10" / "supernet.pt"
    arch = CIFAR.smallest() if which == "smallest" else CIFAR.sample(1, seed=7)[0]
    full = prepare(CIFAR, arch, supernet, data, use_cache=False)
    shipped = prepare(CIFAR, arch, supernet, calibration=sample, use_cache=False)
    bn_full, bn_shipped = _bn_state(full), _bn_state(shipped)
    assert bn_full and all(torch.equal(v, bn_shipped[k]) for k, v in bn_full.items())

    accuracy = {}
    for name, prepared in (("full", full), ("sample", shipped)):
        out = tmp_path / f"{name}.onnx"
        ex.export_onnx(prepared, out)
        accuracy[name] = ex.accuracy_on_test(out, prepared, data, TEST_IMAGES)
    print(f"\n{arch.id}: top-1 on {accuracy['full']['images']}: full data {accuracy['full']['top1']:.2f} %, shipped sample {accuracy['sample']['top1']:.2f} %")
    assert accuracy["sample"]["n_images"] == TEST_IMAGES
    assert abs(accuracy["sample"]["top1"] - accuracy["full"]["top1"]) <= 0.5


# --------------------------------------------------------------------------- the CLI
def test_cli_export_without_data_uses_the_shipped_sample(root_with_sample, supernet_file, tiny_data, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    code, stdout, err = _cli(capsys, "export", "--space", "cifar10", "--arch", "smallest", "--format", "onnx", "--out", str(out), "--json")
    assert code == 0, err
    assert "shipped calibration sample" in err
    prov = json.loads(stdout)["provenance"]
    assert prov["bn_recalibrated"] is True and prov["calibration_fingerprint"] == cal.from_dataset(tiny_data).fingerprint
    assert json.loads(ex.read_metadata(out)["ofa_dash.config"])["provenance"]["calibration_fingerprint"] == prov["calibration_fingerprint"]


def test_cli_export_that_cannot_calibrate_refuses_and_writes_nothing(supernet_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(tmp_path / "empty-root"))
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt in ("onnx", "bundle"):
        code, stdout, err = _cli(capsys, "export", "--arch", "smallest", "--format", fmt, "--out", "m.out", "--supernet", str(supernet_file))
        assert code == 2 and stdout == "" and err.count("\n") == 1
        assert "cannot re-estimate BN statistics" in err and "--data DIR" in err and "--no-calibration" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_no_calibration_is_labelled_in_metadata_and_model_card(supernet_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(tmp_path / "empty-root"))
    arch = json.dumps(_small().to_dict())
    base = ["export", "--arch", arch, "--supernet", str(supernet_file), "--no-calibration"]
    code, _, err = _cli(capsys, *base, "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert "NOT re-estimated" in err
    meta = ex.read_metadata(tmp_path / "m.onnx")
    assert meta["bn_recalibrated"] == "false" and json.loads(meta["ofa_dash.config"])["provenance"]["bn_recalibrated"] is False

    code, _, err = _cli(capsys, *base, "--format", "bundle", "--out", str(tmp_path / "b.zip"))
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        card = json.loads(zf.read("model_card.json"))
        md = zf.read("MODEL_CARD.md").decode()
    assert card["provenance"]["bn_recalibrated"] is False
    assert "BN statistics re-estimated: no (bn_recalibrated: false)" in md and "NOT re-estimated" in md

    code, _, err = _cli(capsys, *base, "--data", str(tmp_path), "--format", "onnx", "--out", str(tmp_path / "n.onnx"))
    assert code == 2 and "contradict" in err and not (tmp_path / "n.onnx").exists()


# --------------------------------------------------------------------------- int8 against fp32
def test_int8_export_writes_its_measured_drop_and_speed_into_the_file(supernet_file, tiny_data, tmp_path):
    prepared = prepare(CIFAR, _small(), supernet_file, tiny_data)
    out = tmp_path / "m8.onnx"
    result = ex.export_onnx_int8(prepared, out, data=tiny_data, eval_images=0, calib_images=32)
    verdict = json.loads(ex.read_metadata(out)["int8_vs_fp32"])
    assert verdict == result["int8_vs_fp32"]
    assert verdict["top1_drop"] == pytest.approx(result["accuracy"]["top1_drop"]) and "test images" in verdict["drop_measured_on"]
    assert verdict["fp32_ms"] == result["latency"]["fp32"]["median_ms"] and verdict["int8_ms"] == result["latency"]["int8"]["median_ms"]
    assert verdict["int8_slower"] == (verdict["int8_ms"] > verdict["fp32_ms"])
    assert "1 thread, batch 1" in verdict["summary"] and "top-1 points" in verdict["summary"]


def test_int8_drop_without_test_data_is_measured_on_the_calibration_images(supernet_file, tiny_data, tmp_path):
    cal.write_sample(tiny_data, tmp_path / "s.npz")
    prepared = prepare(CIFAR, _small(), supernet_file, calibration=cal.load_sample(tmp_path / "s.npz"))
    result = ex.export_onnx_int8(prepared, tmp_path / "m8.onnx", calib_images=32)
    verdict = result["int8_vs_fp32"]
    assert "accuracy" not in result  # no test accuracy is claimed without test data
    assert verdict["top1_drop"] is not None and "BN calibration images" in verdict["drop_measured_on"] and "not the accuracy" in verdict["drop_measured_on"]
    assert "BN calibration images" in result["agreement_with_fp32"]["inputs"]  # real images, not random ones
    assert "a seeded draw from the BN calibration images" in result["quantization"]["calibration"]


@pytest.mark.parametrize(("fp32_ms", "int8_ms", "slower"), [(1.0, 1.4, True), (1.0, 0.5, False)])
def test_int8_verdict_says_when_int8_is_slower(fp32_ms, int8_ms, slower):
    lat = {"device": "test CPU"}
    verdict = int8_verdict({"fp32": 80.0, "int8": 79.5, "images": "100 test images"}, {**lat, "median_ms": fp32_ms}, {**lat, "median_ms": int8_ms})
    assert verdict["int8_slower"] is slower and verdict["top1_drop"] == pytest.approx(0.5)
    assert ("SLOWER than fp32" in verdict["summary"]) is slower and "loses 0.50 top-1 points" in verdict["summary"]
    assert verdict["speedup"] == pytest.approx(fp32_ms / int8_ms)


# --------------------------------------------------------------------------- the dashboard's exports
def _settings(root: Path, data: Path | None = None) -> Settings:
    return Settings(precomputed=root, official=None, data=data, official_wanted="", data_wanted=str(data or ""))


def test_calibration_key_names_the_images_an_export_uses(root_with_sample, tiny_folder, tmp_path):
    with_sample = jobs.calibration_key(_settings(root_with_sample), CIFAR)
    assert with_sample.startswith("c2-sample-")
    assert jobs.calibration_key(_settings(tmp_path / "empty-root"), CIFAR) is None  # nothing to calibrate on: no export
    with_data = jobs.calibration_key(_settings(root_with_sample, tiny_folder), CIFAR)
    assert with_data != with_sample and jobs.data_key(tiny_folder) in with_data
    # a regenerated sample (other content) is another key, so an old cached export is never served for it
    sample = cal.shipped_sample_path(CIFAR, root_with_sample)
    with np.load(sample, allow_pickle=False) as z:
        parts = {k: z[k] for k in z.files}
    np.savez_compressed(sample, **{**parts, "source": np.array("another copy")})
    assert jobs.calibration_key(_settings(root_with_sample), CIFAR) not in (with_sample, None)


def test_dashboard_export_without_dataset_calibrates_on_the_sample(root_with_sample, tiny_data):
    settings = _settings(root_with_sample)
    arch = _small()
    assert jobs.cached_export(settings, CIFAR, arch, "onnx") is None
    path = jobs.export_cached(settings, CIFAR, arch, "onnx")
    prov = json.loads(ex.read_metadata(path)["ofa_dash.config"])["provenance"]
    assert prov["bn_recalibrated"] is True and prov["calibration_fingerprint"] == cal.from_dataset(tiny_data).fingerprint
    assert jobs.cached_export(settings, CIFAR, arch, "onnx") == path


def test_dashboard_export_refuses_without_dataset_or_sample(supernet_file, tmp_path):
    root = tmp_path / "root"
    (root / "cifar10").mkdir(parents=True)
    (root / "cifar10" / "supernet.pt").write_bytes(supernet_file.read_bytes())
    with pytest.raises(cal.CalibrationError, match="cannot re-estimate BN statistics"):
        jobs.export_cached(_settings(root), CIFAR, _small(), "onnx")
    assert not list((default_cache_dir() / "exports").glob("*-None"))  # refused before any cache folder was made


# --------------------------------------------------------------------------- the Subnet page's int8 note
class _Table:
    def __init__(self, ms: float):
        self.ms = ms

    def estimate(self, genome):
        return np.array([self.ms])


def test_int8_note_prefers_the_measured_verdict_and_warns_when_int8_is_slower():
    slower = {"int8_ms": 1.3, "fp32_ms": 1.0, "int8_slower": True, "top1_drop": 0.4}
    note = int8_note(slower, {"cpu": _Table(1.0), "cpu-int8": _Table(0.5)}, np.zeros(3))
    assert note.slower and "measured by the export" in note.text and "loses 0.40 top-1 points" in note.text
    faster = int8_note({**slower, "int8_ms": 0.6, "int8_slower": False, "top1_drop": None}, None, None)
    assert not faster.slower and "0.60x" in faster.text


@pytest.mark.parametrize(("fp32", "int8", "slower"), [(1.0, 1.2, True), (1.0, 0.4, False)])
def test_int8_note_predicts_from_a_device_and_its_int8_twin(fp32, int8, slower):
    note = int8_note(None, {"cpu-ort": _Table(fp32), "cpu-ort-int8": _Table(int8)}, np.zeros(3))
    assert note.slower is slower and "predicted" in note.text and "cpu-ort-int8 latency tables" in note.text
    assert int8_note(None, {"demo-cpu": _Table(1.0)}, np.zeros(3)) is None  # no int8 twin, no measurement: nothing to say
