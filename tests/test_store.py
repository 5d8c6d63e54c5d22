"""Result store: round trip, atomic writes, validation of corrupted or foreign files, Ctrl-C, measurements."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from search_toys import toy_objectives

from ofa_dash.files import atomic_write_bytes
from ofa_dash.search import RunSpec, run_search
from ofa_dash.store import MANIFEST, SOLUTIONS, RunStore, StoreError

SPACE = "cifar10"


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()


def _run(toy, seed: int = 1, algorithm: str = "nsga2", gens: int = 4):
    # the plain protocol: every generation is a genetic one and lands in the history (local search records only its genetic share)
    return run_search(RunSpec(SPACE, algorithm, toy.names, pop_size=12, n_gen=gens, seed=seed, params={"local_search": "none"}), objectives=toy)


@pytest.fixture()
def store(tmp_path):
    return RunStore(tmp_path)


@pytest.fixture()
def two_runs(store, toy):
    a, b = _run(toy, 1), _run(toy, 2, "spea2")
    store.save(a)
    store.save(b)
    return a, b


def test_round_trip(store, toy):
    r = _run(toy, 3)
    entry = store.save(r)
    runs, problems = store.list_runs(SPACE)
    assert problems == [] and [e["run_id"] for e in runs] == [r.run_id]
    for key in (
        "run_id",
        "space",
        "objectives",
        "algorithm",
        "algorithm_params",
        "seed",
        "ref_point",
        "hv",
        "n_evals",
        "seconds",
        "front_size",
        "created",
        "versions",
    ):
        assert key in entry
    assert entry["ref_point"] == r.ref_point and entry["versions"]["predictor"]["version"] == "toy-1" and "toy-cpu" in entry["versions"]["devices"]
    back = store.load(r.run_id)
    np.testing.assert_array_equal(back.genomes("archive"), r.archive_X)
    np.testing.assert_allclose(back.F("archive"), r.archive_F)
    np.testing.assert_array_equal(back.genomes("final"), r.final_X)
    np.testing.assert_allclose(back.history["hv"].to_numpy(), r.history["hv"])
    assert back.history["gen"].tolist() == list(range(1, 5))
    assert (back.frame()["arch_id"] == [a.id for a in toy.space.decode(r.archive_X)]).all()
    # genes are stored compactly
    assert (back.solutions[[f"g{i:02d}" for i in range(46)]].dtypes == np.int8).all()
    assert store.load(r.run_id, space=SPACE).run_id == r.run_id


def test_run_ids_are_unique_and_safe(store, toy):
    r = _run(toy)
    store.save(r)
    with pytest.raises(StoreError, match="already exists"):
        store.save(r)
    with pytest.raises(StoreError, match="not a run id"):
        store.load("../../etc/passwd")
    with pytest.raises(StoreError, match="no run"):
        store.load("nsga2-unknown")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    atomic_write_bytes(path, b"old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # no temporary file left behind


def test_interrupted_save_leaves_the_catalogue_intact(store, toy, two_runs, monkeypatch):
    before = (store.runs_dir(SPACE) / MANIFEST).read_bytes()
    real_replace = os.replace
    calls = []

    def replace_then_die(src, dst):
        calls.append(dst)
        if str(dst).endswith(MANIFEST):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.save(_run(toy, 5))
    monkeypatch.setattr(os, "replace", real_replace)
    assert (store.runs_dir(SPACE) / MANIFEST).read_bytes() == before
    runs, problems = store.list_runs(SPACE)
    # the two saved runs are intact; the half-saved one is not hidden: the problems name it and the repair
    assert len(runs) == 2 and len(problems) == 1 and "not in the manifest" in problems[0] and "store rebuild" in problems[0]


def test_concurrent_saves_keep_every_entry(store, toy):
    from concurrent.futures import ThreadPoolExecutor

    results = [_run(toy, seed, gens=2) for seed in range(10, 16)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(store.save, results))
    runs, problems = store.list_runs(SPACE)
    assert sorted(r["run_id"] for r in runs) == sorted(r.run_id for r in results) and problems == []
    assert not list(store.runs_dir(SPACE).glob(".*"))  # no lock or temporary files left


def test_ctrl_c_during_a_search_leaves_the_store_intact(store, toy, two_runs):
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}

    def progress(gen, n_evals, hv):
        if gen == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.save(run_search(RunSpec(SPACE, "nsga2", toy.names, pop_size=12, n_gen=30, seed=7), objectives=toy, progress=progress))
    after = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}
    assert after == before
    assert len(store.list_runs(SPACE)[0]) == 2


def test_corrupted_parquet_is_reported_and_skipped(store, two_runs):
    a, b = two_runs
    path = store.runs_dir(SPACE) / a.run_id / SOLUTIONS
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    runs, problems = store.list_runs(SPACE)
    assert [r["run_id"] for r in runs] == [b.run_id]
    assert len(problems) == 1 and a.run_id in problems[0] and SOLUTIONS in problems[0] and "corrupted" in problems[0]
    with pytest.raises(StoreError, match=r"solutions\.parquet is corrupted"):
        store.load(a.run_id)
    assert store.load(b.run_id).run_id == b.run_id  # nothing else breaks


def test_missing_file_is_reported(store, two_runs):
    a, _ = two_runs
    (store.runs_dir(SPACE) / a.run_id / "history.parquet").unlink()
    runs, problems = store.list_runs(SPACE)
    assert len(runs) == 1 and "history.parquet is missing" in problems[0]


def test_foreign_parquet_with_matching_checksum_fails_validation(store, two_runs):
    """A file that is valid Parquet but not ours (manifest edited to match) is refused on load with the reason."""
    import hashlib

    a, _ = two_runs
    path = store.runs_dir(SPACE) / a.run_id / SOLUTIONS
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(path)
    manifest_path = store.runs_dir(SPACE) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    for e in manifest["runs"]:
        if e["run_id"] == a.run_id:
            e["files"][SOLUTIONS] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="lacks column"):
        store.load(a.run_id)
    path.write_bytes(b"PAR1 not really parquet PAR1")
    for e in manifest["runs"]:
        if e["run_id"] == a.run_id:
            e["files"][SOLUTIONS] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="not a readable Parquet file"):
        store.load(a.run_id)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x01garbage{", "not a readable JSON manifest"),
        (json.dumps({"name": "something else", "items": []}).encode(), "not an ofa-dash run manifest"),
        (json.dumps({"schema": "ofa-dash-runs", "schema_version": 99, "space": SPACE, "runs": []}).encode(), "schema_version 99"),
    ],
)
def test_bad_manifest_is_reported_and_runs_still_listed(store, toy, two_runs, content, message):
    a, b = two_runs
    (store.runs_dir(SPACE) / MANIFEST).write_bytes(content)
    runs, problems = store.list_runs(SPACE)
    assert message in problems[0] and "listed the run folders instead" in problems[0]
    assert sorted(r["run_id"] for r in runs) == sorted([a.run_id, b.run_id])
    assert store.load(a.run_id).run_id == a.run_id
    # saving keeps the bad manifest aside and rebuilds the catalogue
    entry = store.save(_run(toy, 6))
    assert "rebuilt the manifest" in entry["warnings"][0]
    assert len(list(store.runs_dir(SPACE).glob("manifest.json.corrupt-*"))) == 1
    runs, problems = store.list_runs(SPACE)
    assert len(runs) == 3 and problems == []


def test_bad_manifest_entry_is_skipped(store, two_runs):
    _, b = two_runs
    path = store.runs_dir(SPACE) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["runs"][0]["seed"] = "one"
    manifest["runs"].append("not an entry")
    path.write_text(json.dumps(manifest))
    runs, problems = store.list_runs(SPACE)
    assert [r["run_id"] for r in runs] == [b.run_id]
    assert any("'seed' has the wrong type" in p for p in problems) and any("not a JSON object" in p for p in problems)


def test_rebuild_manifest(store, two_runs):
    (store.runs_dir(SPACE) / MANIFEST).unlink()
    runs, problems = store.list_runs(SPACE)
    assert runs == [] and "are not in the manifest" in problems[0] and "store rebuild" in problems[0]
    n, problems = store.rebuild_manifest(SPACE)
    assert n == 2 and problems == [] and store.list_runs(SPACE) == (store.list_runs(SPACE)[0], []) and len(store.list_runs(SPACE)[0]) == 2


def test_a_run_saved_without_its_manifest_entry_is_reported_and_rebuilt_by_the_cli(store, two_runs, toy):
    import json
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    manifest_path = store.runs_dir(SPACE) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    lost = manifest["runs"].pop()["run_id"]  # as if the search was killed between its folder and the manifest
    manifest_path.write_text(json.dumps(manifest))
    runs, problems = store.list_runs(SPACE)
    assert len(runs) == 1 and lost in problems[0]
    r = subprocess.run(
        [sys.executable, "-m", "ofa_dash", "store", "rebuild", "--space", SPACE, "--store", str(store.root), "--json"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runs"] == 2
    assert sorted(e["run_id"] for e in store.list_runs(SPACE)[0]) == sorted(r.run_id for r in two_runs) and store.list_runs(SPACE)[1] == []
    # a temporary file a killed writer left behind is removed by the next save, once it is old
    stale = store.runs_dir(SPACE) / lost / ".solutions.parquet.123.abcd.tmp"
    stale.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    store.save(_run(toy, seed=9))
    assert not stale.exists()


def test_measurements(store, toy):
    space = toy.space
    ids = [a.id for a in space.sample(2, seed=1)]
    store.record_measurement(SPACE, {"arch": ids[0], "supernet_version": "v1", "top1": 91.5, "n_images": 10000, "latency_ms": np.float64(1.25)})
    store.record_measurement(SPACE, {"arch": ids[1], "supernet_version": "v2", "top1": 90.0})
    df = store.measurements(SPACE)
    assert df["arch"].tolist() == ids and df.attrs["problems"] == []
    assert store.measurements(SPACE, supernet_version="v1")["top1"].tolist() == [91.5]
    with pytest.raises(ValueError, match="supernet_version"):
        store.record_measurement(SPACE, {"arch": ids[0], "top1": 1.0})
    with pytest.raises(ValueError, match="not a subnet id"):
        store.record_measurement(SPACE, {"arch": "???", "supernet_version": "v1"})
    with pytest.raises(ValueError, match="not finite"):
        store.record_measurement(SPACE, {"arch": ids[0], "supernet_version": "v1", "top1": float("nan")})
    path = store.root / SPACE / "measurements.jsonl"
    path.write_text(path.read_text() + "{broken\n")
    df = store.measurements(SPACE)
    assert len(df) == 2 and "line 3" in df.attrs["problems"][0]
    assert store.measurements("ofa-mbv3-w1.2").empty
