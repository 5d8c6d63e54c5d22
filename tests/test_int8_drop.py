"""The int8 drop model (fitted on synthetic pairs), and the front on an int8 device axis showing the int8 accuracy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ofa_dash.cli import main
from ofa_dash.hardware.devices import profile_path
from ofa_dash.hardware.profile_format import save_profile
from ofa_dash.predictors.int8_drop import (
    MIN_INTERVAL_PAIRS,
    MIN_LINEAR_PAIRS,
    NO_MODEL,
    calibrate_int8_interval,
    drop_model_from_measurements,
    fit_int8_drop,
    int8_pairs,
    loo_int8_predictions,
)
from ofa_dash.predictors.intervals import conformal_half_width
from ofa_dash.space import get_space
from ofa_dash.store import RunStore
from ofa_dash.testing.demo import DEMO_VERSION, demo_profile
from ofa_dash.ui.catalogue import INT8_UNKNOWN, build_catalogue, int8_axes, with_accuracy
from ofa_dash.ui.fronts import front_view, int8_sources
from ofa_dash.ui.subnet_view import objectives_table
from ofa_dash.ui.tables import display_table

CIFAR = get_space("cifar10")
INT8 = "latency:demo-cpu-int8"


# --------------------------------------------------------------------------- fitting
def test_no_pairs_gives_no_model_and_no_number():
    model = fit_int8_drop([], [])
    assert model == NO_MODEL and not model.known
    assert np.isnan(model.predict([80.0])).all()
    assert "int8 drop unknown" in model.label()
    assert fit_int8_drop([80.0, np.nan], [np.nan, 79.0]).n_pairs == 0  # a pair needs both figures


def test_few_pairs_use_the_median_drop_with_its_leave_one_out_error():
    fp32 = np.array([70.0, 75.0, 80.0, 85.0])
    drops = np.array([0.4, 0.6, 0.5, 3.0])  # one bad quantization: the median shrugs it off
    model = fit_int8_drop(fp32, fp32 - drops)
    assert model.kind == "median" and model.n_pairs == 4
    assert model.median_drop == pytest.approx(0.55)
    assert model.predict([90.0])[0] == pytest.approx(89.45)
    # leave-one-out by hand: medians of the other three drops
    loo = [np.median([0.6, 0.5, 3.0]), np.median([0.4, 0.5, 3.0]), np.median([0.4, 0.6, 3.0]), np.median([0.4, 0.6, 0.5])]
    assert model.loo_mae == pytest.approx(np.mean(np.abs(np.array(loo) - drops)))
    assert "from 4 pairs" in model.label() and "median drop 0.55" in model.label()
    with pytest.raises(ValueError, match="pairs must match"):
        fit_int8_drop([1.0, 2.0], [1.0])


def test_many_pairs_fit_a_robust_line_that_ignores_an_outlier():
    rng = np.random.default_rng(0)
    fp32 = rng.uniform(70, 90, 40)
    drops = 0.5 + 0.1 * (90 - fp32) + rng.normal(0, 0.05, 40)  # smaller subnets lose more
    drops[3] = 25.0  # a collapsed quantization
    model = fit_int8_drop(fp32, fp32 - drops)
    assert len(fp32) >= MIN_LINEAR_PAIRS and model.kind == "linear" and model.n_pairs == 40
    assert model.slope == pytest.approx(-0.1, abs=0.01)
    assert model.drop([80.0])[0] == pytest.approx(1.5, abs=0.1)
    assert model.loo_mae < model.median_loo_mae
    d = model.to_dict()
    assert d["n_pairs"] == 40 and d["kind"] == "linear" and d["median_drop"] == pytest.approx(float(np.median(drops)))


def test_a_flat_drop_keeps_the_median_even_with_many_pairs():
    fp32 = np.linspace(70, 90, 20)
    model = fit_int8_drop(fp32, fp32 - 0.3)
    assert model.kind == "median" and model.median_drop == pytest.approx(0.3) and model.loo_mae == pytest.approx(0.0)


def test_pairs_come_from_records_with_both_figures_on_the_most_images():
    records = pd.DataFrame(
        [
            {"arch": "a", "top1": 80.0, "top1_int8": 79.0, "n_images": 100},
            {"arch": "a", "top1": 81.0, "top1_int8": 80.5, "n_images": 1000},
            {"arch": "a", "top1": 82.0, "n_images": 10000},  # fp32 only: not a pair
            {"arch": "b", "top1": 70.0, "top1_int8": None, "n_images": 100},
        ]
    )
    pairs = int8_pairs(records)
    assert pairs[["id", "top1", "top1_int8", "n_images"]].values.tolist() == [["a", 81.0, 80.5, 1000]]
    assert drop_model_from_measurements(records).median_drop == pytest.approx(0.5)
    assert int8_pairs(pd.DataFrame(columns=["arch", "top1"])).empty


# --------------------------------------------------------------------------- the int8 interval
def test_int8_interval_is_calibrated_end_to_end_leaving_each_pair_out():
    rng = np.random.default_rng(1)
    n = 14
    fp32 = rng.uniform(70, 85, n)
    int8 = fp32 - rng.uniform(0.0, 1.0, n)
    predicted = fp32 + rng.normal(0, 0.8, n)  # the accuracy predictor's own error on these subnets
    loo = loo_int8_predictions(predicted, fp32, int8)
    # by hand for one pair: its prediction minus the median drop of the other pairs
    others = np.arange(n) != 4
    assert loo[4] == pytest.approx(predicted[4] - np.median((fp32 - int8)[others]))
    interval, why = calibrate_int8_interval(predicted, fp32, int8, level=80)
    assert why is None and interval["n_calibration"] == n and interval["level"] == 80
    assert interval["half_width"] == pytest.approx(conformal_half_width(np.abs(int8 - loo), 80))
    assert 0.0 <= interval["coverage"] <= 100.0 and "leave-one-out" in interval["method"]
    # the stacked error is at least the predictor's: wider than the drop model's spread alone
    assert interval["half_width"] > conformal_half_width(np.abs(loo_int8_predictions(fp32, fp32, int8) - int8), 80)


def test_too_few_pairs_give_no_int8_interval_and_say_how_many_are_needed():
    interval, why = calibrate_int8_interval([80.0] * 9, [80.0] * 9, [79.5] * 9)
    assert interval is None and f"needs {MIN_INTERVAL_PAIRS}" in why and "9 measured int8 pairs" in why
    assert calibrate_int8_interval([np.nan] * 12, [80.0] * 12, [79.0] * 12)[0] is None  # pairs without a prediction do not count


# --------------------------------------------------------------------------- the front on an int8 axis
@pytest.fixture
def int8_env(env):
    """The demo root with an int8 twin of demo-cpu (``demo-cpu-int8``)."""
    save_profile(demo_profile(CIFAR, "demo-cpu-int8", 0.6, seed=7), profile_path(CIFAR, "demo-cpu-int8", env))
    return env


def _record_pairs(root, ids, drops, images=200):
    store = RunStore(root)
    for i, (sid, drop) in enumerate(zip(ids, drops, strict=True)):
        store.record_measurement("cifar10", {"arch": sid, "supernet_version": DEMO_VERSION, "top1": 60.0 + i, "top1_int8": 60.0 + i - drop, "n_images": images})


def test_int8_axes_only_when_every_latency_axis_is_int8():
    assert int8_axes(["top1", INT8]) and int8_axes(["top1", INT8, "macs"])
    assert not int8_axes(["top1", "latency:demo-cpu"]) and not int8_axes(["top1", INT8, "latency:demo-cpu"]) and not int8_axes(["top1", "macs"])


def test_without_pairs_the_int8_front_shows_fp32_tagged_unknown(int8_env):
    cat = build_catalogue(int8_env, "cifar10", sets=("archive",))
    assert not cat.int8_drop.known
    view = front_view(cat.points, ["top1", INT8])
    assert np.allclose(view.df["top1"], view.df["top1_pred"])
    assert (view.df["top1_source"] == INT8_UNKNOWN).all()
    assert "drop is unknown" in int8_sources(cat.int8_drop, ["top1", INT8])
    assert int8_sources(cat.int8_drop, ["top1", "latency:demo-cpu"]) == ""


def test_the_int8_front_uses_int8_accuracy_predicted_and_measured(int8_env):
    first = build_catalogue(int8_env, "cifar10", sets=("archive",)).points
    ids = first["id"].drop_duplicates().tolist()[:5]
    _record_pairs(int8_env, ids, [1.0, 1.2, 0.8, 1.1, 5.0])
    cat = build_catalogue(int8_env, "cifar10", sets=("archive",))
    assert cat.int8_drop.kind == "median" and cat.int8_drop.n_pairs == 5 and cat.int8_drop.median_drop == pytest.approx(1.1)

    view = front_view(cat.points, ["top1", INT8])
    predicted = ~view.df["id"].isin(ids)
    assert np.allclose(view.df.loc[predicted, "top1"], view.df.loc[predicted, "top1_pred"] - 1.1)
    assert view.df.loc[predicted, "top1_source"].str.startswith("predicted int8: the top-1 prediction minus the int8 drop model from 5 pairs").all()
    assert view.df["top1_pm"].isna().all()  # the fp32 interval is not the int8 figure's
    # the fp32 axis is untouched
    fp32 = front_view(cat.points, ["top1", "latency:demo-cpu"])
    assert np.allclose(fp32.df["top1"], fp32.df["top1_pred"])

    # a measured int8 model is shown wherever there is one (the fp32 toggle does not gate it)
    for prefer in (False, True):
        measured = front_view(cat.points, ["top1", INT8], prefer_measured=prefer).df
        row = measured[measured["id"] == ids[4]].iloc[0]
        assert row["top1"] == pytest.approx(64.0 - 5.0) and row["top1_source"] == "measured int8: live validation of the int8 model on 200 test images"

    table = display_table(view.df[predicted & view.df["pareto"]], ["demo-cpu-int8"]).frame
    assert set(table["Source"]) == {"predicted int8"}
    assert set(display_table(view.df[view.df["id"].isin(ids)], ["demo-cpu-int8"]).frame["Source"]) == {"measured int8"}
    # the Subnet / Compare pages' objectives carry the int8 rows
    rows = objectives_table(CIFAR, CIFAR.arch_from_id(ids[4]), None, None, cat.points[cat.points["id"] == ids[4]], cat.devices)
    by = dict(zip(rows["quantity"], rows["value"], strict=True))
    assert by["top-1 int8 (measured)"] == pytest.approx(59.0) and by["top-1 int8 (predicted)"] == pytest.approx(round(by["top-1 (predicted)"] - 1.1, 3))


def test_enough_pairs_give_the_predicted_int8_figures_their_calibrated_interval(int8_env, capsys):
    ids = build_catalogue(int8_env, "cifar10", sets=("archive",)).points["id"].drop_duplicates().tolist()[:12]
    _record_pairs(int8_env, ids, [0.5, 0.7, 0.9, 0.4, 1.2, 0.6, 0.8, 0.3, 1.0, 0.5, 0.7, 2.5])
    cat = build_catalogue(int8_env, "cifar10", sets=("archive",))
    assert cat.int8_interval is not None and cat.int8_interval["n_calibration"] == 12
    view = front_view(cat.points, ["top1", INT8]).df
    predicted = ~view["id"].isin(ids) & view["top1_int8_pred_pm"].notna()
    assert predicted.any()
    assert np.allclose(view.loc[predicted, "top1_pm"], cat.int8_interval["half_width"])
    assert (view.loc[predicted, "top1_level"] == 80).all()
    assert view.loc[view["id"].isin(ids), "top1_pm"].isna().all()  # measured int8 models: no interval
    # the fp32 axis keeps the fp32 predictor's interval, not the int8 one
    fp32 = front_view(cat.points, ["top1", "latency:demo-cpu"]).df
    assert not np.allclose(fp32["top1_pm"].fillna(-1), cat.int8_interval["half_width"])
    assert main(["report", "--space", "cifar10", "--precomputed", str(int8_env), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["predictor"]["int8_drop"]["interval"]["half_width"] == pytest.approx(cat.int8_interval["half_width"])
    line = int8_sources(cat.int8_drop, ["top1", INT8], cat.int8_interval)
    assert f"± is {cat.int8_interval['half_width']:.2f} points at 80 %" in line and "12 measured pairs" in line
    assert "needs 10 measured pairs" in int8_sources(cat.int8_drop, ["top1", INT8])
    other = cat.points[~cat.points["id"].isin(ids) & cat.points["top1_int8_pred_pm"].notna()].iloc[:1]
    rows = objectives_table(CIFAR, CIFAR.arch_from_id(other["id"].iloc[0]), None, None, other, cat.devices)
    assert "calibrated on measured int8 pairs" in rows.loc[rows["quantity"] == "top-1 int8 (predicted)", "source"].iloc[0]


def test_with_accuracy_int8_without_int8_columns_says_unknown():
    points = pd.DataFrame({"id": ["a"], "top1_pred": [80.0], "top1_pred_source": ["predicted: x"]})
    df = with_accuracy(points, int8=True)
    assert df["top1"].tolist() == [80.0] and df["top1_source"].tolist() == [INT8_UNKNOWN]


def test_report_json_has_the_int8_drop_model(int8_env, capsys):
    ids = build_catalogue(int8_env, "cifar10", sets=("archive",)).points["id"].drop_duplicates().tolist()[:3]
    _record_pairs(int8_env, ids, [0.5, 0.7, 0.9])
    assert main(["report", "--space", "cifar10", "--precomputed", str(int8_env), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    drop = report["predictor"]["int8_drop"]
    assert drop["n_pairs"] == 3 and drop["kind"] == "median" and drop["median_drop"] == pytest.approx(0.7) and drop["loo_mae"] is not None
    assert report["predictor"]["interval"] is None or "level" in report["predictor"]["interval"]  # existing keys unchanged
    assert drop["interval"] is None and any(n.startswith("predictor.int8_drop.interval: 3 measured int8 pairs") for n in report["notes"])


# --------------------------------------------------------------------------- measuring a pair
def test_validate_int8_records_a_pair_the_drop_model_reads(supernet_file, tiny_data, tmp_path):
    from ofa_dash.validation import validate_subnet  # deferred: torch and ONNX Runtime only for this test

    arch = CIFAR.sample(1, seed=3)[0]
    stages = []
    result = validate_subnet(
        CIFAR, arch, supernet_file, tiny_data, progress=lambda s, d, n: stages.append(s), store_root=tmp_path, measure_latency=False, int8=True
    )
    out = result.to_dict()
    assert "evaluating int8" in stages and 0.0 <= out["top1_int8"] <= out["top5_int8"] <= 100.0
    assert "training images" in out["int8_quantization"] or "random" in out["int8_quantization"]
    records = RunStore(tmp_path).measurements("cifar10")
    pairs = int8_pairs(records)
    assert pairs[["id", "top1", "top1_int8"]].values.tolist() == [[arch.id, out["top1"], out["top1_int8"]]]
    model = drop_model_from_measurements(records)
    assert model.n_pairs == 1 and model.median_drop == pytest.approx(out["top1"] - out["top1_int8"]) and model.loo_mae is None
