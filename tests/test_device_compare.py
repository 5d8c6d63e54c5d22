"""Devices side by side: the machine a profile records, rank agreement between devices, and the Devices page showing both."""

import json

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import _ok, _page

from ofa_dash.hardware.compare import FAST_EVERYWHERE, FAST_NOWHERE, compare_devices
from ofa_dash.hardware.machine import NOT_RECORDED, MachineWatch, machine_of, machine_rows
from ofa_dash.hardware.profile_format import load_profile, save_profile
from ofa_dash.space import get_space
from ofa_dash.testing.demo import demo_profile
from ofa_dash.ui.catalogue import build_catalogue
from ofa_dash.ui.devices_view import compare_catalogue_devices, device_reports, machines_table

CIFAR = get_space("cifar10")


# --------------------------------------------------------------------------- machine
def test_watch_records_the_machine_and_the_load_around_timing():
    watch = MachineWatch.start()
    sum(i * i for i in range(200_000))  # some CPU time between the two samples
    record = watch.record({"runtime": "OpenVINO (CPU plugin)", "runtime_version": "2026.4.1", "threads": 1})
    assert record["runtime"] == "OpenVINO (CPU plugin)" and record["runtime_version"] == "2026.4.1" and record["threads"] == 1
    assert record["cpu_model"] and record["logical_cores"] >= 1
    assert len(record["load_before"]) == 3 and len(record["load_after"]) == 3  # Linux: os.getloadavg
    assert 0 <= record["idle_cores_while_measuring"] <= record["logical_cores"]
    json.dumps(record)  # it goes into a JSON profile


def test_a_profile_without_machine_still_loads_and_reads_not_recorded(tmp_path):
    profile = demo_profile(CIFAR, "old-cpu", 1.0)  # written like profiles before meta.machine existed
    assert "machine" not in profile.meta
    loaded = load_profile(save_profile(profile, tmp_path / "old-cpu.json"), CIFAR)
    shown = machine_of(loaded.meta)
    assert shown["cpu_model"] == "synthetic demo device (old-cpu)"  # the 'hardware' line every profile has stands in
    assert shown["load_before"] == NOT_RECORDED and shown["logical_cores"] == NOT_RECORDED
    assert shown["runtime"] == "synthetic" and shown["threads"] == "1"  # every profile has these at the top level


def test_machine_rows_put_profiles_side_by_side():
    new = {
        "runtime": "ONNX Runtime",
        "runtime_version": "1.31.1",
        "threads": 1,
        "machine": {"cpu_model": "Xeon", "logical_cores": 2, "load_before": [0.1, 0.2, 0.3]},
    }
    old = {"runtime": "synthetic", "runtime_version": "0", "threads": 1}
    rows = {r["field"]: r for r in machine_rows({"new": new, "old": old})}
    assert rows["CPU"] == {"field": "CPU", "new": "Xeon", "old": NOT_RECORDED}
    assert rows["logical cores"] == {"field": "logical cores", "new": "2", "old": NOT_RECORDED}
    assert rows["load average before (1/5/15 min)"]["new"] == "0.1 / 0.2 / 0.3"
    assert rows["runtime version"] == {"field": "runtime version", "new": "1.31.1", "old": "0"}


# --------------------------------------------------------------------------- rank agreement
def _estimates() -> pd.DataFrame:
    # a and b order the subnets alike; c reverses b's order on the first half
    ids = [f"s{i}" for i in range(8)]
    a = np.arange(1, 9, dtype=float)
    b = a * 3 + 0.5
    c = np.array([8, 7, 6, 5, 1, 2, 3, 4], dtype=float)
    return pd.DataFrame({"a": a, "b": b, "c": c}, index=ids)


def test_identical_orders_agree_and_reversed_ones_do_not():
    cmp = compare_devices(_estimates())
    assert cmp.tau.loc["a", "b"] == pytest.approx(1.0)
    assert cmp.tau.loc["a", "c"] < 0 and cmp.tau.loc["a", "c"] == cmp.tau.loc["c", "a"]
    assert cmp.pairs().iloc[0]["kendall_tau"] == pytest.approx(cmp.tau.loc["a", "c"])  # the most disagreeing pair first
    assert cmp.percentiles["a"].tolist() == pytest.approx([i / 7 * 100 for i in range(8)])


def test_verdicts_say_where_a_subnet_is_fast():
    cmp = compare_devices(_estimates(), fast_percent=30)
    verdicts = cmp.verdicts()
    assert verdicts["s0"] == "fast only on a, b"  # fastest on a and b, slowest on c
    assert verdicts["s4"] == "fast only on c"
    assert verdicts["s7"] == FAST_NOWHERE
    shifted = _estimates()
    shifted.loc["s0", "c"] = 0.5  # now fastest everywhere
    assert compare_devices(shifted, fast_percent=30).verdicts()["s0"] == FAST_EVERYWHERE
    summary = cmp.summary()
    assert summary["subnets"].sum() == 8
    top = cmp.disagreements(3)
    assert list(top.columns) == ["id", "a", "b", "c", "spread", "verdict"] and top["spread"].is_monotonic_decreasing


def test_subnets_missing_on_a_device_are_left_out_and_bad_input_is_refused():
    est = _estimates()
    est.loc["s3", "b"] = np.nan
    assert "s3" not in compare_devices(est).percentiles.index
    with pytest.raises(ValueError, match="at least two"):
        compare_devices(est[["a"]])
    with pytest.raises(ValueError, match="at least two subnets"):
        compare_devices(est.iloc[:1])
    with pytest.raises(ValueError, match="fast_percent"):
        compare_devices(est, fast_percent=0)


def test_catalogue_devices_are_compared_on_their_distinct_subnets(demo):
    root = demo[0]
    cat = build_catalogue(root, "cifar10")
    compared = compare_catalogue_devices(cat)
    assert compared.problem is None
    cmp = compared.comparison
    assert cmp.devices == ["demo-cpu", "demo-gpu"]
    assert len(cmp.estimates) == cat.points["id"].nunique() and str(len(cmp.estimates)) in compared.subnets
    assert -1 <= cmp.tau.loc["demo-cpu", "demo-gpu"] <= 1
    machines = machines_table(device_reports(CIFAR, root, None))
    assert list(machines.columns) == ["field", "demo-cpu", "demo-gpu"]


# --------------------------------------------------------------------------- the page
def test_devices_page_compares_the_devices(env):
    at = _page("devices").run()
    _ok(at)
    assert [h.value for h in at.header][:2] == ["Latency tables", "Devices side by side"]
    frames = [df.value for df in at.dataframe]
    machines = next(f for f in frames if "field" in f and "CPU" in f["field"].tolist())
    assert machines.loc[machines["field"] == "logical cores", "demo-cpu"].item() == NOT_RECORDED  # the demo profiles predate meta.machine
    tau = next(f for f in frames if "device" in f and list(f.columns) == ["device", "demo-cpu", "demo-gpu"])
    assert tau.set_index("device").loc["demo-cpu", "demo-cpu"] == pytest.approx(1.0)
    assert any("verdict" in f and "subnets" in f for f in frames)
    assert any("spread" in f and "verdict" in f for f in frames)
    assert any("Rank agreement" in m.value for m in at.markdown)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "rank on demo-cpu against rank on demo-gpu (0 = the fastest)" in titles
