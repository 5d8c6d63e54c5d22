"""Live validation: numbers that add up, the CLI's JSON contract, the store record, one validation at a time."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_dash.cli import main
from ofa_dash.evaluate import balanced_subset
from ofa_dash.export import accuracy_on_test
from ofa_dash.progress import Cancelled
from ofa_dash.runtime import ort
from ofa_dash.runtime.ort import TimingPolicy, auto_threads
from ofa_dash.space import get_space
from ofa_dash.store import RunStore
from ofa_dash.validation import best_measurement, validate_subnet
from ofa_dash.validation_queue import ValidationQueue
from tests.conftest import CIFAR_JPEG, write_random_supernet

torch.set_num_threads(1)
CIFAR = get_space("cifar10")
CLI_KEYS = {"arch", "top1", "top5", "n_images", "latency_ms", "seconds"}


@pytest.fixture(scope="module")
def supernet_file(tmp_path_factory) -> Path:
    """This module's own weights (seed and version differ from conftest's ``supernet_file``)."""
    return write_random_supernet(tmp_path_factory.mktemp("supernet"), seed=1, version="cifar10-validate-test")


@pytest.fixture(autouse=True)
def _quick_latency(monkeypatch):
    """Latency figures are checked for presence and source here, not value: time a few runs only."""
    monkeypatch.setattr(ort, "MODEL_TIMING", TimingPolicy(warmup=1, repeats=5, min_repeats=3, budget_s=0.01))


def _check_consistent(result, n_expected: int, classes) -> None:
    confusion = np.asarray(result.confusion)
    assert confusion.sum() == result.n_images == n_expected
    assert result.top1 == pytest.approx(100.0 * np.trace(confusion) / n_expected)
    assert 0.0 <= result.top1 <= result.top5 <= 100.0
    assert list(result.per_class) == list(classes)
    for i, name in enumerate(classes):
        row = confusion[i]
        assert result.per_class[name] == (pytest.approx(100.0 * row[i] / row.sum()) if row.sum() else None)


def test_validate_subnet_numbers_add_up_and_are_recorded(supernet_file, tiny_data, tmp_path):
    arch = CIFAR.sample(1, seed=5)[0]
    stages = []
    result = validate_subnet(CIFAR, arch, supernet_file, tiny_data, progress=lambda s, d, n: stages.append(s), store_root=tmp_path)
    _check_consistent(result, len(tiny_data.test), tiny_data.classes)
    assert result.arch == arch and result.supernet_version == "cifar10-validate-test" and result.data == tiny_data.source
    assert result.calib_images == len(tiny_data.split_holdout()[0])  # fewer than 2,000 here: all of them
    assert result.latency["median_ms"] > 0 and result.latency["threads"] == 1 and result.latency["batch_size"] == 1
    assert {"recalibrate", "export_onnx", "evaluate", "latency"} <= set(result.stage_seconds)
    assert stages[0] == "recalibrating" and "evaluating" in stages and stages[-1] == "timing"
    # the accuracy is that of the exported ONNX graph, which matches the PyTorch subnet
    d = result.to_dict()
    assert set(d) >= CLI_KEYS and d["arch"] == arch.id and d["latency_ms"] == result.latency["median_ms"]
    stored = RunStore(tmp_path).measurements("cifar10", "cifar10-validate-test")
    assert len(stored) == 1 and stored["arch"][0] == arch.id and stored["top1"][0] == result.top1 and stored["n_images"][0] == result.n_images
    # the record names the data it came from: its content fingerprint
    assert result.data_fingerprint == tiny_data.fingerprint and stored["data_fingerprint"][0] == tiny_data.fingerprint
    best = best_measurement("cifar10", "cifar10-validate-test", arch.id, tmp_path)
    assert best["top1"] == result.top1 and best["latency_ms"] == d["latency_ms"]


def test_quick_limit_is_class_balanced_and_does_not_hide_full_results(supernet_file, tiny_data, tmp_path):
    arch = CIFAR.smallest()
    full = validate_subnet(CIFAR, arch, supernet_file, tiny_data, store_root=tmp_path, measure_latency=False)
    quick = validate_subnet(CIFAR, arch, supernet_file, tiny_data, limit=10, store_root=tmp_path, measure_latency=False)
    _check_consistent(quick, 10, tiny_data.classes)
    assert np.asarray(quick.confusion).sum(1).tolist() == [1] * 10 and "balanced" in quick.subset
    assert quick.latency is None and quick.to_dict()["latency_ms"] is None
    assert best_measurement("cifar10", full.supernet_version, arch.id, tmp_path)["n_images"] == full.n_images


def test_balanced_subset_is_fixed_and_balanced():
    labels = np.repeat(np.arange(4), [50, 30, 10, 40])
    np.random.default_rng(0).shuffle(labels)
    a, b = balanced_subset(labels, 20), balanced_subset(labels, 20)
    assert np.array_equal(a, b) and len(np.unique(a)) == 20
    assert np.bincount(labels[a]).tolist() == [5, 5, 5, 5]
    assert np.bincount(labels[balanced_subset(labels, 60)]).tolist() == [17, 17, 10, 16]  # a small class gives what it has
    assert len(balanced_subset(labels, 1000)) == len(labels)


def test_cancel_stops_validation_and_records_nothing(supernet_file, tiny_data, tmp_path):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        validate_subnet(CIFAR, CIFAR.largest(), supernet_file, tiny_data, cancel=cancel, store_root=tmp_path)
    assert not (tmp_path / "cifar10").exists()


def test_validation_queue_serialises_and_reports_the_holder(tmp_path):
    queue = ValidationQueue(tmp_path / "v.lock", poll_s=0.02)
    release = threading.Event()
    order, waits = [], []

    def first():
        with queue.turn("first"):
            order.append("first-start")
            release.wait(5)
            order.append("first-end")

    t = threading.Thread(target=first)
    t.start()
    deadline = time.monotonic() + 5
    while (queue.holder() or {}).get("what") != "first" and time.monotonic() < deadline:
        time.sleep(0.01)  # the holder note is written just after the lock is taken
    assert queue.busy() and queue.holder()["what"] == "first"

    def second_job():
        with queue.turn("second", on_wait=waits.append):
            order.append("second")

    second = threading.Thread(target=second_job)
    second.start()
    time.sleep(0.2)
    assert order == ["first-start"] and len(waits) == 1 and waits[0]["what"] == "first"
    release.set()
    t.join(5)
    second.join(5)
    assert order == ["first-start", "first-end", "second"]


def test_validation_queue_sees_other_processes_and_cancels_while_waiting(tmp_path):
    # a second queue object on the same lock file stands in for another process (flock is per open file)
    lock = tmp_path / "v.lock"
    other, mine = ValidationQueue(lock, poll_s=0.02), ValidationQueue(lock, poll_s=0.02)
    with other.turn("validating elsewhere"):
        assert mine.busy() and mine.holder()["what"] == "validating elsewhere"
        started, waits = time.monotonic(), []
        with pytest.raises(Cancelled), mine.turn(on_wait=waits.append, cancel=lambda: time.monotonic() - started > 0.1):
            pass
        assert [w["what"] for w in waits] == ["validating elsewhere"]  # told who holds it, once
    assert not mine.busy()
    with mine.turn():
        assert other.busy()


def test_auto_threads_is_within_bounds():
    assert 1 <= auto_threads() <= torch.get_num_threads()
    assert auto_threads(1) == 1


# --------------------------------------------------------------------------- CLI
def _cli(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_validate_prints_one_json_object(supernet_file, tiny_folder, tmp_path, capsys):
    code, out, err = _cli(
        capsys,
        "validate",
        "--space",
        "cifar10",
        "--arch",
        "smallest",
        "--data",
        str(tiny_folder),
        "--supernet",
        str(supernet_file),
        "--limit",
        "9",
        "--store",
        str(tmp_path),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert set(result) >= CLI_KEYS and result["arch"] == CIFAR.smallest().id and result["n_images"] == 9
    assert result["latency_ms"] > 0 and "1 thread, batch 1" in result["latency_source"]
    # the measurement says how it was taken and whether the machine was busy (new keys; the old ones stay)
    assert result["latency_rounds"] == ort.LATENCY_ROUNDS and len(result["latency_round_medians_ms"]) == ort.LATENCY_ROUNDS
    assert isinstance(result["latency_busy"], bool) and (result["latency_busy_reason"] is not None) == result["latency_busy"]
    assert result["latency_label"].startswith("measured here (") and f"median of {ort.LATENCY_ROUNDS} rounds" in result["latency_label"]
    assert result["supernet_version"] == "cifar10-validate-test" and result["data"] and result["latency_iqr_ms"] >= 0
    assert sum(map(sum, result["confusion"])) == 9
    assert len(RunStore(tmp_path).measurements("cifar10")) == 1


def test_cli_validate_matches_exported_model(supernet_file, tiny_folder, tiny_data, tmp_path, capsys):
    """The accuracy validation reports is the accuracy of the ONNX file export writes for the same subnet."""
    arch = CIFAR.sample(1, seed=11)[0]
    code, out, err = _cli(
        capsys, "validate", "--arch", arch.id, "--data", str(tiny_folder), "--supernet", str(supernet_file), "--no-record", "--no-latency", "--json"
    )
    assert code == 0, err
    validated = json.loads(out)
    code, _, err = _cli(
        capsys, "export", "--arch", arch.id, "--format", "onnx", "--out", str(tmp_path / "m.onnx"), "--data", str(tiny_folder), "--supernet", str(supernet_file)
    )
    assert code == 0, err
    from ofa_dash.subnets import prepare

    prepared = prepare(CIFAR, arch, supernet_file, tiny_data)
    acc = accuracy_on_test(tmp_path / "m.onnx", prepared, tiny_data, n_images=0)
    assert acc["top1"] == validated["top1"] and acc["n_images"] == validated["n_images"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "ofa-mbv3-w1.2", "--arch", "largest"], "has no supernet weights"),
        (["--arch", "not-an-id!"], "not a subnet id"),
        (["--arch", "largest", "--limit", "0"], "--limit must be a positive"),
        (["--arch", "largest", "--supernet", "/nonexistent/supernet.pt"], "not found"),
    ],
)
def test_cli_validate_bad_inputs(args, message, tiny_folder, supernet_file, tmp_path, capsys):
    if "--supernet" not in args and args[1] != "ofa-mbv3-w1.2":
        args = [*args, "--supernet", str(supernet_file)]
    code, out, err = _cli(capsys, "validate", *args, "--data", str(tiny_folder), "--store", str(tmp_path), "--json")
    assert code == 2 and err.startswith("error: ") and message in err and out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (CIFAR_JPEG / "test.zip").exists() and not (CIFAR_JPEG / "test").exists(), reason="shared CIFAR-10 copy not present")
def test_cli_validate_on_real_cifar10(supernet_file, tmp_path, capsys):
    code, out, err = _cli(
        capsys,
        "validate",
        "--arch",
        "largest",
        "--data",
        str(CIFAR_JPEG),
        "--supernet",
        str(supernet_file),
        "--limit",
        "200",
        "--store",
        str(tmp_path),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["n_images"] == 200 and result["calib_images"] == 2000 and "cifar10-jpeg" in result["data"]
    confusion = np.asarray(result["confusion"])
    assert confusion.sum() == 200 and confusion.sum(1).tolist() == [20] * 10  # class-balanced: 20 per class
    assert list(result["per_class"]) == list(CIFAR.class_names)


def test_a_dataset_without_the_space_classes_is_refused_and_nothing_is_recorded(supernet_file, tmp_path):
    """A 3-class folder once validated a subnet at 4.44 % and every other visitor saw that figure."""
    from ofa_dash.data import DatasetError
    from tests.conftest import make_image_folder

    three = make_image_folder(tmp_path / "three", classes=("cat", "dog", "frog"))
    store = tmp_path / "store"
    with pytest.raises(DatasetError, match=r"not space 'cifar10''s 10 classes .*missing \['airplane'"):
        validate_subnet(CIFAR, CIFAR.smallest(), supernet_file, three, store_root=store, measure_latency=False)
    renamed = make_image_folder(tmp_path / "renamed", classes=tuple(f"class{i}" for i in range(10)))
    with pytest.raises(DatasetError, match="unexpected"):
        validate_subnet(CIFAR, CIFAR.smallest(), supernet_file, renamed, store_root=store, measure_latency=False)
    assert not (store / "cifar10" / "measurements.jsonl").exists()
