"""Accuracy predictors: OFA's published one, the project's fitted one, their files, errors and CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from ofa_dash.cli import main
from ofa_dash.predictors import (
    FittedPredictor,
    block_onehot,
    load_fitted_predictor,
    load_official_predictor,
    load_predictor,
    onehot_features,
    predictor_path,
    predictor_report,
    save_predictor,
)
from ofa_dash.predictors.fit import FitConfig, MlpSpec, _MlpEnsemble, fit_predictor, metrics, split_indices, trees_to_mlp
from ofa_dash.predictors.measured import write_measured
from ofa_dash.space import N_SLOTS, get_space
from tests.conftest import OFFICIAL, ROOT

CIFAR = get_space("cifar10")
OFA = get_space("ofa-mbv3-w1.2")
needs_official = pytest.mark.skipif(not (OFFICIAL / "acc_predictor.pth").is_file(), reason="../shared/ofa-official not present")
FAST = FitConfig(folds=3, mlp=MlpSpec(steps=600, members=2, width=64), gbrt_trees=60)


def _synthetic_target(space, g: np.ndarray, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """A known, mostly additive function of the subnet (bigger is better) with a resolution x depth interaction."""
    v = space.values(g)
    act = v["active"]
    k = ((v["ks"] - 3) / 4.0 * act).sum(1)
    e = ((v["e"] - 3) / 3.0 * act).sum(1)
    d = v["d"].sum(1)
    r = (v["r"] - min(space.resolutions)) / max(1, max(space.resolutions) - min(space.resolutions))
    return 85.0 + 0.15 * k + 0.2 * e + 0.3 * d + 1.5 * r + 0.1 * r * d + np.random.default_rng(seed).normal(0, noise, len(g))


def _measured_frame(space, n: int = 200, seed: int = 0) -> pd.DataFrame:
    g = space.sample_genomes(n, seed=seed)
    ids = [a.id for a in space.decode(g)]
    return pd.DataFrame(
        {"id": ids, "genome": [row.tolist() for row in g], "top1_holdout": _synthetic_target(space, g), "supernet_version": "v-test", "space": space.name}
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[FittedPredictor, dict]:
    torch.manual_seed(0)
    return fit_predictor(CIFAR, _measured_frame(CIFAR), FAST)


# --------------------------------------------------------------------------- features
def _reference_onehot(space, genome: np.ndarray) -> np.ndarray:
    """Per-row, loop-based reading of the feature layout (the slow, obvious way)."""
    arch = space.decode(genome[None, :])[0]
    x = np.zeros(120 + len(space.resolutions), dtype=np.float32)
    for i in arch.active_slots():
        x[3 * i + space.kernel_choices.index(arch.ks[i])] = 1
        x[60 + 3 * i + space.expand_choices.index(arch.e[i])] = 1
    x[120 + space.resolutions.index(arch.r)] = 1
    return x


@pytest.mark.parametrize("space", [CIFAR, OFA], ids=lambda s: s.name)
def test_onehot_features_match_a_per_row_reference(space):
    g = np.concatenate([space.sample_genomes(64, seed=3), space.encode([space.largest(), space.smallest()])])
    ref = np.stack([_reference_onehot(space, row) for row in g])
    np.testing.assert_array_equal(onehot_features(space, g), ref)
    np.testing.assert_array_equal(block_onehot(space, g), ref[:, :120])
    # 5 depths of 2..4 blocks: between 10 and 20 active slots, each with one kernel and one expand bit
    ones = block_onehot(space, g).sum(1)
    assert ones.min() >= 20 and ones.max() <= 40


@needs_official
def test_ofa_features_follow_the_published_layout():
    pred = load_official_predictor(OFA, OFFICIAL)
    arch = OFA.largest()
    x = pred.features(OFA.encode(arch))[0]
    assert x.shape == (128,) and x.sum() == 20 + 20 + 1
    assert x[3 * 0 + 2] == 1 and x[60 + 3 * 19 + 2] == 1 and x[127] == 1  # kernel 7 -> k=2, expand 6 -> k=2, 224 -> 127
    assert pred.features(OFA.encode(OFA.smallest()))[0][123] == 1  # 160 -> 123


# --------------------------------------------------------------------------- OFA's predictor
@needs_official
def test_ofa_predictor_reproduces_the_published_sanity_values():
    pred = load_official_predictor(OFA, OFFICIAL)
    top1 = pred.predict(OFA.encode([OFA.largest(), OFA.smallest()]))
    assert top1 == pytest.approx([83.59, 75.31], abs=0.005)


@needs_official
def test_ofa_predictor_vectorised_equals_per_row():
    pred = load_official_predictor(OFA, OFFICIAL)
    g = OFA.sample_genomes(40, seed=1)
    batch = pred.predict(g)
    rows = np.array([pred.predict(g[i : i + 1])[0] for i in range(len(g))])
    np.testing.assert_allclose(batch, rows, atol=1e-4)
    assert batch.shape == (40,) and np.all((batch > 50) & (batch < 100))


def test_official_predictor_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="download-official"):
        load_official_predictor(OFA, tmp_path)
    with pytest.raises(ValueError, match=r"resolutions 112\.\.224"):
        load_official_predictor(CIFAR, tmp_path)
    torch.save({"0.weight": torch.zeros(3, 3)}, tmp_path / "acc_predictor.pth")
    with pytest.raises(ValueError, match="does not match OFA's predictor"):
        load_official_predictor(OFA, tmp_path)


# --------------------------------------------------------------------------- fitting
def test_fit_learns_a_known_function_and_reports_the_comparison(fitted):
    pred, meta = fitted
    assert meta["kendall_tau"] > 0.85 and meta["rmse"] < 0.4
    assert {r["model"] for r in meta["comparison"]} == {"mlp", "ridge", "gbrt"}
    assert sum(r["selected"] for r in meta["comparison"]) == 1
    selected = next(r for r in meta["comparison"] if r["selected"])
    assert selected["model"] == meta["model_name"] and selected["kendall_tau"] == meta["kendall_tau"]
    assert selected["cv_kendall_tau"] == max(r["cv_kendall_tau"] for r in meta["comparison"])
    assert (meta["n_measured"], meta["n_train"], meta["n_test"]) == (200, 160, 40)
    assert meta["supernet_version"] == "v-test" and meta["features"]["n_features"] == 123
    # the held-out rows are the seeded 20 % and the reported figures are recomputable from them
    df = _measured_frame(CIFAR)
    _, test = split_indices(200, 0.2, 0)
    assert meta["test_ids"] == df["id"].iloc[test].tolist()
    g = np.stack(df["genome"].iloc[test].map(np.asarray))
    assert metrics(pred.predict(g), df["top1_holdout"].iloc[test])["rmse"] == pytest.approx(meta["rmse"], abs=1e-4)


@needs_official
def test_mlp_fits_ofa_predictor_outputs():
    ofa = load_official_predictor(OFA, OFFICIAL)
    df = _measured_frame(OFA, n=300, seed=5)
    df["top1_holdout"] = ofa.predict(np.stack(df["genome"].map(np.asarray)))
    _, meta = fit_predictor(OFA, df, FitConfig(folds=2, candidates=("mlp",), mlp=MlpSpec(steps=1500, width=64)))
    assert meta["model_name"] == "mlp" and meta["kendall_tau"] > 0.7


def test_mlp_ensemble_compiles_to_the_same_function():
    torch.manual_seed(0)
    ens = _MlpEnsemble(30, MlpSpec(width=16, members=3))
    x = torch.rand(50, 30)
    with torch.no_grad():
        expected = ens(x).mean(1) * 2.5 + 90.0
        got = ens.compile(90.0, 2.5)(x).squeeze(1)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_gradient_boosted_trees_become_an_exact_mlp():
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = (rng.random((400, 25)) < 0.4).astype(np.float32)
    y = 2 * x[:, 0] * x[:, 1] + x[:, 2] - x[:, 5] * (1 - x[:, 7]) + rng.normal(0, 0.1, 400)
    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0).fit(x, y)
    seq = trees_to_mlp(gbr, 25)
    probe = (rng.random((1000, 25)) < 0.5).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(seq(torch.from_numpy(probe)).squeeze(1).numpy(), gbr.predict(probe), atol=1e-4)


def test_fit_refuses_bad_tables():
    df = _measured_frame(CIFAR, n=30)
    with pytest.raises(ValueError, match="at least 20"):
        fit_predictor(CIFAR, df.iloc[:10], FAST)
    mixed = df.assign(supernet_version=["a"] * 15 + ["b"] * 15)
    with pytest.raises(ValueError, match="several supernet versions"):
        fit_predictor(CIFAR, mixed, FAST)
    with pytest.raises(ValueError, match="unknown predictor candidate"):
        fit_predictor(CIFAR, df, FitConfig(candidates=("svm",)))


# --------------------------------------------------------------------------- files
def test_fitted_predictor_vectorised_equals_per_row(fitted):
    pred, _ = fitted
    g = CIFAR.sample_genomes(50, seed=9)
    rows = np.array([pred.predict(g[i : i + 1])[0] for i in range(len(g))])
    np.testing.assert_allclose(pred.predict(g), rows, atol=1e-4)


def test_save_load_round_trip(fitted, tmp_path):
    pred, meta = fitted
    path = save_predictor(pred, tmp_path / "cifar10" / "predictor.pt")
    blob = torch.load(path, weights_only=True)
    assert blob["format"] == "ofa-dash-predictor" and blob["space"] == "cifar10"
    assert json.loads(blob["meta"])["rmse"] == meta["rmse"]
    g = CIFAR.sample_genomes(100, seed=2)
    for loaded in (
        load_fitted_predictor(path, CIFAR),
        load_predictor(CIFAR, precomputed_dir=tmp_path),
        load_predictor("cifar10", precomputed_dir=tmp_path),
    ):
        assert isinstance(loaded, FittedPredictor)
        np.testing.assert_array_equal(loaded.predict(g), pred.predict(g))
        assert loaded.meta["comparison"] == meta["comparison"]
        assert "measured subnets" in loaded.source and loaded.version.startswith("v-test")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["cifar10", "predictor.pt"]  # no temp files left


def test_the_search_fast_path_accepts_the_fitted_predictor(fitted):
    from ofa_dash.search.fast import FastPredictor

    pred, _ = fitted
    fast = FastPredictor(CIFAR, pred)
    assert fast.fast
    g = CIFAR.sample_genomes(20, seed=4)
    np.testing.assert_allclose(fast(g), pred.predict(g), atol=1e-3)


def test_predictor_file_errors_are_clear(fitted, tmp_path):
    pred, _ = fitted
    with pytest.raises(FileNotFoundError, match="fit-predictor"):
        load_fitted_predictor(tmp_path / "none.pt", CIFAR)
    with pytest.raises(FileNotFoundError, match="no accuracy predictor for space 'cifar10'"):
        load_predictor(CIFAR, precomputed_dir=tmp_path)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not an ofa-dash predictor"):
        load_fitted_predictor(foreign, CIFAR)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable"):
        load_fitted_predictor(garbage, CIFAR)
    good = save_predictor(pred, tmp_path / "good.pt")
    with pytest.raises(ValueError, match=r"for space .cifar10., not .ofa-mbv3-w1\.2."):
        load_fitted_predictor(good, OFA)
    blob = torch.load(good, weights_only=True)
    meta = json.loads(blob["meta"])
    meta["features"]["resolutions"] = [24, 32]
    torch.save({**blob, "meta": json.dumps(meta)}, tmp_path / "stale.pt")
    with pytest.raises(ValueError, match="refit"):
        load_fitted_predictor(tmp_path / "stale.pt", CIFAR)
    meta["features"]["resolutions"] = list(CIFAR.resolutions)
    torch.save({**blob, "meta": json.dumps(meta), "state_dict": {"0.weight": torch.zeros(1)}}, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="weights do not match"):
        load_fitted_predictor(tmp_path / "broken.pt", CIFAR)
    # same shapes, altered values (what garbled bytes do): refused, instead of predictions shifted silently
    shifted = {k: v * 1.01 if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    torch.save({**blob, "state_dict": shifted}, tmp_path / "shifted.pt")
    with pytest.raises(ValueError, match="is damaged"):
        load_fitted_predictor(tmp_path / "shifted.pt", CIFAR)


def test_load_predictor_prefers_the_fitted_file_and_falls_back_to_ofa(fitted, tmp_path):
    if (OFFICIAL / "acc_predictor.pth").is_file():
        assert load_predictor(OFA, official_dir=OFFICIAL, precomputed_dir=tmp_path).name == "ofa-published"
    save_predictor(fitted[0], tmp_path / "cifar10" / "predictor.pt")
    assert isinstance(load_predictor(CIFAR, official_dir=OFFICIAL, precomputed_dir=tmp_path), FittedPredictor)


def test_predictor_report(fitted, tmp_path):
    with pytest.raises(FileNotFoundError):
        predictor_report(CIFAR, tmp_path)
    save_predictor(fitted[0], predictor_path(CIFAR, tmp_path))
    rep = predictor_report(CIFAR, tmp_path)
    assert rep["rmse"] == fitted[1]["rmse"] and rep["kendall_tau"] == fitted[1]["kendall_tau"] and rep["n_measured"] == 200
    assert len(rep["comparison"]) == 3 and rep["supernet_version"] == "v-test"
    json.dumps(rep)  # report prints it
    if (OFFICIAL / "acc_predictor.pth").is_file():
        ofa = predictor_report(OFA, tmp_path, official_dir=OFFICIAL)
        assert ofa["rmse"] is None and ofa["name"] == "ofa-published"


# --------------------------------------------------------------------------- CLI
PREDICT_KEYS = {"arch", "top1", "latency_ms", "macs", "params", "peak_mem", "predictor"}


@needs_official
@pytest.mark.parametrize(("arch", "top1", "note10"), [("largest", 83.59, 92.40), ("smallest", 75.31, 9.89)])
def test_cli_predict_on_the_official_space(arch, top1, note10):
    r = subprocess.run(
        [sys.executable, "-m", "ofa_dash", "predict", "--space", "ofa-mbv3-w1.2", "--arch", arch, "--official", str(OFFICIAL), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= PREDICT_KEYS
    assert out["top1"] == pytest.approx(top1, abs=0.005)
    assert out["latency_ms"]["note10"] == pytest.approx(note10, abs=0.005)
    assert out["arch"] == OFA.parse_arch(arch).id and out["predictor"]["name"] == "ofa-published"


def test_cli_predict_with_the_fitted_predictor(fitted, tmp_path, capsys):
    save_predictor(fitted[0], tmp_path / "cifar10" / "predictor.pt")
    arch = CIFAR.sample(1, seed=11)[0]
    assert main(["predict", "--space", "cifar10", "--arch", arch.id, "--precomputed", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= PREDICT_KEYS and out["arch"] == arch.id
    assert out["top1"] == pytest.approx(float(fitted[0].predict(CIFAR.encode(arch))[0]), abs=1e-9)
    assert out["predictor"]["name"] == f"ofa-dash-{fitted[1]['model_name']}"
    assert main(["predict", "--space", "cifar10", "--arch", arch.to_json(), "--precomputed", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == arch.id


def test_cli_predict_errors(tmp_path, capsys):
    assert main(["predict", "--space", "cifar10", "--arch", "largest", "--precomputed", str(tmp_path), "--json"]) == 2
    assert "error: no accuracy predictor for space 'cifar10'" in capsys.readouterr().err
    assert main(["predict", "--space", "cifar10", "--arch", "{bad", "--precomputed", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_fit_predictor(tmp_path, capsys):
    measured = tmp_path / "measured.parquet"
    write_measured(_measured_frame(CIFAR, n=60), measured)
    out = tmp_path / "p" / "predictor.pt"
    argv = ["fit-predictor", "--measured", str(measured), "--out", str(out), "--candidates", "ridge,gbrt", "--folds", "2", "--json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"rmse", "kendall_tau", "n_measured", "comparison", "model", "meets_targets"} <= set(res)
    assert res["n_measured"] == 60 and res["model"] in ("ridge", "gbrt") and out.is_file()
    assert load_fitted_predictor(out, CIFAR).meta["n_test"] == 12
    # bad input changes nothing
    before = out.read_bytes()
    assert main(["fit-predictor", "--measured", str(tmp_path / "missing.parquet"), "--out", str(out)]) == 2
    assert main(["fit-predictor", "--measured", str(measured), "--out", str(out), "--candidates", "svm"]) == 2
    assert main(["fit-predictor", "--space", "ofa-mbv3-w1.2", "--measured", str(measured), "--out", str(out)]) == 2
    assert "not 'ofa-mbv3-w1.2'" in capsys.readouterr().err
    assert out.read_bytes() == before and sorted(p.name for p in out.parent.iterdir()) == ["predictor.pt"]


# --------------------------------------------------------------------------- downloader
def test_download_official_unreachable_changes_nothing(tmp_path, capsys):
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--base-url", "http://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert "could not download http://127.0.0.1:9/acc_predictor.pth" in err and "copy the files by hand" in err
    assert not dest.exists()


@needs_official
def test_download_official_from_a_mirror(tmp_path, capsys):
    dest = tmp_path / "ofa"
    assert main(["download-official", str(dest), "--base-url", OFFICIAL.as_uri() + "/", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert set(files.values()) == {"downloaded"} and len(files) == 6
    assert (dest / "acc_predictor.pth").read_bytes() == (OFFICIAL / "acc_predictor.pth").read_bytes()
    assert load_official_predictor(OFA, dest).predict(OFA.encode(OFA.largest()))[0] == pytest.approx(83.59, abs=0.005)
    (dest / "note10" / "160_lookup_table.yaml").write_text("- not a table\n")  # damaged copies are fetched again
    assert main(["download-official", str(dest), "--base-url", OFFICIAL.as_uri() + "/", "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert files["note10/160_lookup_table.yaml"] == "downloaded" and files["acc_predictor.pth"] == "present"
    assert not list(dest.rglob("*.part"))


def test_features_are_generic_over_spaces():
    # no space-specific code: the feature width follows the space's resolution count
    assert onehot_features(CIFAR, CIFAR.sample_genomes(3)).shape == (3, 2 * N_SLOTS * 3 + 3)
    assert onehot_features(OFA, OFA.sample_genomes(3)).shape == (3, 2 * N_SLOTS * 3 + 5)
