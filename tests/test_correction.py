"""The latency correction's forms: chosen by cross-validation, compiled into per-layer costs, saved and loaded with a profile."""

import json

import numpy as np
import pytest

from ofa_dash.hardware.correction import Correction, fit_affine, fit_correction
from ofa_dash.hardware.counters import count
from ofa_dash.hardware.latency import LatencyTable, keys_at
from ofa_dash.hardware.profile_build import refit_correction
from ofa_dash.hardware.profile_format import DeviceProfile, LayerTiming, SubnetMeasurement, load_profile, save_profile
from ofa_dash.search.fast import FastLatency
from ofa_dash.space import get_space
from ofa_dash.ui.compare_view import latency_by_stage

CIFAR = get_space("cifar10")
STAGE_SCALES = np.array([1.4, 0.35, 0.5, 0.5, 0.7, 0.8])  # fixed layers, stages 1-5: early stages cost less inside a subnet


def _table(seed=0) -> LatencyTable:
    rng = np.random.default_rng(seed)
    return LatencyTable(CIFAR, "t", {r: {k: float(rng.uniform(0.01, 0.2)) for k in keys_at(CIFAR, r)} for r in CIFAR.resolutions})


def _truth(table, genomes, per_stage=True, ms_per_mparam=0.0, noise=0.01, seed=1):
    fixed, stages = table.stage_sums(genomes)
    if per_stage:
        y = STAGE_SCALES[0] * fixed + stages @ STAGE_SCALES[1:] + ms_per_mparam * count(CIFAR, genomes)["params"] * 1e-6 + 0.1
    else:
        y = 1.1 * (fixed + stages.sum(axis=1)) + 0.05
    return y * (1 + noise * np.random.default_rng(seed).standard_normal(len(y)))


def _mape(est, y):
    return float(np.mean(np.abs(est - y) / y) * 100)


def test_stage_sums_add_up_to_the_layer_sum():
    table = _table()
    g = CIFAR.sample_genomes(50, seed=3)
    fixed, stages = table.stage_sums(g)
    assert stages.shape == (50, 5) and np.allclose(fixed + stages.sum(axis=1), table.layer_sum(g))


def test_a_per_stage_cost_is_found_and_beats_one_scale_on_held_out_subnets():
    table = _table()
    g = CIFAR.sample_genomes(180, seed=4)
    y = _truth(table, g)
    cal, val = slice(0, 120), slice(120, 180)
    c = fit_correction(table, g[cal], y[cal])
    assert c.kind in ("per-stage", "per-stage+size") and "cross-validated" in c.fitted_on and "affine" in c.fitted_on
    assert np.allclose(c.part_scales, STAGE_SCALES, rtol=0.1)
    table.set_layer_costs(*c.layer_costs(table))
    affine = fit_affine(table.layer_sum(g[cal]), y[cal])
    assert _mape(table.estimate(g[val]), y[val]) < 0.5 * _mape(table.layer_sum(g[val]) * affine.scale + affine.offset_ms, y[val])


def test_a_size_term_is_found_when_weights_cost_time():
    table = _table()
    g = CIFAR.sample_genomes(150, seed=5)
    y = _truth(table, g, ms_per_mparam=0.3)
    c = fit_correction(table, g, y)
    assert c.kind == "per-stage+size" and c.ms_per_mparam == pytest.approx(0.3, rel=0.15)


def test_few_calibration_subnets_or_an_affine_truth_keep_one_scale():
    table = _table()
    g = CIFAR.sample_genomes(120, seed=6)
    assert fit_correction(table, g[:40], _truth(table, g[:40])).kind == "affine"  # 40 subnets cannot pay for 7 numbers
    c = fit_correction(table, g, _truth(table, g, per_stage=False))
    assert c.kind == "affine" and c.scale == pytest.approx(1.1, rel=0.03) and "Theil-Sen" in c.fitted_on


def test_the_corrected_layer_costs_are_what_every_estimate_adds_up():
    table = _table()
    g = CIFAR.sample_genomes(200, seed=7)
    c = Correction(kind="per-stage+size", part_scales=tuple(STAGE_SCALES), ms_per_mparam=0.2, ms_per_mmac=0.01, offset_ms=-0.05)
    table.set_layer_costs(*c.layer_costs(table))
    fixed, stages = table.stage_sums(g)
    counts = count(CIFAR, g)
    by_hand = STAGE_SCALES[0] * fixed + stages @ STAGE_SCALES[1:] + 0.2 * counts["params"] * 1e-6 + 0.01 * counts["macs"] * 1e-6 - 0.05
    assert np.allclose(table.estimate(g), by_hand, rtol=1e-12)
    fast = FastLatency(CIFAR, table)
    assert fast.fast and np.allclose(fast(g), by_hand, rtol=1e-9)
    arch = CIFAR.decode(g[:1])[0]
    parts = latency_by_stage(table, arch)
    assert parts["ms"].sum() == pytest.approx(by_hand[0], rel=1e-9) and parts["part"].iloc[-1] == "fitted overhead"
    with pytest.raises(ValueError, match="part scales"):
        Correction(kind="per-stage", part_scales=(1.0, 1.0))
    with pytest.raises(ValueError, match="do not fit table"):
        table.set_layer_costs(table.slot_ms[:1], table.fixed_ms, 0.0)


def _profile(g, y) -> DeviceProfile:
    table = _table()
    entries = {r: {k: LayerTiming(ms, ms * 0.01, 100) for k, ms in e.items()} for r, e in table.entries.items()}
    splits = ["calibration"] * 120 + ["validation"] * (len(g) - 120)
    measurements = [
        SubnetMeasurement(tuple(int(v) for v in row), float(m), float(m) * 0.01, 50, s, CIFAR.decode(row)[0].id) for row, m, s in zip(g, y, splits, strict=True)
    ]
    meta = {
        "device": "t",
        "runtime": "test",
        "runtime_version": "0",
        "hardware": "synthetic",
        "threads": 1,
        "batch_size": 1,
        "date": "2026-01-01",
        "repeats": 1,
        "warmup": 1,
        "spread": {},
    }
    return DeviceProfile(CIFAR.name, "t", meta, entries, measurements, Correction())


def test_a_per_stage_profile_saves_loads_and_refuses_damaged_corrections(tmp_path):
    g = CIFAR.sample_genomes(160, seed=8)
    profile = refit_correction(_profile(g, _truth(_table(), g, ms_per_mparam=0.3)), CIFAR)
    assert profile.correction.kind == "per-stage+size" and profile.quality["kendall_tau"] > 0.9
    path = save_profile(profile, tmp_path / "t.json")
    again = load_profile(path, CIFAR)
    assert again.correction == profile.correction and again.quality["mape"] == pytest.approx(profile.quality["mape"])
    doc = json.loads(path.read_text())
    assert doc["correction"]["part_scales"] == list(profile.correction.part_scales) and "part_scales" in doc["correction"]["formula"]
    for change, message in (
        ({"kind": "cubic"}, "kind 'cubic' is not supported"),
        ({"part_scales": [1.0, 2.0]}, "needs 6 part scales"),
        ({"part_scales": [1.0, "x", 1, 1, 1, 1]}, r"part_scales\[1\] must be a finite number"),
        ({"ms_per_mparam": None}, "ms_per_mparam must be a finite number"),
    ):
        bad = json.loads(path.read_text())
        bad["correction"].update(change)
        target = tmp_path / "bad.json"
        target.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=message):
            load_profile(target, CIFAR)


def test_the_devices_page_says_which_form_and_its_numbers():
    from ofa_dash.ui.devices_view import correction_line

    affine = Correction(scale=1.1, offset_ms=0.05, fitted_on="Theil-Sen on 40 calibration subnets").to_dict()
    assert correction_line(affine) == "correction (affine): scale 1.100, offset 0.050 ms"
    rich = Correction(kind="per-stage+size", part_scales=tuple(STAGE_SCALES), ms_per_mparam=0.2, ms_per_mmac=0.01, offset_ms=-0.05, fitted_on="f").to_dict()
    line = correction_line(rich)
    assert line.startswith("correction (per-stage+size): fixed layers x 1.40, stages x 0.35, 0.50, 0.50, 0.70, 0.80")
    assert "0.200 ms per M params" in line and line.endswith("offset -0.050 ms; f")


def test_anchored_cpu_profiles_time_enough_calibration_subnets_for_the_per_stage_forms():
    from ofa_dash.hardware.correction import MIN_PER_PARAMETER, _n_numbers
    from ofa_dash.hardware.runtimes import default_calibration_subnets

    for runtime in ("openvino", "ort", "ort-int8"):
        assert default_calibration_subnets(runtime) >= MIN_PER_PARAMETER * _n_numbers("per-stage+size"), runtime
    assert default_calibration_subnets("torch") == 40
