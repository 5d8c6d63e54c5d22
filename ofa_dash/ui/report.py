"""The decision report: one self-contained HTML file with the front, the shortlist and its notes, and each pick's card.

A decision is read later and elsewhere (a review, a ticket, an e-mail), often
offline, so the file carries everything: plotly's JavaScript inline (no CDN),
each pick's objectives with the source of every figure
(:func:`ofa_dash.ui.subnet_view.objectives_table`), and what its model card says
before any export (:func:`ofa_dash.export.model_card.preview`). Notes and every
other text come from files and visitors, so all of it goes through
``html.escape``; only the figure's own markup is inserted as is.
:func:`decision_report` is pure: the page gathers its inputs.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from ofa_dash.shortlist import Pin

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.note { white-space: pre-wrap; background: #fff8e6; border-left: 4px solid #ff7f0e; padding: .5rem .75rem; }
.pick { border-top: 2px solid #ddd; margin-top: 2rem; padding-top: 1rem; }
.muted { color: #666; font-size: .9rem; }
"""


@dataclass
class ReportPick:
    """One shortlisted subnet as the report shows it: the pin (id, note), its objectives table and its card preview."""

    pin: Pin
    objectives: pd.DataFrame  # quantity, value, unit, source (subnet_view.objectives_table)
    card: dict  # model_card.preview
    found_in_runs: int = 0


def _fmt(value: object, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _value(v: object) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.4g}"
    return _e(v)


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_value(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card_html(card: dict) -> str:
    arch, cost = card["architecture"], card["cost"]
    parts = [
        f"<h4>Model card: {_e(card['title'])}</h4>",
        f"<p>{_e(card['space']['description'])}</p>",
        "<ul>",
        f"<li>input resolution {_e(arch['resolution'])}&times;{_e(arch['resolution'])}; stage depths {_e(arch['depths'])}</li>",
        f"<li>MACs {cost['macs']:,}; parameters {cost['params']:,}; peak activation memory {cost['peak_activation_bytes']:,} bytes ({_e(cost['source'])})</li>",
        "</ul>",
    ]
    acc = [
        [r.get("model"), _fmt(r.get("top1")), _fmt(r.get("top5")), r.get("images") or r.get("n_images"), r.get("source")] for r in card["accuracy"]["measured"]
    ]
    pred = card["accuracy"]["predicted"]
    if pred:
        acc.append(["predicted", _fmt(pred["top1"]), "-", "-", pred["source"]])
    if acc:
        parts.append(_table(["accuracy", "top-1 %", "top-5 %", "images", "source"], acc))
    if card["latency"]:
        parts.append(_table(["device", "runtime", "ms", "source"], [[r["device"], r["runtime"], _fmt(r["ms"], 3), r["source"]] for r in card["latency"]]))
    parts.append(
        _table(
            ["block", "stage", "kernel", "expand", "out", "stride"],
            [[b["block"], b["stage"], b["kernel"], b["expand"], b["out"], b["stride"]] for b in arch["blocks"]],
        )
    )
    parts.append("<p class='muted'>" + "<br>".join(_e(item) for item in card["limitations"]) + "</p>")
    return "\n".join(parts)


def decision_report(space: str, picks: list[ReportPick], figure: go.Figure | None, created: str, context: str = "") -> str:
    """The whole report as one HTML document (UTF-8 text); ``context`` says which runs and devices the front shows."""
    title = f"Decision report: {space}"
    out = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='muted'>Made by ofa-dash at {_e(created)}. {_e(context)}</p>",
        "<h2>Front</h2>",
    ]
    if figure is not None:
        out.append(figure.to_html(full_html=False, include_plotlyjs=True, div_id="front"))
    else:
        out.append("<p>No front: the space has no stored runs with a latency on a chosen device.</p>")
    out.append(f"<h2>Shortlist ({len(picks)})</h2>")
    if not picks:
        out.append("<p>Nothing is pinned yet.</p>")
    out.append(_table(["subnet", "note", "pinned"], [[p.pin.id, p.pin.note or "-", p.pin.pinned_at or "-"] for p in picks]))
    for p in picks:
        rows = [[r["quantity"], r["value"], r["unit"], r["source"]] for _, r in p.objectives.iterrows()]
        found = f"found by {p.found_in_runs} stored run(s)" if p.found_in_runs else "not in any stored run (values computed)"
        out += [
            f"<section class='pick' id='pick-{_e(p.pin.id)}'>",
            f"<h3>{_e(p.pin.id)}</h3>",
            f"<div class='note'>{_e(p.pin.note) or '<em>no note</em>'}</div>",
            f"<p class='muted'>Pinned {_e(p.pin.pinned_at or '-')}; {_e(found)}.</p>",
            "<h4>Objectives and where each comes from</h4>",
            _table(["quantity", "value", "unit", "source"], rows),
            _card_html(p.card),
            "</section>",
        ]
    out.append("</body></html>")
    return "\n".join(out)
