"""The measured-subnet dataset: plan, rows, resume, interruption and bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_dash.checkpoints import save_weights
from ofa_dash.cli import main
from ofa_dash.hardware import count
from ofa_dash.measure import MeasureConfig, anchor_archs, measurement_plan, merge_parts, part_files, part_path, run_measurement
from ofa_dash.nn import Supernet
from ofa_dash.predictors.measured import genome_matrix, read_measured, write_measured
from ofa_dash.space import get_space
from ofa_dash.testing.browser import free_port
from ofa_dash.ui.config import REPO

CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def supernet(tmp_path_factory) -> Path:
    """An untrained supernet is enough: measuring does not care how good the weights are."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "supernet.pt"
    save_weights(Supernet(CIFAR), path, {"supernet_version": "cifar10-test-v1"})
    return path


def _measure(data: Path, supernet: Path, out: Path, n: int, *extra: str) -> int:
    return main(
        ["measure", "--space", "cifar10", "--n", str(n), "--data", str(data), "--supernet", str(supernet), "--out", str(out), "--calib-images", "32", *extra]
    )


# --------------------------------------------------------------------------- plan
def test_plan_starts_with_the_anchors_and_extends_as_a_prefix():
    anchors = anchor_archs(CIFAR)
    assert anchors[0] == CIFAR.largest() and anchors[1] == CIFAR.smallest()
    assert len(anchors) == 28  # largest == uniform(7, 6, 4) at the top resolution, so 1 + 1 + 27 - 1
    assert CIFAR.uniform(5, 4, 3) in anchors
    plan = measurement_plan(CIFAR, 200, seed=0)
    assert plan[:28] == anchors and len({a.id for a in plan}) == 200
    assert measurement_plan(CIFAR, 60, seed=0) == plan[:60]
    assert measurement_plan(CIFAR, 60, seed=1)[28:] != plan[28:60]
    assert measurement_plan(CIFAR, 3) == anchors[:3]
    with pytest.raises(ValueError, match="at least 1"):
        measurement_plan(CIFAR, 0)


# --------------------------------------------------------------------------- measuring
def test_measure_writes_rows_and_a_rerun_resumes(tiny_folder, supernet, tmp_path, capsys):
    out = tmp_path / "m" / "measured.parquet"
    assert _measure(tiny_folder, supernet, out, 3, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["measured"], summary["skipped"], summary["rows"]) == (3, 0, 3)
    df = read_measured(out, CIFAR)
    plan = measurement_plan(CIFAR, 3)
    assert df["id"].tolist() == [a.id for a in plan]
    g = genome_matrix(df)
    np.testing.assert_array_equal(g, CIFAR.encode(plan))
    assert [CIFAR.parse_arch(a).id for a in df["arch"]] == df["id"].tolist()
    c = count(CIFAR, g)
    assert df["macs"].tolist() == c["macs"].tolist() and df["params"].tolist() == c["params"].tolist() and df["peak_mem"].tolist() == c["peak_mem"].tolist()
    assert df["top1_holdout"].between(0, 100).all() and (df["n_holdout"] == 6).all() and (df["n_calib"] == 32).all()
    assert set(df["supernet_version"]) == {"cifar10-test-v1"} and set(df["seed"]) == {0} and (df["seconds"] > 0).all()
    assert set(df["engine"]) == {"ort"}

    # PyTorch eager measures the same accuracies as the exported graph in ONNX Runtime
    eager = tmp_path / "eager.parquet"
    assert _measure(tiny_folder, supernet, eager, 3, "--engine", "torch", "--threads", "1") == 0
    capsys.readouterr()
    df_eager = read_measured(eager, CIFAR)
    assert set(df_eager["engine"]) == {"torch"} and df_eager["top1_holdout"].tolist() == df["top1_holdout"].tolist()

    # a larger plan measures only what is new; the same plan again changes nothing
    assert _measure(tiny_folder, supernet, out, 5, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["measured"], summary["skipped"], summary["rows"]) == (2, 3, 5)
    after = read_measured(out, CIFAR)
    assert after["id"].tolist() == [a.id for a in measurement_plan(CIFAR, 5)]
    assert after["top1_holdout"].iloc[:3].tolist() == df["top1_holdout"].tolist()
    before = out.read_bytes()
    assert _measure(tiny_folder, supernet, out, 5, "--json") == 0
    assert json.loads(capsys.readouterr().out)["measured"] == 0
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["measured.parquet"]  # no temp files left


def test_worker_processes_measure_the_same_accuracies(tiny_folder, supernet, tmp_path, capsys):
    serial, parallel = tmp_path / "serial.parquet", tmp_path / "parallel.parquet"
    assert _measure(tiny_folder, supernet, serial, 4, "--threads", "1") == 0
    capsys.readouterr()
    assert _measure(tiny_folder, supernet, parallel, 4, "--workers", "2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["measured"] == 4
    a = read_measured(serial, CIFAR)
    b = read_measured(parallel, CIFAR).set_index("id").loc[a["id"]].reset_index()  # workers finish in any order
    assert b["top1_holdout"].tolist() == a["top1_holdout"].tolist() and b["genome"].map(list).tolist() == a["genome"].map(list).tolist()


def test_torchrun_ranks_measure_disjoint_shares_and_merge_into_one_file(tiny_folder, supernet, tmp_path, capsys):
    """Two gloo ranks on CPU: each measures every second subnet of the plan into its part file, rank 0 merges them.

    A part left by an interrupted sharded run is folded in first, so its subnets are not measured again.
    """
    serial, sharded = tmp_path / "serial.parquet", tmp_path / "sharded.parquet"
    assert _measure(tiny_folder, supernet, serial, 6, "--threads", "1") == 0
    capsys.readouterr()
    a = read_measured(serial, CIFAR)
    write_measured(a.iloc[[1, 3]], part_path(sharded, 1, 2))  # what rank 1 of an interrupted run had finished
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port())]
    cmd += ["-m", "ofa_dash", "measure", "--space", "cifar10", "--subnets", "6", "--data", str(tiny_folder), "--supernet", str(supernet)]
    cmd += ["--out", str(sharded), "--calib-images", "32", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1  # rank 0 alone reports, with the merged totals
    assert {k: reports[0][k] for k in ("planned", "skipped", "measured", "rows", "ranks")} == {"planned": 6, "skipped": 2, "measured": 4, "rows": 6, "ranks": 2}
    assert part_files(sharded) == []
    b = read_measured(sharded, CIFAR).set_index("id").loc[a["id"]].reset_index()
    assert b["top1_holdout"].tolist() == a["top1_holdout"].tolist() and b["genome"].map(list).tolist() == a["genome"].map(list).tolist()


def test_parts_of_another_supernet_version_are_refused_and_kept(tiny_folder, supernet, tmp_path, capsys):
    out = tmp_path / "measured.parquet"
    assert _measure(tiny_folder, supernet, out, 2, "--threads", "1") == 0
    rows = read_measured(out, CIFAR)
    stranger = rows.assign(supernet_version="another-supernet")
    write_measured(stranger, part_path(out, 0, 2))
    before = out.read_bytes()
    with pytest.raises(ValueError, match="supernet versions"):
        merge_parts(out, CIFAR)
    assert out.read_bytes() == before and part_files(out) == [part_path(out, 0, 2)]


def test_an_interrupted_run_keeps_the_finished_subnets(tiny_folder, supernet, tmp_path, monkeypatch):
    import ofa_dash.evaluate as evaluate

    real = evaluate.evaluate_model
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate_model", flaky)
    out = tmp_path / "measured.parquet"
    cfg = MeasureConfig(CIFAR, n=5, data_dir=tiny_folder, supernet_path=supernet, out_path=out, n_calib=32, flush_every=100, engine="torch", threads=1)
    with pytest.raises(KeyboardInterrupt):
        run_measurement(cfg)
    assert read_measured(out)["id"].tolist() == [a.id for a in measurement_plan(CIFAR, 2)]
    monkeypatch.setattr(evaluate, "evaluate_model", real)
    summary = run_measurement(cfg)
    assert (summary.skipped, summary.measured, summary.rows) == (2, 3, 5)


def test_bad_input_changes_nothing_on_disk(tiny_folder, supernet, tmp_path, capsys):
    out = tmp_path / "new" / "measured.parquet"
    assert _measure(tmp_path / "no-such-data", supernet, out, 2) == 2
    assert "does not exist" in capsys.readouterr().err
    assert _measure(tiny_folder, tmp_path / "missing.pt", out, 2) == 2
    assert "not found" in capsys.readouterr().err
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert _measure(tiny_folder, garbage, out, 2) == 2
    assert "not a readable" in capsys.readouterr().err
    assert _measure(tiny_folder, supernet, out, 0) == 2
    assert "at least 1" in capsys.readouterr().err
    assert not out.parent.exists()

    # a file measured with other weights is never mixed with new rows
    other = tmp_path / "other.pt"
    save_weights(Supernet(CIFAR), other, {"supernet_version": "cifar10-test-v2"})
    good = tmp_path / "measured.parquet"
    assert _measure(tiny_folder, supernet, good, 1) == 0
    capsys.readouterr()
    before = good.read_bytes()
    assert _measure(tiny_folder, other, good, 2) == 2
    assert "cifar10-test-v2" in capsys.readouterr().err
    assert good.read_bytes() == before
    not_parquet = tmp_path / "bad.parquet"
    not_parquet.write_text("hello")
    assert _measure(tiny_folder, supernet, not_parquet, 1) == 2
    assert not_parquet.read_text() == "hello"


def test_gpu_measurement_needs_the_torch_engine_in_one_process(tiny_folder, supernet, tmp_path, capsys):
    out = tmp_path / "m" / "measured.parquet"
    assert _measure(tiny_folder, supernet, out, 2, "--device", "cuda") == 2
    assert "use --engine torch and --workers 1" in capsys.readouterr().err
    assert _measure(tiny_folder, supernet, out, 2, "--device", "cuda", "--engine", "torch", "--workers", "2") == 2
    assert "--workers 1" in capsys.readouterr().err
    assert not out.parent.exists()


def test_measure_exactly_the_subnets_named_and_resume(tiny_folder, supernet, tmp_path, capsys):
    """A shortlist's holdout top-1 for the predictor: --arch names the subnets; a rerun skips them; a bad id changes nothing."""
    out = tmp_path / "shortlist.parquet"
    picks = CIFAR.decode(CIFAR.sample_genomes(2, seed=9))
    arch = ",".join(a.id for a in picks)
    argv = ["measure", "--space", "cifar10", "--arch", arch, "--data", str(tiny_folder), "--supernet", str(supernet), "--out", str(out)]
    assert main([*argv, "--calib-images", "32", "--threads", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["measured"] == 2
    assert read_measured(out, CIFAR)["id"].tolist() == [a.id for a in picks]
    assert main([*argv, "--calib-images", "32", "--threads", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 2
    before = out.read_bytes()
    bad = ["measure", "--space", "cifar10", "--arch", "not-an-id!", "--data", str(tiny_folder), "--supernet", str(supernet), "--out", str(out)]
    assert main(bad) != 0 and out.read_bytes() == before
    neither = ["measure", "--space", "cifar10", "--data", str(tiny_folder), "--supernet", str(supernet), "--out", str(out)]
    assert main(neither) != 0
    assert "--n N" in capsys.readouterr().err
