"""Validated subnets added to the predictor's data, the predictor refitted, the runs re-scored (ofa_dash.refit)."""

from __future__ import annotations

import pytest

from ofa_dash.files import sha256_bytes
from ofa_dash.predictors import load_predictor
from ofa_dash.predictors.fit import FitConfig
from ofa_dash.predictors.measured import read_measured
from ofa_dash.refit import refit_with, validated_not_in_predictor_data
from ofa_dash.space import get_space
from ofa_dash.store import RunStore
from ofa_dash.testing.demo import DEMO_VERSION
from ofa_dash.ui.rescore_view import stale_runs

CIFAR = get_space("cifar10")
QUICK_FIT = FitConfig(candidates=("ridge",), folds=2)


def _validate(root, arch_id: str, version: str = DEMO_VERSION) -> None:
    """A live validation's record, as the Subnet page writes it (only the fields refit reads matter here)."""
    RunStore(root).record_measurement("cifar10", {"arch": arch_id, "supernet_version": version, "top1": 50.0, "n_images": 100})


def test_validated_subnets_missing_from_the_predictor_data_are_listed_once(env):
    in_data = read_measured(env / "cifar10" / "measured.parquet", CIFAR)["id"].iloc[0]
    new = [a.id for a in CIFAR.sample(2, seed=7)]
    for arch in (new[0], in_data, new[1], new[0]):
        _validate(env, arch)
    _validate(env, CIFAR.sample(1, seed=8)[0].id, version="another-supernet")
    assert validated_not_in_predictor_data(env, CIFAR, DEMO_VERSION) == new


def test_refit_measures_on_the_holdout_refits_and_rescores_every_run(env, demo):
    new = [a.id for a in CIFAR.sample(2, seed=7)]
    before = load_predictor(CIFAR, precomputed_dir=env)
    rows_before = len(read_measured(env / "cifar10" / "measured.parquet", CIFAR))
    stages = []
    result = refit_with(CIFAR, new, demo[1], root=env, progress=lambda stage, done, total: stages.append(stage), n_calib=32, fit_config=QUICK_FIT)
    measured = read_measured(env / "cifar10" / "measured.parquet", CIFAR)
    assert len(measured) == result.rows == rows_before + 2 and set(new) <= set(measured["id"])
    assert measured.set_index("id").loc[new, "top1_holdout"].between(0, 100).all()
    after = load_predictor(CIFAR, precomputed_dir=env)
    assert after.version != before.version and result.predictor["n_measured"] == rows_before + 2
    runs = [e["run_id"] for e in RunStore(env).list_runs("cifar10")[0] if "error" in e["objectives"]]
    assert sorted(r["run_id"] for r in result.rescored) == sorted(runs) and stale_runs(env, "cifar10", after) == []
    assert stages[0].startswith("measuring 2 subnet") and stages[-1] == "done" and not result.cancelled
    assert validated_not_in_predictor_data(env, CIFAR, DEMO_VERSION) == []


def test_a_cancel_keeps_the_measurements_and_leaves_predictor_and_runs_alone(env, demo):
    predictor_bytes = sha256_bytes((env / "cifar10" / "predictor.pt").read_bytes())
    new = [CIFAR.sample(1, seed=9)[0].id]
    result = refit_with(CIFAR, new, demo[1], root=env, cancel=lambda: True, n_calib=32, fit_config=QUICK_FIT)
    assert result.cancelled and result.rescored == [] and result.predictor == {}
    assert new[0] in set(read_measured(env / "cifar10" / "measured.parquet", CIFAR)["id"])
    assert sha256_bytes((env / "cifar10" / "predictor.pt").read_bytes()) == predictor_bytes
    assert not list((env / "cifar10" / "runs").glob("*/rescored*"))


def test_bad_input_is_refused_before_anything_is_written(env, demo):
    measured = env / "cifar10" / "measured.parquet"
    before = sha256_bytes(measured.read_bytes())
    with pytest.raises(ValueError, match="no subnets"):
        refit_with(CIFAR, [], demo[1], root=env)
    with pytest.raises(ValueError):
        refit_with(CIFAR, ["not-an-id"], demo[1], root=env)
    assert sha256_bytes(measured.read_bytes()) == before
