"""Latency tables: keys, vectorised estimate, Note10 import, the device-profile format and the device registry."""

import json
import warnings

import numpy as np
import pytest
from conftest import OFFICIAL

from ofa_dash.cli import main
from ofa_dash.hardware import MissingLayerError, get_device, load_devices
from ofa_dash.hardware import devices as registry
from ofa_dash.hardware.correction import Correction, fit_affine
from ofa_dash.hardware.devices import device_names, profile_path
from ofa_dash.hardware.latency import LatencyTable, first_block_key, head_keys, keys_at, load_note10, slot_key, stem_key
from ofa_dash.hardware.profile_format import (
    SCHEMA_VERSION,
    DeviceProfile,
    LayerTiming,
    SubnetMeasurement,
    check_device_name,
    load_profile,
    save_profile,
)
from ofa_dash.space import N_SLOTS, get_space

CIFAR = get_space("cifar10")
OFA = get_space("ofa-mbv3-w1.2")
needs_official = pytest.mark.skipif(not (OFFICIAL / "note10").is_dir(), reason="../shared/ofa-official is absent")


def random_entries(space, seed=0) -> dict[int, dict[str, float]]:
    rng = np.random.default_rng(seed)
    return {r: {k: float(rng.uniform(0.01, 1.0)) for k in keys_at(space, r)} for r in space.resolutions}


def synthetic_profile(space=CIFAR, name="test-cpu", n_cal=8, n_val=12, seed=0) -> DeviceProfile:
    """A profile as the profiler would write it: measured = 1.1 * layer sum + 0.05 ms, plus 2 % noise."""
    entries = {r: {k: LayerTiming(ms, ms * 0.01, 100) for k, ms in table.items()} for r, table in random_entries(space, seed).items()}
    genomes = space.sample_genomes(n_cal + n_val, seed=seed + 1)
    table = LatencyTable(space, name, {r: {k: t.ms for k, t in e.items()} for r, e in entries.items()})
    rng = np.random.default_rng(seed + 2)
    measured = table.layer_sum(genomes) * 1.1 + 0.05
    measured = measured * (1 + 0.02 * rng.standard_normal(len(measured)))
    splits = ["calibration"] * n_cal + ["validation"] * n_val
    measurements = [
        SubnetMeasurement(tuple(int(v) for v in g), float(m), float(m) * 0.01, 50, s, space.decode(g)[0].id)
        for g, m, s in zip(genomes, measured, splits, strict=True)
    ]
    meta = {
        "device": name,
        "runtime": "test",
        "runtime_version": "0",
        "hardware": "synthetic",
        "threads": 1,
        "batch_size": 1,
        "date": "2025-01-01T00:00:00",
        "repeats": 100,
        "warmup": 5,
        "spread": {},
    }
    profile = DeviceProfile(space.name, name, meta, entries, measurements, Correction())
    cal = profile.split("calibration")
    profile.correction = fit_affine(table.layer_sum(np.array([m.genome for m in cal])), [m.measured_ms for m in cal])
    profile.quality = profile.evaluate(space)
    return profile


def manual_sum(space, entries, arch) -> float:
    r = arch.r
    total = sum(entries[r][k] for k in [stem_key(space, r), first_block_key(space, r), *head_keys(space, r)])
    return total + sum(entries[r][slot_key(space, r, i, arch.ks[i], arch.e[i])] for i in arch.active_slots())


# ------------------------------------------------------------------ keys and the estimate
def test_keys_per_resolution_and_distinct():
    for space, distinct in ((CIFAR, 255), (OFA, 450)):
        per_r = [keys_at(space, r) for r in space.resolutions]
        assert all(len(k) == len(set(k)) for k in per_r)
        assert len(set().union(*per_r)) == distinct


def test_vectorised_estimate_equals_per_row_sum_of_keys():
    entries = random_entries(CIFAR)
    table = LatencyTable(CIFAR, "synthetic", entries, calibration=(1.3, 0.2))
    genomes = CIFAR.sample_genomes(200, seed=3)
    expected = np.array([manual_sum(CIFAR, entries, a) for a in CIFAR.decode(genomes)])
    np.testing.assert_allclose(table.layer_sum(genomes), expected, rtol=1e-12)
    np.testing.assert_allclose(table.estimate(genomes), expected * 1.3 + 0.2, rtol=1e-12)
    # a single genome, float-typed genomes (pymoo hands floats) and an inactive slot's genes changing nothing
    np.testing.assert_allclose(table.layer_sum(genomes[0]), expected[:1])
    np.testing.assert_allclose(table.layer_sum(genomes.astype(float)), expected)
    np.testing.assert_allclose(table.layer_sum(CIFAR.canonical(genomes)), expected)


def test_estimate_across_chunk_boundaries_matches_a_plain_gather():
    table = LatencyTable(CIFAR, "synthetic", random_entries(CIFAR))
    g = CIFAR.sample_genomes(9001, seed=5)  # more than two internal blocks of rows, the last one partial
    v = CIFAR.values(g)
    ref = table.slot_ms[g[:, -1:], np.arange(N_SLOTS), g[:, :N_SLOTS], g[:, N_SLOTS : 2 * N_SLOTS]]
    np.testing.assert_allclose(table.layer_sum(g), (ref * v["active"]).sum(1) + table.fixed_ms[g[:, -1]], rtol=1e-12)
    assert table.layer_sum(g[:0]).shape == (0,)


def test_estimate_rejects_out_of_range_genome():
    table = LatencyTable(CIFAR, "synthetic", random_entries(CIFAR))
    g = CIFAR.sample_genomes(2)
    g[1, -1] = 7
    with pytest.raises(ValueError, match="gene r"):
        table.estimate(g)


def test_missing_entry_names_the_layer_key():
    entries = random_entries(CIFAR)
    key = slot_key(CIFAR, 28, 9, 5, 4)
    del entries[28][key]
    with pytest.raises(MissingLayerError, match="expanded_conv-input") as info:
        LatencyTable(CIFAR, "holey", entries)
    assert key in str(info.value) and "28" in str(info.value)
    assert isinstance(info.value, ValueError)  # the CLI prints it as one `error:` line


@needs_official
def test_note10_sanity_values():
    table = load_note10(OFA, OFFICIAL)
    largest, smallest = table.estimate(OFA.encode([OFA.largest(), OFA.smallest()]))
    assert largest == pytest.approx(92.40, abs=0.01)
    assert smallest == pytest.approx(9.89, abs=0.01)
    assert table.slot_ms.shape == (5, N_SLOTS, 3, 3)


# ------------------------------------------------------------------ profile format
def test_fit_correction_recovers_an_affine_map():
    x = np.linspace(1, 5, 20)
    c = fit_affine(x, 1.25 * x + 0.4)
    assert c.scale == pytest.approx(1.25) and c.offset_ms == pytest.approx(0.4)
    with pytest.raises(ValueError, match="at least 2"):
        fit_affine([1.0], [2.0])


def test_one_disturbed_timing_does_not_tilt_the_correction():
    x = np.linspace(0.2, 0.8, 40)
    y = 1.05 * x + 0.01
    y[5] *= 1.5  # another process ran during this subnet's timing
    c = fit_affine(x, y)
    assert c.scale == pytest.approx(1.05, rel=1e-3) and c.offset_ms == pytest.approx(0.01, abs=1e-3)
    assert "Theil-Sen" in c.fitted_on


def test_profile_refit_rewrites_only_the_correction_and_quality(tmp_path, capsys):
    profile = synthetic_profile()
    profile.correction = Correction(scale=2.0, offset_ms=1.0)  # a deliberately bad fit
    profile.quality = profile.evaluate(CIFAR)
    path = save_profile(profile, tmp_path / "test-cpu.json")
    assert main(["profile", "--space", "cifar10", "--name", "test-cpu", "--out", str(path), "--refit", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mape"] < out["mape_before"]
    refit = load_profile(path, CIFAR)
    assert refit.entries == profile.entries and refit.measurements == profile.measurements
    assert refit.correction.fitted_on.startswith("Theil-Sen") and refit.quality["mape"] == pytest.approx(out["mape"])
    missing = tmp_path / "none.json"
    assert main(["profile", "--space", "cifar10", "--name", "x", "--out", str(missing), "--refit"]) == 2
    assert "not found" in capsys.readouterr().err and not missing.exists()
    assert main(["profile", "--space", "cifar10", "--name", "x"]) == 2
    assert "--runtime is required" in capsys.readouterr().err


def test_profile_round_trip(tmp_path):
    profile = synthetic_profile()
    path = save_profile(profile, tmp_path / "devices" / "test-cpu.json")
    assert [p.name for p in path.parent.iterdir()] == ["test-cpu.json"]  # no temporary file left behind
    loaded = load_profile(path, CIFAR)
    assert loaded.entries == profile.entries
    assert loaded.measurements == profile.measurements
    assert loaded.correction == profile.correction
    assert loaded.quality == profile.quality
    assert loaded.quality["n_validation"] == 12 and loaded.quality["kendall_tau"] > 0.5
    assert loaded.quality["mape"] < 5  # 2 % noise around an affine truth
    g = CIFAR.sample_genomes(50, seed=9)
    np.testing.assert_allclose(loaded.table(CIFAR).estimate(g), profile.table(CIFAR).estimate(g))
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["correction"]["kind"] == "affine"


def _write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: {"phases_done": ["full"], "minutes": 3}, "not an ofa-dash device profile"),
        (lambda d: [1, 2, 3], "not an ofa-dash device profile"),
        (lambda d: {**d, "schema_version": 99}, "schema version 99"),
        (lambda d: {**d, "space": "ofa-mbv3-w1.2"}, "for space 'ofa-mbv3-w1.2'"),
        (lambda d: {**d, "meta": {k: v for k, v in d["meta"].items() if k != "hardware"}}, "lacks \\['hardware'\\]"),
        (lambda d: {**d, "quality": {**d["quality"], "mape": 0.1}}, "does not match"),
        (lambda d: {**d, "correction": {**d["correction"], "kind": "spline"}}, "not supported"),
        (lambda d: {**d, "name": "Bad Name!"}, "device name"),
    ],
)
def test_invalid_profiles_are_refused(tmp_path, mutate, message):
    good = synthetic_profile().to_dict()
    path = _write(tmp_path / "p.json", mutate(good))
    with pytest.raises(ValueError, match=message):
        load_profile(path, CIFAR)


def test_bad_entry_value_and_genome_are_refused(tmp_path):
    d = synthetic_profile().to_dict()
    key = next(iter(d["entries"]["32"]))
    d["entries"]["32"][key]["ms"] = -1
    with pytest.raises(ValueError, match="finite number"):
        load_profile(_write(tmp_path / "a.json", d), CIFAR)
    d = synthetic_profile().to_dict()
    d["measurements"][0]["genome"][-1] = 9
    with pytest.raises(ValueError, match=r"measurements\[0\]"):
        load_profile(_write(tmp_path / "b.json", d), CIFAR)


def test_missing_entry_in_file_names_the_key(tmp_path):
    d = synthetic_profile().to_dict()
    key = slot_key(CIFAR, 24, 13, 7, 6)
    del d["entries"]["24"][key]
    with pytest.raises(MissingLayerError) as info:
        load_profile(_write(tmp_path / "p.json", d), CIFAR)
    assert key in str(info.value)


def test_device_names_are_checked():
    assert check_device_name("epyc-ort.fp32_1") == "epyc-ort.fp32_1"
    for bad in ("", "Upper", "a,b", "latency:x", "-lead", "x" * 41, "../up"):
        with pytest.raises(ValueError, match="device name"):
            check_device_name(bad)


# ------------------------------------------------------------------ registry
def test_load_devices_and_unknown_device(tmp_path):
    save_profile(synthetic_profile(name="cpu-a"), profile_path(CIFAR, "cpu-a", tmp_path))
    save_profile(synthetic_profile(name="cpu-b", seed=5), profile_path(CIFAR, "cpu-b", tmp_path))
    devices = load_devices(CIFAR, precomputed_dir=tmp_path)
    assert sorted(devices) == ["cpu-a", "cpu-b"]
    assert devices["cpu-a"].quality["n_validation"] == 12
    assert devices["cpu-a"].meta["range_ms"][0] > 0
    # precomputed_dir is the root, never a space's folder: a space folder holds no <space>/devices
    assert load_devices(CIFAR, precomputed_dir=tmp_path / "cifar10") == {}
    with pytest.raises(ValueError, match=r"unknown device 'gpu'.*\['cpu-a', 'cpu-b'\]"):
        get_device(CIFAR, "gpu", precomputed_dir=tmp_path)
    assert get_device(CIFAR, "cpu-b", precomputed_dir=tmp_path).name == "cpu-b"
    assert load_devices(OFA, precomputed_dir=tmp_path) == {}
    assert registry.load_devices is load_devices  # the registry lives in devices.py; the package re-exports it


def test_broken_profile_strict_and_lenient(tmp_path):
    save_profile(synthetic_profile(name="good"), profile_path(CIFAR, "good", tmp_path))
    profile_path(CIFAR, "broken", tmp_path).write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json is not valid JSON"):
        load_devices(CIFAR, precomputed_dir=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert list(load_devices(CIFAR, precomputed_dir=tmp_path, strict=False)) == ["good"]
    assert any("broken.json" in str(w.message) for w in caught)
    # a file whose name disagrees with the device it holds
    save_profile(synthetic_profile(name="other"), profile_path(CIFAR, "renamed", tmp_path))
    with pytest.raises(ValueError, match=r"file name must be other\.json"):
        get_device(CIFAR, "renamed", precomputed_dir=tmp_path)


@needs_official
def test_note10_joins_with_official_dir(tmp_path):
    assert device_names(OFA, OFFICIAL, tmp_path) == ["note10"]
    devices = load_devices(OFA, official_dir=OFFICIAL, precomputed_dir=tmp_path)
    assert devices["note10"].estimate(OFA.encode(OFA.largest()))[0] == pytest.approx(92.40, abs=0.01)
    assert "note10" not in load_devices(CIFAR, official_dir=OFFICIAL, precomputed_dir=tmp_path)  # its tables do not cover 24-32 px
    with pytest.raises(ValueError, match="--official DIR"):
        get_device(OFA, "note10", precomputed_dir=tmp_path)


# ------------------------------------------------------------------ report
def test_report_json(tmp_path, capsys):
    save_profile(synthetic_profile(name="cpu-a"), profile_path(CIFAR, "cpu-a", tmp_path))
    manifest = {
        "space": "cifar10",
        "recipe": {"name": "cpu", "epochs": 1},
        "data": "cifar10-jpeg (copy 2)",
        "minutes": 12.5,
        "phases_done": ["full"],
        "phases": {"full": {"minutes": 12.5, "hardware": "AMD EPYC, 2 cores"}},
    }
    (tmp_path / "cifar10" / "train_manifest.json").write_text(json.dumps(manifest))
    assert main(["report", "--space", "cifar10", "--precomputed", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"predictor", "devices", "supernet", "runs"} <= set(out)
    dev = out["devices"]["cpu-a"]
    assert {"kendall_tau", "mape", "n_validation", "runtime", "hardware"} <= set(dev)
    assert dev["n_validation"] == 12 and 0 < dev["mape"] < 5
    assert out["supernet"] == {
        "recipe": "cpu",
        "hardware": "AMD EPYC, 2 cores",
        "minutes": 12.5,
        "data": "cifar10-jpeg (copy 2)",
        "phases": ["full"],
        "supernet_version": None,
    }
    assert isinstance(out["runs"], int)


def test_report_on_empty_precomputed(tmp_path, capsys):
    assert main(["report", "--space", "cifar10", "--precomputed", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["devices"] == {} and out["supernet"] is None and out["predictor"] is None
    assert any(n.startswith("predictor:") for n in out["notes"])


@needs_official
def test_report_lists_note10_with_official(tmp_path, capsys):
    assert main(["report", "--space", "ofa-mbv3-w1.2", "--official", str(OFFICIAL), "--precomputed", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["devices"]["note10"]["n_validation"] == 0 and out["devices"]["note10"]["kendall_tau"] is None
    assert out["devices"]["note10"]["hardware"] == "Samsung Galaxy Note10"
    assert out["devices"]["note10"]["estimated_range_ms"] == pytest.approx([9.89, 92.40], abs=0.01)


@needs_official
def test_an_official_folder_without_note10_tables_is_said_not_dropped_silently(tmp_path, capsys):
    import shutil

    from ofa_dash.cli import main

    partial = tmp_path / "official"
    partial.mkdir()
    shutil.copy(OFFICIAL / "acc_predictor.pth", partial / "acc_predictor.pth")
    code = main(["predict", "--space", "ofa-mbv3-w1.2", "--arch", "smallest", "--official", str(partial), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert "note10" not in result["latency_ms"]
    assert "lacks" in result["warnings"][0] and "download-official" in result["warnings"][0]
    assert captured.err.startswith("warning: ") and "note10 device is left out" in captured.err
