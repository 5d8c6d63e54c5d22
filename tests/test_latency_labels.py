"""Honest latency figures: busy-machine detection, the labels of estimates and measurements, the model card's rows."""

from __future__ import annotations

import pandas as pd
import pytest

from ofa_dash.export import model_card
from ofa_dash.hardware.latency import estimate_label
from ofa_dash.runtime.ort import LatencyStats, MachineLoad, busy_verdict, measured_label
from ofa_dash.space import get_space
from ofa_dash.testing.demo import ensure_demo
from ofa_dash.ui.subnet_view import busy_warning, measured_source, objectives_table, predicted_payload, validation_summary

CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The synthetic precomputed root (built once per test session, shared read-only)."""
    root, _ = ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")
    return root


QUIET = MachineLoad(cpus=2, load_1min=0.3, idle_cores=1.0)


# --------------------------------------------------------------------------- busy detection
def test_quiet_machine_with_agreeing_rounds_is_not_busy():
    assert busy_verdict([0.45, 0.46, 0.44, 0.45, 0.47], QUIET) is None


def test_rounds_that_disagree_mean_the_load_changed():
    reason = busy_verdict([0.45, 0.46, 0.90, 0.45, 0.47], QUIET)
    assert reason is not None and "rounds disagree by 100 %" in reason


def test_no_idle_core_while_timing_means_busy_even_when_rounds_agree():
    # a training run on both cores slows every round alike: the rounds agree, the idle cores tell
    reason = busy_verdict([34.0, 34.5, 35.0, 34.2, 34.8], MachineLoad(cpus=2, load_1min=3.0, idle_cores=0.1))
    assert reason is not None and "0.1 of 2 cores idle" in reason and "rounds disagree" not in reason


def test_load_average_stands_in_only_without_idle_cores():
    # with /proc/stat the load average (which still counts this process's evaluation) is not used ...
    assert busy_verdict([1.0, 1.0], MachineLoad(cpus=2, load_1min=2.5, idle_cores=1.0)) is None
    # ... without it, a load average above the cores left to others is the sign
    assert "load average 2.5 on 2 cores" in busy_verdict([1.0, 1.0], MachineLoad(cpus=2, load_1min=2.5, idle_cores=None))
    assert busy_verdict([1.0, 1.0], MachineLoad(cpus=2, load_1min=0.5, idle_cores=None)) is None


def test_disagreement_limit_is_a_parameter():
    assert busy_verdict([1.0, 1.1], QUIET, max_disagreement=0.15) is None
    assert busy_verdict([1.0, 1.1], QUIET, max_disagreement=0.05) is not None


# --------------------------------------------------------------------------- labels
def test_labels_say_what_a_latency_is():
    assert estimate_label("cpu-ort") == "lookup-table estimate (cpu-ort)"
    stats = LatencyStats(0.45, 0.01, 500, 1, 1, "onnxruntime", "AMD EPYC, 2 logical CPUs", rounds=5, machine="AMD EPYC, 2 CPUs")
    d = stats.to_dict()
    assert d["label"] == "measured here (AMD EPYC, 2 CPUs, median of 5 rounds)" == measured_label(d)
    # a stored validation record (flat latency_* keys) reads the same; one made before rounds existed says so
    assert measured_label({"latency_machine": "AMD EPYC, 2 CPUs", "latency_rounds": 5}) == d["label"]
    assert measured_label({"latency_ms": 34.7}) == "measured here (this machine, one round, load not checked)"


def test_busy_record_is_warned_about_and_its_load_shown():
    record = {
        "latency_ms": 34.7,
        "latency_source": "measured: onnxruntime, 1 thread, batch 1, AMD EPYC",
        "latency_rounds": 5,
        "latency_machine": "AMD EPYC, 2 CPUs",
        "latency_idle_cores": 0.1,
        "latency_load_1min": 3.2,
        "latency_busy": True,
        "latency_busy_reason": "0.1 of 2 cores idle while timing",
    }
    assert busy_warning(record) == "0.1 of 2 cores idle while timing"
    assert busy_warning({**record, "latency_busy": False}) is None and busy_warning({"latency_ms": 1.0}) is None
    source = measured_source(record)
    assert "0.1 idle cores while timing" in source and "load average 3.2" in source and "machine busy" in source
    summary = validation_summary(record)
    assert summary["latency_label"] == "measured here (AMD EPYC, 2 CPUs, median of 5 rounds)" and summary["latency_busy"]


def test_objectives_table_names_estimates_and_measurement_apart(demo):
    from ofa_dash.hardware import load_devices

    arch = CIFAR.smallest()
    devices = load_devices(CIFAR, precomputed_dir=demo)
    measured = {"top1": 33.0, "n_images": 50, "latency_ms": 0.2, "latency_rounds": 5, "latency_machine": "X, 2 CPUs", "supernet_version": "v"}
    table = objectives_table(CIFAR, arch, None, devices, pd.DataFrame(), {}, measured)
    latency = table[table["quantity"].str.startswith("latency")]
    assert set(latency["quantity"]) == {
        "latency, lookup-table estimate (demo-cpu)",
        "latency, lookup-table estimate (demo-gpu)",
        "latency, measured here (X, 2 CPUs, median of 5 rounds)",
    }
    assert set(latency["device"].dropna()) == {"demo-cpu", "demo-gpu"}


# --------------------------------------------------------------------------- the model card's rows
def test_model_card_estimate_rows_name_the_table_not_the_accuracy_source(demo):
    from ofa_dash.hardware import load_devices

    arch = CIFAR.smallest()
    devices = load_devices(CIFAR, precomputed_dir=demo)
    table = objectives_table(CIFAR, arch, None, devices, pd.DataFrame(), {}, None)
    payload = predicted_payload(table, arch)
    payload["source"] = "predicted: ofa-dash mlp v1"  # the accuracy source that used to leak into the latency rows
    rows = {r["device"]: r for r in model_card.estimate_rows(payload)}
    assert set(rows) == {"demo-cpu", "demo-gpu"}
    for name, row in rows.items():
        assert row["runtime"] == f"lookup-table estimate ({name})"
        assert row["source"].startswith(f"estimate: the {name} table") and "predicted" not in row["source"]
        assert row["ms"] == pytest.approx(float(devices[name].estimate(CIFAR.encode(arch))[0]), abs=1e-3)


def test_model_card_estimate_rows_read_the_predict_commands_json():
    predicted = {"top1": 80.0, "source": "predicted: mlp", "latency_ms": {"note10": 12.5, "cpu-ort": 0.45}, "latency_source": {"note10": "OFA's Note10 table"}}
    rows = {r["device"]: r["source"] for r in model_card.estimate_rows(predicted)}
    assert rows == {"note10": "estimate: OFA's Note10 table", "cpu-ort": "estimate: the cpu-ort table"}
