"""The predictor's calibrated accuracy interval: coverage measured on held-out subnets, the report contract, old files, overlap marks."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ofa_dash.cli import main
from ofa_dash.predictors import FittedPredictor, load_fitted_predictor, predictor_meta, predictor_path, predictor_report, save_predictor
from ofa_dash.predictors.fit import FitConfig, fit_predictor, recalibrate
from ofa_dash.predictors.intervals import (
    binomial_tolerance,
    calibrate_interval,
    conformal_half_width,
    cross_conformal_coverage,
    overlaps_neighbours,
    separable_steps,
)
from ofa_dash.predictors.measured import genome_matrix, read_measured, write_measured
from ofa_dash.space import get_space
from ofa_dash.ui import figures
from ofa_dash.ui.catalogue import build_catalogue, selection_table
from ofa_dash.ui.fronts import distinct_subnets, front_view, latency_errors, uncertainty_sources
from ofa_dash.ui.tables import display_table
from tests.conftest import OFFICIAL, ROOT

CIFAR = get_space("cifar10")
SHIPPED = ROOT / "precomputed" / "cifar10"
needs_shipped = pytest.mark.skipif(
    not ((SHIPPED / "predictor.pt").is_file() and (SHIPPED / "measured.parquet").is_file()), reason="shipped cifar10 predictor or measured subnets missing"
)


def _within(measured: float, level: float, n_fresh: int, n_calibration: int | None = None, z: float = 3.0) -> bool:
    """Is a coverage (percent) measured on ``n_fresh`` subnets within what chance allows around ``level``?

    The hit rate on fresh subnets varies binomially (1 / n_fresh); the half-width itself was
    estimated from ``n_calibration`` residuals, whose coverage varies like a Beta quantile (1 / n_calibration).
    """
    p = level / 100
    var = p * (1 - p) * (1 / n_fresh + (1 / n_calibration if n_calibration else 0.0))
    return abs(measured - level) <= 100 * z * math.sqrt(var)


# --------------------------------------------------------------------------- the method, truth known
def test_conformal_half_width_is_the_finite_sample_quantile():
    r = np.arange(1, 10, dtype=float)  # 9 residuals
    assert conformal_half_width(r, 80) == 8.0  # ceil(10 * 0.8) = 8th smallest
    assert conformal_half_width(r, 95) == math.inf  # rank 10 of 9: no finite width promises 95 %
    with pytest.raises(ValueError, match="between 0 and 100"):
        conformal_half_width(r, 120)


@pytest.mark.parametrize("noise", ["gaussian", "heavy-tailed"])
def test_calibrated_interval_covers_fresh_draws_at_the_stated_level(noise):
    """Errors of a known distribution: the half-width from 2,000 held-out pairs covers 80 % of 20,000 fresh ones."""
    rng = np.random.default_rng(3)

    def errors(n):
        return rng.normal(0, 0.4, n) if noise == "gaussian" else 0.3 * rng.standard_t(3, n)

    truth = rng.uniform(70, 80, 2000)
    interval = calibrate_interval(truth + errors(2000), truth, level=80)
    assert interval["level"] == 80 and interval["n_calibration"] == 2000
    assert _within(interval["coverage"], 80, 2000)  # cross-conformal estimate
    fresh = np.abs(errors(20000))
    assert _within(100 * np.mean(fresh <= interval["half_width"]), 80, 20000, 2000)
    if noise == "gaussian":  # the 80 % quantile of |N(0, 0.4)| is 1.2816 * 0.4
        assert interval["half_width"] == pytest.approx(1.2816 * 0.4, rel=0.06)


def test_cross_conformal_never_scores_a_fold_with_its_own_width():
    """One huge residual per fold of two: each fold's width comes from the other, so the measured coverage sees it."""
    r = np.array([0.1] * 9 + [100.0] + [0.1] * 9 + [100.0])
    assert cross_conformal_coverage(r, 80, folds=2, seed=0) <= 90.0
    with pytest.raises(ValueError, match="held-out subnets"):
        calibrate_interval(np.zeros(5), np.ones(5))


def _measured(n: int, seed: int, noise: float = 0.4) -> pd.DataFrame:
    """Subnets whose holdout top-1 is a known additive function of the architecture plus Gaussian noise."""
    g = CIFAR.canonical(CIFAR.sample_genomes(n, seed=seed))
    v = CIFAR.values(g)
    act = v["active"]
    truth = 70 + 0.2 * (((v["ks"] - 3) / 4.0) * act).sum(1) + 0.3 * (((v["e"] - 3) / 3.0) * act).sum(1) + 0.4 * v["d"].sum(1) + 0.05 * v["r"]
    y = truth + np.random.default_rng(seed + 1).normal(0, noise, n)
    ids = [a.id for a in CIFAR.decode(g)]
    return pd.DataFrame({"id": ids, "genome": [row.tolist() for row in g], "top1_holdout": y, "supernet_version": "v-test", "space": CIFAR.name})


@pytest.fixture(scope="module")
def synthetic_fit():
    df = _measured(3000, seed=5).drop_duplicates("id")
    return fit_predictor(CIFAR, df, FitConfig(candidates=("ridge",), folds=3))


def test_fit_stores_an_interval_whose_coverage_holds_on_unseen_subnets(synthetic_fit):
    pred, meta = synthetic_fit
    interval = meta["interval"]
    assert interval == pred.interval and interval["n_calibration"] == meta["n_test"]
    assert _within(interval["coverage"], 80, meta["n_test"])
    fresh = _measured(3000, seed=99)
    fresh = fresh[~fresh["id"].isin(set(_measured(3000, seed=5)["id"]))]
    hits = np.abs(pred.predict(genome_matrix(fresh)) - fresh["top1_holdout"].to_numpy()) <= interval["half_width"]
    assert _within(100 * hits.mean(), 80, len(fresh), meta["n_test"])


def test_a_small_fit_saves_without_an_interval_and_says_why(tmp_path):
    pred, meta = fit_predictor(CIFAR, _measured(30, seed=11), FitConfig(candidates=("ridge",), folds=2))
    assert meta["n_test"] < 10 and meta["interval"] is None and pred.interval is None
    save_predictor(pred, predictor_path(CIFAR, tmp_path))
    report = predictor_report(CIFAR, precomputed_dir=tmp_path)
    assert report["interval"] is None and "too few" in report["interval_note"]


# --------------------------------------------------------------------------- the shipped predictor
@needs_shipped
def test_shipped_predictor_coverage_on_its_held_out_subnets():
    """Recomputed here from the model and its 300 held-out subnets, not read back from the metadata."""
    pred = load_fitted_predictor(SHIPPED / "predictor.pt", CIFAR)
    meta = pred.meta
    assert pred.interval is not None, "the shipped predictor has no interval: run `fit-predictor --space cifar10 --calibrate-only`"
    held = read_measured(SHIPPED / "measured.parquet", CIFAR).drop_duplicates("id", keep="last").set_index("id").loc[meta["test_ids"]].reset_index()
    residuals = np.abs(pred.predict(genome_matrix(held)) - held["top1_holdout"].to_numpy())
    coverage = cross_conformal_coverage(residuals, 80, pred.interval["folds"], int(meta["split_seed"]))
    assert coverage == pytest.approx(pred.interval["coverage"], abs=0.01)
    assert pred.interval["half_width"] == pytest.approx(conformal_half_width(residuals, 80))
    assert abs(coverage - 80) <= min(5.0, binomial_tolerance(len(residuals), 80, z=2.0))  # the issue's +-5 points, and chance's 2 SE


@needs_shipped
def test_report_json_prints_the_interval_contract():
    out = subprocess.run([sys.executable, "-m", "ofa_dash", "report", "--space", "cifar10", "--json"], capture_output=True, text=True, cwd=ROOT, check=True)
    interval = json.loads(out.stdout)["predictor"]["interval"]
    assert interval["level"] == 80 and isinstance(interval["coverage"], float)
    assert abs(interval["coverage"] - interval["level"]) <= 5.0


# --------------------------------------------------------------------------- old files, the command
def _old_predictor(demo_root, tmp_path):
    """A copy of the demo root, whose predictor file was written without interval metadata (as before intervals)."""
    root = shutil.copytree(demo_root, tmp_path / "precomputed")
    assert "interval" not in predictor_meta(predictor_path(CIFAR, root), CIFAR)
    return root


def test_an_old_predictor_file_loads_and_has_no_interval(demo, tmp_path):
    from ofa_dash.commands.report import build_report

    root = _old_predictor(demo[0], tmp_path)
    pred = load_fitted_predictor(predictor_path(CIFAR, root), CIFAR)
    assert pred.interval is None and np.isfinite(pred.predict(CIFAR.sample_genomes(3, seed=1))).all()
    report = build_report(CIFAR, precomputed_dir=root)
    assert report["predictor"]["interval"] is None and "interval_note" not in report["predictor"]
    assert any(n.startswith("predictor.interval:") and "--calibrate-only" in n for n in report["notes"])
    cat = build_catalogue(root, "cifar10")
    assert cat.accuracy_interval is None and cat.points["top1_pred_pm"].isna().all()


def test_calibrate_only_adds_the_interval_and_keeps_every_prediction(demo, tmp_path, capsys):
    root = _old_predictor(demo[0], tmp_path)
    path, measured = predictor_path(CIFAR, root), root / "cifar10" / "measured.parquet"
    before = load_fitted_predictor(path, CIFAR)
    assert main(["fit-predictor", "--space", "cifar10", "--calibrate-only", "--out", str(path), "--measured", str(measured), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    after = load_fitted_predictor(path, CIFAR)
    assert printed["interval"] == after.interval and after.interval["level"] == 80 and after.interval["n_calibration"] == 12
    g = CIFAR.sample_genomes(200, seed=4)
    np.testing.assert_array_equal(before.predict(g), after.predict(g))
    assert predictor_report(CIFAR, precomputed_dir=root)["interval"]["coverage"] == after.interval["coverage"]


def test_calibrate_only_refuses_data_without_the_held_out_subnets(demo, tmp_path, capsys):
    root = _old_predictor(demo[0], tmp_path)
    path = predictor_path(CIFAR, root)
    other = tmp_path / "other.parquet"
    write_measured(_measured(30, seed=7).assign(supernet_version=predictor_meta(path, CIFAR)["supernet_version"]), other)
    blob = path.read_bytes()
    assert main(["fit-predictor", "--space", "cifar10", "--calibrate-only", "--out", str(path), "--measured", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "held-out subnets are not in the measured data" in err
    assert path.read_bytes() == blob  # nothing changed on disk
    assert main(["fit-predictor", "--space", "cifar10", "--calibrate-only", "--out", str(path), "--level", "100"]) == 2
    assert "--level must be between 0 and 100" in capsys.readouterr().err and path.read_bytes() == blob


@pytest.mark.skipif(not (OFFICIAL / "acc_predictor.pth").is_file(), reason="../shared/ofa-official not present")
def test_ofa_published_predictor_reports_no_interval(tmp_path):
    """OFA published no held-out subnets: no interval, and the report says why."""
    from ofa_dash.commands.report import build_report

    report = build_report(get_space("ofa-mbv3-w1.2"), OFFICIAL, tmp_path)
    assert report["predictor"]["interval"] is None
    assert any("no held-out subnets" in n for n in report["notes"])


# --------------------------------------------------------------------------- the front
def test_overlap_marks_on_a_hand_made_front():
    values = np.array([70.0, 70.3, 72.0, 74.0, 74.2, 76.0])
    half = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert overlaps_neighbours(values, half).tolist() == [True, True, False, True, True, False]
    assert overlaps_neighbours(values, np.zeros(6)).tolist() == [False] * 6  # point estimates: all apart
    assert overlaps_neighbours(values, np.array([0.1, np.nan, 0.5, 0.5, 0.5, 0.5])).tolist() == [
        False,
        False,
        False,
        True,
        True,
        False,
    ]  # NaN: no width; 0.3 > 0.1 + 0
    assert separable_steps(values, half) == 4  # 70.0, 72.0, 74.0, 76.0
    assert separable_steps(values[:0], half[:0]) == 0


def _front_points() -> pd.DataFrame:
    """Six front subnets (latency up, top-1 up) and one dominated, predicted with a ± 0.5 interval at 80 %; one found by two runs."""
    top1 = [70.0, 70.3, 72.0, 74.0, 74.2, 76.0, 69.0, 72.0]
    lat = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.45, 1.2]
    ids = ["a", "b", "c", "d", "e", "f", "dominated", "c"]
    return pd.DataFrame(
        {
            "run_id": ["r1"] * 7 + ["r2"],
            "algorithm": ["nsga2"] * 7 + ["spea2"],
            "seed": [1] * 7 + [2],
            "set": "archive",
            "id": ids,
            "genome": ids,
            "top1_pred": top1,
            "top1_pred_source": "predicted: a test predictor",
            "top1_pred_pm": 0.5,
            "top1_pred_level": 80.0,
            "latency:dev": lat,
            "macs": 10.0,
        }
    )


def test_front_view_marks_front_subnets_the_predictor_cannot_tell_apart():
    view = front_view(_front_points(), ["top1", "latency:dev"], knees=False)
    marks = dict(zip(view.df["id"], view.df["distinguishable"], strict=True))
    assert {k: bool(v) for k, v in marks.items() if k != "dominated"} == {"a": False, "b": False, "c": True, "d": False, "e": False, "f": True}
    assert pd.isna(marks["dominated"])
    assert view.distinguishable_phrase().startswith("2 of 6 front subnets are distinguishable by the predictor from their neighbours; 4 steps")
    assert "80 % intervals, top-1 ± 0.50 points" in view.distinguishable_phrase()
    # the table says it in words, with the ± in its own column
    shown = display_table(distinct_subnets(view.front), ["dev"]).frame
    assert shown["Distinguishable"].tolist().count("not distinguishable by the predictor") == 4
    assert shown["± (80 %, points)"].tolist() == [0.5] * 6
    assert {"top1_pm", "distinguishable"} <= set(selection_table(distinct_subnets(view.front), ["dev"]).columns)
    # 3D fronts have no neighbours: no mark, no sentence
    view3 = front_view(_front_points(), ["top1", "latency:dev", "macs"], knees=False)
    assert "distinguishable" not in view3.df and view3.distinguishable_phrase() == ""


def test_a_measured_top1_has_no_interval_and_no_interval_means_no_marks():
    points = _front_points().assign(top1_measured=np.nan)
    points.loc[points["id"] == "b", "top1_measured"] = 71.5
    points["measured_images"] = 100
    view = front_view(points, ["top1", "latency:dev"], prefer_measured=True, knees=False)
    row = view.df[view.df["id"] == "b"].iloc[0]
    assert pd.isna(row["top1_pm"]) and row["top1"] == 71.5
    bare = front_view(_front_points().drop(columns=["top1_pred_pm", "top1_pred_level"]), ["top1", "latency:dev"], knees=False)
    assert bare.df["distinguishable"].isna().all() and bare.distinguishable_phrase() == ""
    assert "Distinguishable" not in display_table(bare.front, ["dev"]).frame


def test_hover_states_the_interval_and_the_latency_error_once_per_trace():
    view = front_view(_front_points(), ["top1", "latency:dev"], knees=False)
    fig = figures.front_2d(view.df, "latency:dev", ["dev"], latency_error={"latency:dev": 2.04})
    traces = [t for t in fig.data if t.customdata is not None]
    assert traces
    for t in traces:
        assert "top-1 %{y:.2f} % ± 0.50 (80 %) (predicted)" in t.hovertemplate
        assert "latency on dev %{x:.3r} ms ± 2.0 % (mean error)" in t.hovertemplate
        assert len(t.customdata[0]) <= 2  # the shared ± goes into the template, not into every point's data


def test_catalogue_carries_the_interval_of_the_predictor_that_scored_the_runs(demo, tmp_path):
    root = _old_predictor(demo[0], tmp_path)
    path = predictor_path(CIFAR, root)
    pred = recalibrate(load_fitted_predictor(path, CIFAR), read_measured(root / "cifar10" / "measured.parquet", CIFAR))
    save_predictor(pred, path)
    cat = build_catalogue(root, "cifar10")
    assert cat.accuracy_interval == pred.interval
    assert (cat.points["top1_pred_pm"] == pred.interval["half_width"]).all() and (cat.points["top1_pred_level"] == 80).all()
    # a predictor refitted since the runs (another version) leaves their figures without an interval
    save_predictor(FittedPredictor(CIFAR, pred.model, {**pred.meta, "fitted": "2030-01-01T00:00:00Z"}), path)
    assert build_catalogue(root, "cifar10").points["top1_pred_pm"].isna().all()
    devices = {name: info for name, info in cat.devices.items()}
    errors = latency_errors(devices, list(devices))
    assert errors and all(v == pytest.approx(devices[k.split(":", 1)[1]].quality["mape"]) for k, v in errors.items())
    sentence = uncertainty_sources(cat.accuracy_interval, next(iter(devices.values())))
    assert "80 % interval" in sentence and "measured coverage" in sentence and "mean absolute error" in sentence


def test_fronts_page_says_how_many_front_subnets_the_predictor_can_tell_apart(env):
    from apptest_helpers import _ok, _page

    path = predictor_path(CIFAR, env)
    save_predictor(recalibrate(load_fitted_predictor(path, CIFAR), read_measured(env / "cifar10" / "measured.parquet", CIFAR)), path)
    at = _page("fronts").run()
    _ok(at)
    captions = [c.value for c in at.main.caption]
    assert any("on the Pareto front" in c and "front subnets are distinguishable by the predictor" in c for c in captions)
    assert any("measured coverage" in c and "mean absolute error" in c for c in captions)
