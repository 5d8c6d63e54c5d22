"""What the Subnet page says about one subnet: every objective with its source, and the measured results.

Every number carries where it comes from, because a predicted top-1, a
table estimate and a live measurement on this machine are different claims:
the table built here has one row per figure with ``source`` spelled out, and
every latency row's name says which kind it is ("lookup-table estimate
(<table>)" or "measured here (<machine>, median of N rounds)"), with a
``device`` column naming the table behind an estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ofa_dash.hardware import count
from ofa_dash.hardware.latency import estimate_label
from ofa_dash.runtime.ort import measured_label
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.ui.catalogue import INT8_UNKNOWN, LATENCY_PREFIX, DeviceInfo, describe_device
from ofa_dash.ui.int8_note import INT8_SUFFIX


def objectives_table(
    space: SearchSpace,
    arch: Arch,
    predictor=None,
    devices: dict | None = None,
    catalogue_rows: pd.DataFrame | None = None,
    device_infos: dict[str, DeviceInfo] | None = None,
    measured: dict | None = None,
) -> pd.DataFrame:
    """Rows ``quantity, value, unit, source, device`` for ``arch`` (``device``: the table of an estimate, else None).

    Predicted top-1: the stored run's objective when the subnet is in a run
    (``catalogue_rows``), else the predictor. Latency: every loaded device
    table, and stored values for devices only runs know. Counters always.
    ``measured`` is a stored live validation (``validation.best_measurement``).
    """
    g = space.encode(arch)
    rows: list[dict] = []
    row0 = catalogue_rows.iloc[0] if catalogue_rows is not None and len(catalogue_rows) else None
    if row0 is not None and pd.notna(row0.get("top1_pred")):
        rows.append({"quantity": "top-1 (predicted)", "value": float(row0["top1_pred"]), "unit": "%", "source": str(row0["top1_pred_source"])})
    elif predictor is not None:
        rows.append({"quantity": "top-1 (predicted)", "value": float(predictor.predict(g)[0]), "unit": "%", "source": f"predicted: {predictor.source}"})
    else:
        rows.append(
            {
                "quantity": "top-1 (predicted)",
                "value": np.nan,
                "unit": "%",
                "source": f"no accuracy predictor for {space.name} yet (`python -m ofa_dash fit-predictor --space {space.name}`); validate to measure it",
            }
        )
    if measured:
        rows.append(
            {
                "quantity": "top-1 (measured)",
                "value": float(measured["top1"]),
                "unit": "%",
                "source": f"measured: live validation, {measured.get('subset') or str(measured.get('n_images')) + ' test images'}, supernet {measured.get('supernet_version')}",
            }
        )
        if measured.get("top5") is not None:
            rows.append({"quantity": "top-5 (measured)", "value": float(measured["top5"]), "unit": "%", "source": "measured: same validation"})
    rows += _int8_accuracy_rows(row0, [*(devices or {}), *(device_infos or {})])
    for name, table in (devices or {}).items():
        rows.append(
            {
                "quantity": latency_quantity(estimate_label(name)),
                "value": float(table.estimate(g)[0]),
                "unit": "ms",
                "source": describe_device(table),
                "device": name,
            }
        )
    for name, info in (device_infos or {}).items():
        if name in (devices or {}) or row0 is None:
            continue
        value = row0.get(LATENCY_PREFIX + name)
        if value is not None and pd.notna(value):
            rows.append({"quantity": latency_quantity(estimate_label(name)), "value": float(value), "unit": "ms", "source": info.source, "device": name})
    if measured and measured.get("latency_ms") is not None:
        rows.append(
            {
                "quantity": latency_quantity(measured_label(measured)),
                "value": float(measured["latency_ms"]),
                "unit": "ms",
                "source": measured_source(measured),
            }
        )
    counts = count(space, g)
    rows.append({"quantity": "MACs", "value": float(counts["macs"][0]) * 1e-6, "unit": "M", "source": "counted (convolutions and the classifier)"})
    rows.append({"quantity": "parameters", "value": float(counts["params"][0]) * 1e-6, "unit": "M", "source": "counted"})
    rows.append({"quantity": "peak activation memory", "value": float(counts["peak_mem"][0]) * 1e-6, "unit": "MB", "source": "counted (batch 1, fp32)"})
    out = pd.DataFrame(rows, columns=["quantity", "value", "unit", "source", "device"])
    out["value"] = out["value"].astype(float).round(3)
    return out


def _int8_accuracy_rows(row0, device_names: list[str]) -> list[dict]:
    """With an int8 device (``X-int8``): the int8 model's top-1, predicted by the int8 drop model and measured where it was (catalogue columns)."""
    if row0 is None or not any(n.endswith(INT8_SUFFIX) for n in device_names):
        return []
    rows = []
    if pd.notna(row0.get("top1_int8_pred")):
        source = str(row0["top1_int8_pred_source"])
        if pd.notna(row0.get("top1_int8_pred_pm")):
            source += f"; ± {float(row0['top1_int8_pred_pm']):.2f} points at {float(row0['top1_int8_pred_level']):.0f} % (calibrated on measured int8 pairs)"
        rows.append({"quantity": "top-1 int8 (predicted)", "value": float(row0["top1_int8_pred"]), "unit": "%", "source": source})
    else:
        rows.append({"quantity": "top-1 int8 (predicted)", "value": np.nan, "unit": "%", "source": INT8_UNKNOWN})
    if pd.notna(row0.get("top1_int8_measured")):
        images = int(row0["measured_int8_images"])
        rows.append(
            {
                "quantity": "top-1 int8 (measured)",
                "value": float(row0["top1_int8_measured"]),
                "unit": "%",
                "source": f"measured int8: live validation of the int8 model on {images} test images",
            }
        )
    return rows


def latency_quantity(label: str) -> str:
    """A latency row's name: "latency, " and what the figure is (an estimate of which table, or measured where)."""
    return f"latency, {label}"


def measured_source(measured: dict) -> str:
    """Where a live latency comes from, with the machine's load at the time when it was recorded."""
    parts = [measured.get("latency_source") or "measured: ONNX Runtime"]
    if measured.get("latency_idle_cores") is not None:
        parts.append(f"{measured['latency_idle_cores']:.1f} idle cores while timing")
    if measured.get("latency_load_1min") is not None:
        parts.append(f"load average {measured['latency_load_1min']:.1f}")
    if busy_warning(measured):
        parts.append("machine busy: " + busy_warning(measured))
    return "; ".join(parts)


def busy_warning(result: dict) -> str | None:
    """Why a stored live latency is doubtful (the machine was busy while timing), or None."""
    if result.get("latency_busy") is True:
        return str(result.get("latency_busy_reason") or "the machine was busy while timing")
    return None


def predicted_payload(table: pd.DataFrame, arch: Arch) -> dict:
    """The ``predict``-style dict that the bundle's model card shows (``top1``, ``latency_ms``, ``macs``, ``params``)."""
    out: dict = {"arch": arch.id, "latency_ms": {}, "sources": {}}
    for _, r in table.iterrows():
        q = r["quantity"]
        if q == "top-1 (predicted)":
            out["top1"], out["source"] = r["value"], r["source"]
        elif isinstance(r.get("device"), str) and r["device"]:
            # keyed by device, as the predict command's JSON is: the model card names the table behind each estimate
            out["latency_ms"][r["device"]] = r["value"]
            out["sources"][r["device"]] = str(r["source"]).removeprefix("estimated from ")
        elif q == "MACs":
            out["macs"] = r["value"] * 1e6
        elif q == "parameters":
            out["params"] = r["value"] * 1e6
    return out


def runs_containing(points: pd.DataFrame, arch_id: str) -> pd.DataFrame:
    """Which stored runs hold the subnet, and in which set."""
    if not len(points):
        return pd.DataFrame(columns=["run_id", "algorithm", "seed", "set"])
    part = points[points["id"] == arch_id]
    return part[["run_id", "algorithm", "seed", "set"]].drop_duplicates().reset_index(drop=True)


def validation_summary(result: dict) -> dict:
    """Headline figures of a validation result (a ``ValidationResult.to_dict()`` or a stored record)."""
    per_class = result.get("per_class") or {}
    vals = [v for v in per_class.values() if v is not None]
    return {
        "top1": result.get("top1"),
        "top5": result.get("top5"),
        "n_images": result.get("n_images"),
        "latency_ms": result.get("latency_ms"),
        "latency_label": measured_label(result) if result.get("latency_ms") is not None else None,
        "latency_busy": busy_warning(result),
        "worst_class": min(per_class, key=lambda k: per_class[k] if per_class[k] is not None else np.inf) if vals else None,
        "subset": result.get("subset"),
        "seconds": result.get("seconds"),
    }
