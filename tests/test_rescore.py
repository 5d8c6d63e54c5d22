"""Re-scoring stored runs with a refitted predictor: the store's sidecar (originals untouched), the CLI, the catalogue and the front's marks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ofa_dash.cli import main
from ofa_dash.files import sha256_bytes
from ofa_dash.predictors import FittedPredictor, load_predictor, predictor_path, save_predictor
from ofa_dash.rescore import rescore_runs
from ofa_dash.space import get_space
from ofa_dash.store import GENE_COLUMNS, RESCORED, RESCORED_JSON, RunStore, StoreError, non_dominated
from ofa_dash.testing.demo import demo_predictor
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.fronts import FELL_OFF, front_view
from ofa_dash.ui.rescore_view import stale_runs

CIFAR = get_space("cifar10")


def refit(root, seed: int = 0) -> FittedPredictor:
    """A 'refitted' predictor: the demo's linear model with perturbed weights and a new fit time (another version)."""
    base = demo_predictor(CIFAR)
    with torch.no_grad():
        base.model[0].weight.add_(torch.from_numpy(np.random.default_rng(seed).normal(0, 1.5, base.model[0].weight.shape)).float())
    meta = {**base.meta, "fitted": f"2026-06-0{seed + 1}T00:00:00Z"}
    predictor = FittedPredictor(CIFAR, base.model, meta)
    save_predictor(predictor, predictor_path(CIFAR, root))
    return load_predictor(CIFAR, precomputed_dir=root)


def test_non_dominated_keeps_equal_rows_and_drops_dominated():
    F = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [2.0, 2.0], [0.5, 3.0]])
    assert non_dominated(F).tolist() == [True, True, True, False, True]


def test_store_rescore_keeps_the_run_and_records_the_predictor(env):
    store = RunStore(env)
    run_id = store.list_runs("cifar10")[0][0]["run_id"]
    folder = env / "cifar10" / "runs" / run_id
    before = {p.name: sha256_bytes(p.read_bytes()) for p in folder.iterdir()}
    manifest = (env / "cifar10" / "runs" / "manifest.json").read_bytes()
    predictor = refit(env)
    [summary] = rescore_runs(env, "cifar10", predictor, [run_id])
    # the run's own files and the manifest are untouched; two sidecars appear
    after = {p.name: sha256_bytes(p.read_bytes()) for p in folder.iterdir()}
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {RESCORED, RESCORED_JSON}
    assert (env / "cifar10" / "runs" / "manifest.json").read_bytes() == manifest
    run = store.load(run_id, "cifar10")
    df = store.rescored("cifar10", run_id)
    assert np.allclose(df["error_original"], run.solutions["error"])
    assert np.allclose(df["error"], 100.0 - predictor.predict(run.solutions[GENE_COLUMNS].to_numpy(dtype=np.int64)))
    meta = df.attrs["rescore"]
    assert meta["predictor"]["version"] == predictor.version and meta["original_predictor"]["version"] != predictor.version
    archive = df["set"] == "archive"
    assert summary["fell_off"] == meta["fell_off"] == int((archive & ~df["on_front"]).sum())
    # the flags agree with a direct non-dominated sort of the archive under the new errors
    F = np.array(run.F("archive"))
    F[:, run.objectives.index("error")] = df.loc[archive, "error"].to_numpy()
    assert df.loc[archive, "on_front"].tolist() == non_dominated(F).tolist()
    # a tampered sidecar is refused with a clear message
    (folder / RESCORED).write_bytes(b"not parquet")
    with pytest.raises(StoreError, match="corrupted or was replaced"):
        store.rescored("cifar10", run_id)


def test_rescore_refuses_bad_runs_before_writing(env):
    predictor = load_predictor(CIFAR, precomputed_dir=env)
    with pytest.raises(ValueError, match="no valid run"):
        rescore_runs(env, "cifar10", predictor, ["nope"])
    assert not list((env / "cifar10" / "runs").glob(f"*/{RESCORED_JSON}"))
    run_id = RunStore(env).list_runs("cifar10")[0][0]["run_id"]
    with pytest.raises(ValueError, match="re-scored errors"):
        RunStore(env).save_rescore("cifar10", run_id, np.zeros(3), {})
    assert not list((env / "cifar10" / "runs").glob(f"*/{RESCORED_JSON}"))


def test_cli_rescore_and_the_front_shows_the_new_figures_and_who_fell_off(env, capsys):
    before = build_catalogue(env, "cifar10", sets=("archive",))
    predictor = refit(env)
    assert sorted(stale_runs(env, "cifar10", predictor)) == sorted(e["run_id"] for e in before.runs)
    assert main(["rescore", "--space", "cifar10", "--precomputed", str(env), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predictor"]["version"] == predictor.version and len(out["runs"]) == len(before.runs)
    assert stale_runs(env, "cifar10", predictor) == []
    # the run files' checksums in the manifest still hold (the store reads every run)
    assert not RunStore(env).list_runs("cifar10")[1]

    cat = build_catalogue(env, "cifar10", sets=("archive",))
    G = np.array([[int(c) for c in g] for g in cat.points["genome"]])
    assert np.allclose(cat.points["top1_pred"], predictor.predict(G), atol=1e-4)
    assert np.allclose(cat.points.sort_values(["run_id", "id"])["top1_original"], before.points.sort_values(["run_id", "id"])["top1_pred"])
    assert cat.points["top1_pred_source"].str.contains("re-scored").all()
    assert cat.points["top1_pred_pm"].notna().all() == (cat.accuracy_interval is not None)
    fell = int(cat.points["fell_off"].astype(bool).sum())
    assert fell == sum(r["fell_off"] for r in out["runs"]) and fell > 0
    view = front_view(cat.points, ["top1", "latency:demo-cpu"], knees=False)
    marked = view.df.iloc[view.marks[FELL_OFF]]
    assert len(marked) and marked["fell_off"].astype(bool).all() and not marked["pareto"].any()


def test_cli_refuses_a_run_without_an_error_objective(env, capsys):
    assert main(["rescore", "--space", "cifar10", "--precomputed", str(env), "--run", "missing-run"]) == 2
    assert "no valid run" in capsys.readouterr().err


def test_fit_predictor_rescore_refits_then_rescores_every_run(env, capsys):
    runs = [e["run_id"] for e in RunStore(env).list_runs("cifar10")[0]]
    assert main(["fit-predictor", "--space", "cifar10", "--candidates", "ridge", "--folds", "2", "--rescore", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    predictor = load_predictor(CIFAR, precomputed_dir=env)
    assert sorted(r["run_id"] for r in out["rescored"]) == sorted(runs)
    assert all(r["predictor"]["version"] == predictor.version for r in out["rescored"])
    assert stale_runs(env, "cifar10", predictor) == []
