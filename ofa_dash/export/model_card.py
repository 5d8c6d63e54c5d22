"""The model card of an exported bundle: one dict (model_card.json), rendered to Markdown (MODEL_CARD.md).

Every figure on the card says where it comes from (measured by the export,
measured by a live validation, or predicted, and on which device and data),
because a bundle travels without the dashboard that could explain it.
"""

from __future__ import annotations

import json
import time

import ofa_dash
from ofa_dash.hardware import count
from ofa_dash.hardware.latency import estimate_label
from ofa_dash.runtime.ort import measured_label
from ofa_dash.space import Arch, SearchSpace
from ofa_dash.subnets import PreparedSubnet


def build(
    prepared: PreparedSubnet,
    config: dict,
    parity: dict,
    int8_agreement: dict,
    report: dict,
    quantization: dict,
    predicted: dict | None = None,
    measured: dict | None = None,
) -> dict:
    space, arch, prov = prepared.space, prepared.arch, prepared.provenance
    accuracy_rows = []
    for precision, acc in (report.get("accuracy") or {}).items():
        if isinstance(acc, dict):
            accuracy_rows.append({"model": f"{precision} ONNX", **acc, "source": "measured by this export (ONNX Runtime)"})
    if measured:
        accuracy_rows.append(live_accuracy_row(measured))
    tuned = prov.finetune if prov.weights == "finetuned" else None
    if tuned and tuned.get("top1_after") is not None:  # these weights' own figure: the predictor and any live validation describe the supernet's
        accuracy_rows.append(
            {
                "model": "fp32 (fine-tune run, PyTorch)",
                "top1": tuned["top1_after"],
                "top5": None,
                "n_images": tuned.get("test_images"),
                "images": "test split",
                "data": tuned.get("data"),
                "source": f"measured by the fine-tune run at {tuned.get('finished', '?')} (before fine-tuning: {_fmt(tuned.get('top1_before'))} %)",
            }
        )
    latency_rows = []
    for precision, lat in (report.get("latency") or {}).items():
        if isinstance(lat, dict):
            latency_rows.append(
                {
                    "device": lat["device"],
                    "runtime": f"{lat['runtime']}, {precision}, {lat['threads']} thread, batch {lat['batch_size']}",
                    "ms": lat["median_ms"],
                    "iqr_ms": lat["iqr_ms"],
                    "source": f"{measured_label(lat)} by this export",
                    "busy": bool(lat.get("busy")),
                    "busy_reason": lat.get("busy_reason"),
                }
            )
    if measured and measured.get("latency_ms") is not None:
        latency_rows.append(live_latency_row(measured))
    predicted_acc = None
    if predicted:
        if predicted.get("top1") is not None:
            source = (predicted.get("sources") or {}).get("top1") or predicted.get("source", "predicted by ofa-dash")
            predicted_acc = {
                "top1": predicted["top1"],
                "source": source + ("; for the supernet's weights, not these fine-tuned ones" if tuned else ""),
            }
        latency_rows += estimate_rows(predicted)
    return {
        "title": f"ofa-dash subnet {arch.id} ({space.name}){', fine-tuned' if prov.weights == 'finetuned' else ''}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ofa_dash_version": ofa_dash.__version__,
        "space": {"name": space.name, "description": space.description, "n_classes": space.n_classes},
        "architecture": {"id": arch.id, "arch": arch.to_dict(), "resolution": arch.r, "depths": list(arch.d), "blocks": space.describe(arch)},
        "cost": cost(space, arch),
        "accuracy": {"measured": accuracy_rows, "predicted": predicted_acc},
        "latency": latency_rows,
        "preprocessing": config["preprocessing"],
        "provenance": prov.to_dict(),
        "parity": {"onnx_vs_pytorch": parity, "int8_vs_fp32": int8_agreement},
        "quantization": quantization,
        "int8_vs_fp32": report.get("int8_vs_fp32"),
        "files": {
            "model.onnx": "fp32 ONNX (opset 17, dynamic batch); preprocessing in metadata_props",
            "model-int8.onnx": "int8 ONNX (static quantization)",
            "config.json": "architecture, preprocessing and provenance; ofa_dash.export.load_exported rebuilds PyTorch models from such configs",
            "predict.py": "stand-alone inference: python predict.py IMAGE [IMAGE ...] [--int8] [--json] (needs onnxruntime, numpy, Pillow)",
        },
        "limitations": _limitations(prov.bn_recalibrated, bool(report.get("accuracy")), report.get("int8_vs_fp32")),
    }


def cost(space: SearchSpace, arch: Arch) -> dict:
    """The card's cost section: MACs, parameters and peak activation memory from the analytic counters."""
    counts = {k: int(v[0]) for k, v in count(space, space.encode(arch)).items()}
    return {
        "macs": counts["macs"],
        "params": counts["params"],
        "peak_activation_bytes": counts["peak_mem"],
        "source": "analytic counters (ofa_dash.hardware.count)",
    }


def live_accuracy_row(measured: dict) -> dict:
    """The accuracy row of a stored live validation (``validation.best_measurement``)."""
    return {
        "model": "fp32 (live validation)",
        "top1": measured.get("top1"),
        "top5": measured.get("top5"),
        "n_images": measured.get("n_images"),
        "images": measured.get("subset"),
        "data": measured.get("data"),
        "source": f"measured by live validation at {measured.get('measured_at', '?')}",
    }


def live_latency_row(measured: dict) -> dict:
    """The latency row of a stored live validation that timed the subnet."""
    return {
        "device": measured.get("latency_machine") or "this CPU",
        "runtime": "ONNX Runtime fp32, 1 thread, batch 1",
        "ms": measured["latency_ms"],
        "iqr_ms": measured.get("latency_iqr_ms"),
        "source": f"{measured_label(measured)} by live validation at {measured.get('measured_at', '?')}",
        "busy": measured.get("latency_busy") is True,
        "busy_reason": measured.get("latency_busy_reason"),
    }


def preview(space: SearchSpace, arch: Arch, predicted: dict | None = None, measured: dict | None = None) -> dict:
    """What a model card says of a subnet before any export: architecture, cost, accuracy and latency with their sources, limitations.

    A decision report shows this for each shortlisted subnet; the export's own
    figures (parity, int8, preprocessing) exist only once it is built, so they
    are left out rather than guessed. Same keys as :func:`build` where they overlap.
    """
    accuracy_rows = [live_accuracy_row(measured)] if measured else []
    latency_rows = [live_latency_row(measured)] if measured and measured.get("latency_ms") is not None else []
    predicted_acc = None
    if predicted and predicted.get("top1") is not None:
        predicted_acc = {"top1": predicted["top1"], "source": predicted.get("source", "predicted by ofa-dash")}
    return {
        "title": f"ofa-dash subnet {arch.id} ({space.name})",
        "ofa_dash_version": ofa_dash.__version__,
        "space": {"name": space.name, "description": space.description, "n_classes": space.n_classes},
        "architecture": {"id": arch.id, "arch": arch.to_dict(), "resolution": arch.r, "depths": list(arch.d), "blocks": space.describe(arch)},
        "cost": cost(space, arch),
        "accuracy": {"measured": accuracy_rows, "predicted": predicted_acc},
        "latency": latency_rows + (estimate_rows(predicted) if predicted else []),
        "limitations": _limitations(True, bool(accuracy_rows))[:2],
    }


def estimate_rows(predicted: dict) -> list[dict]:
    """The card's rows for lookup-table latencies: each names its table, never the accuracy predictor.

    ``predicted`` is the ``predict`` command's JSON (``latency_source`` per
    device) or the Subnet page's payload (``sources`` per device).
    """
    tables = {**(predicted.get("latency_source") or {}), **(predicted.get("sources") or {})}
    return [
        {"device": device, "runtime": estimate_label(device), "ms": ms, "iqr_ms": None, "source": f"estimate: {tables.get(device) or f'the {device} table'}"}
        for device, ms in (predicted.get("latency_ms") or {}).items()
    ]


def _limitations(recalibrated: bool, has_accuracy: bool, int8_vs_fp32: dict | None = None) -> list[str]:
    out = [
        "Accuracy figures hold for images like the evaluation data (same source, size and class set); other inputs are out of distribution.",
        "Latency depends on the CPU, thread count and background load; the interquartile range shows the spread seen while measuring, and a row measured on a busy machine says so. Lookup-table estimates are for the named device, not for the machine that exported.",
    ]
    if not recalibrated:
        out.append("Batch-norm statistics were NOT re-estimated for this subnet (no training images given): accuracy may be far below the supernet's.")
    if not has_accuracy:
        out.append("No test data was given to the export: the int8 model's accuracy was not measured on a test set.")
    if int8_vs_fp32 and int8_vs_fp32.get("int8_slower"):
        out.append("On the machine that exported it, the int8 model ran slower than fp32 for this subnet: measure on your target before choosing int8.")
    return out


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(card: dict) -> str:
    arch = card["architecture"]
    pre = card["preprocessing"]
    prov = card["provenance"]
    lines = [
        f"# {card['title']}",
        "",
        f"{card['space']['description']}",
        "",
        "## Architecture",
        "",
        f"- subnet id: `{arch['id']}`; input resolution {arch['resolution']}x{arch['resolution']}; stage depths {arch['depths']}",
        f"- MACs: {card['cost']['macs']:,}; parameters: {card['cost']['params']:,}; peak activation memory (batch 1, fp32): {card['cost']['peak_activation_bytes']:,} bytes ({card['cost']['source']})",
        f"- arch JSON: `{_compact(arch['arch'])}`",
        "",
        "| stage | block | kernel | expand | in | out | mid | stride | size | SE | act |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for b in arch["blocks"]:
        lines.append(
            f"| {b['stage']} | {b['block']} | {b['kernel']} | {b['expand']} | {b['in']} | {b['out']} | {b['mid']} | {b['stride']} | {b['size']} | {'yes' if b['se'] else 'no'} | {b['act']} |"
        )
    lines += ["", "## Accuracy", "", "| model | top-1 % | top-5 % | images | data | source |", "| --- | --- | --- | --- | --- | --- |"]
    for row in card["accuracy"]["measured"]:
        lines.append(
            f"| {row['model']} | {_fmt(row.get('top1'))} | {_fmt(row.get('top5'))} | {row.get('images') or row.get('n_images')} | {row.get('data') or '-'} | {row['source']} |"
        )
    if not card["accuracy"]["measured"]:
        lines.append("| - | - | - | - | - | not measured (no test data given) |")
    pred = card["accuracy"]["predicted"]
    if pred:
        lines += ["", f"Predicted top-1: {_fmt(pred['top1'])} % ({pred['source']})."]
    lines += ["", "## Latency", "", "| device | runtime | ms | IQR ms | source |", "| --- | --- | --- | --- | --- |"]
    for row in card["latency"]:
        busy = f"; **machine busy while timing: {row.get('busy_reason') or 'yes'}**" if row.get("busy") else ""
        lines.append(f"| {row['device']} | {row['runtime']} | {_fmt(row['ms'], 3)} | {_fmt(row.get('iqr_ms'), 3)} | {row['source']}{busy} |")
    par = card["parity"]["onnx_vs_pytorch"]
    agr = card["parity"]["int8_vs_fp32"]
    lines += [
        "",
        "## Verification",
        "",
        f"- fp32 ONNX vs PyTorch on {par['inputs']}: max |diff| {par['max_abs_diff']:.2e} (tolerance {par['tolerance']:.0e}), top-1 agreement {par['top1_agreement']:.1f} %",
        f"- int8 ONNX vs fp32 ONNX on {agr['inputs']}: top-1 agreement {agr['top1_agreement']:.1f} %, max |diff| {agr['max_abs_diff']:.3f}",
        f"- quantization: {card['quantization']['method']}; calibrated on {card['quantization']['calibration']}",
        "",
        "## int8 against fp32",
        "",
        f"{card['int8_vs_fp32']['summary'] if card.get('int8_vs_fp32') else 'not measured'}",
        "",
        "## Preprocessing",
        "",
        f"- input `{pre['input_name']}`, shape {pre['input_shape']}, {pre['layout']}, {pre['dtype']}, {pre['color']}",
        f"- resize: {pre['resize']}",
        f"- normalise: {pre['normalize']} with mean {pre['mean']} and std {pre['std']}",
        f"- output `{pre['output_name']}`: {pre['output']}; classes: {', '.join(pre['class_names'][:20])}{' ...' if len(pre['class_names']) > 20 else ''}",
        "",
        "## Provenance",
        "",
        f"- space `{prov['space']}`, supernet version `{prov['supernet_version']}` (sha256 {(prov['supernet_sha256'] or '-')[:16]})",
        f"- weights: {weights_line(prov)}",
        f"- BN statistics re-estimated: {_recalibration(prov)}",
        f"- data copy: {prov['data'] or '-'}",
        f"- exported by ofa-dash {card['ofa_dash_version']} at {card['created']}",
        "",
        "## Use",
        "",
        "```",
        "pip install onnxruntime numpy pillow",
        "python predict.py photo.jpg            # fp32 model",
        "python predict.py photo.jpg --int8     # int8 model",
        "```",
        "",
        "## Files",
        "",
    ]
    lines += [f"- `{name}`: {what}" for name, what in card["files"].items()]
    lines += ["", "## Limitations", ""] + [f"- {item}" for item in card["limitations"]]
    return "\n".join(lines) + "\n"


def weights_line(prov: dict) -> str:
    """Which weights the model holds: the supernet's as extracted, or fine-tuned ones and how they were made (from finetune.json)."""
    ft = prov.get("finetune")
    if prov.get("weights", "supernet") != "finetuned" or not ft:
        return "the supernet's, as extracted (not fine-tuned)"
    hp = ft.get("hyperparameters") or {}
    return (
        f"fine-tuned from the supernet's for {ft.get('epochs')} epochs ({ft.get('steps')} steps, batch {hp.get('batch_size')}, lr {hp.get('lr')}, seed {ft.get('seed')}) "
        f"with distillation from the largest subnet on {ft.get('data')}; test top-1 {_fmt(ft.get('top1_before'))} % before, {_fmt(ft.get('top1_after'))} % after "
        f"on {ft.get('test_images')} images; {ft.get('hardware')}, finished {ft.get('finished')} (weights sha256 {str(ft.get('weights_sha256'))[:16]})"
    )


def _recalibration(prov: dict) -> str:
    if not prov["bn_recalibrated"]:
        return "no (bn_recalibrated: false): the supernet's own statistics, which fit smaller subnets poorly"
    what = prov.get("calibration") or f"{prov['calib_images']} training images"
    fingerprint = f" (images sha256 {prov['calibration_fingerprint']})" if prov.get("calibration_fingerprint") else ""
    return f"yes, on {what}{fingerprint}"


def _compact(arch: dict) -> str:
    return json.dumps(arch, separators=(",", ":"))
