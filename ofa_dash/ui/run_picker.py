"""How the sidebar names stored runs: groups of seeds of one search setting, with labels that fit and never repeat.

A space holds dozens of runs that differ only by seed ("nsga2 · seed 1 ·
error, latency:cpu-ort · 2026-11-28T04:32" twenty times over, truncated to
"nsga2 · seed 1 · erro..." in a chip). People pick settings, not seeds, so the
picker lists one entry per group: the same algorithm, objectives, budget
(population x generations) and algorithm settings, seeds collapsed:
"NSGA-II · error + latency:cpu-ort · 100×1000 · seeds 1-3". What tells two
groups apart is added only where their labels would otherwise be equal: the
settings that differ between them, else the time the group started.

Pure functions (manifest entries in, labels out); the sidebar in
:mod:`ofa_dash.ui.state` draws them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ofa_dash.search.algorithms import REGISTRY


@dataclass(frozen=True)
class RunGroup:
    """Runs of one search setting that differ only by seed (started in one batch: a repeated seed starts another group)."""

    setting: str  # "NSGA-II · error + latency:cpu-ort · 100×1000" (plus what tells it from an otherwise equal group)
    run_ids: tuple[str, ...]
    seeds: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.setting} · {seeds_label(self.seeds)}"

    @property
    def key(self) -> str:
        """A stable widget key: the first run id (run ids are unique and never change)."""
        return self.run_ids[0]


def algorithm_label(name: str) -> str:
    """The algorithm's display name from the search registry (``nsga2`` -> ``NSGA-II``); unknown names as stored."""
    info = REGISTRY.get(name)
    return info.label if info is not None else name


def objectives_label(objectives: Iterable[str]) -> str:
    """``error + latency:cpu-ort``: error first, the rest in their stored order (the order does not change a search)."""
    objs = list(objectives)
    return " + ".join(sorted(objs, key=lambda o: o != "error"))


def seeds_label(seeds: Iterable[int]) -> str:
    """``seed 4`` / ``seeds 1-3`` / ``seeds 1-3, 7``: consecutive seeds collapsed into ranges."""
    values = sorted(set(int(s) for s in seeds))
    if len(values) == 1:
        return f"seed {values[0]}"
    parts: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return "seeds " + ", ".join(parts)


def budget_label(entry: Mapping) -> str:
    """``100×1000``: population x generations (what the runs spent), empty when the entry does not say."""
    pop, gen = entry.get("pop_size"), entry.get("n_gen")
    return f"{pop}×{gen}" if pop is not None and gen is not None else ""


def settings_of(entry: Mapping) -> dict[str, str]:
    """The algorithm settings that make two runs different searches (scalars of ``algorithm_params``).

    Counts (``n_*``: generations, evaluations, rejected candidates) are left
    out: the budget is in the label already and the others are outcomes that
    differ from seed to seed.
    """
    params = entry.get("algorithm_params") or {}
    return {k: json.dumps(v) if not isinstance(v, str) else v for k, v in sorted(params.items()) if not k.startswith("n_") and not isinstance(v, dict | list)}


def _signature(entry: Mapping) -> tuple:
    return (
        str(entry.get("algorithm", "")),
        objectives_label(entry.get("objectives", [])),
        entry.get("pop_size"),
        entry.get("n_gen"),
        tuple(settings_of(entry).items()),
    )


def _started(entry: Mapping) -> str:
    """``2026-11-28 04:32``: the minute a run was created (what tells two otherwise equal groups apart)."""
    return str(entry.get("created", ""))[:16].replace("T", " ")


def run_groups(entries: list[Mapping], algorithm_name: Callable[[str], str] = algorithm_label) -> list[RunGroup]:
    """Runs grouped by search setting with one readable, unique label each, in a stable reading order.

    Within one setting the runs are taken in creation order and a repeated seed
    starts a new group (the same setting run again later is a separate batch).
    """
    buckets: dict[tuple, list[list[Mapping]]] = {}
    for entry in sorted(entries, key=lambda e: (str(e.get("created", "")), str(e["run_id"]))):
        batches = buckets.setdefault(_signature(entry), [[]])
        if any(int(e["seed"]) == int(entry["seed"]) for e in batches[-1]):
            batches.append([])
        batches[-1].append(entry)
    batches = [b for sig in sorted(buckets, key=lambda s: (s[1], s[0], s[2] or 0, s[3] or 0, s[4])) for b in buckets[sig]]

    def base(batch: list[Mapping]) -> str:
        first = batch[0]
        parts = [algorithm_name(str(first["algorithm"])), objectives_label(first.get("objectives", [])), budget_label(first)]
        return " · ".join(p for p in parts if p)

    bases = [base(b) for b in batches]
    settings = [b + _difference(batches[i], [batches[j] for j, other in enumerate(bases) if other == b and j != i]) for i, b in enumerate(bases)]
    groups = [RunGroup(setting, tuple(e["run_id"] for e in b), tuple(sorted(int(e["seed"]) for e in b))) for b, setting in zip(batches, settings, strict=True)]
    # still equal (the same setting and seeds run again later): say when each started
    repeated = {g.label for g in groups if sum(h.label == g.label for h in groups) > 1}
    return [RunGroup(f"{g.setting} · from {_started(b[0])}", g.run_ids, g.seeds) if g.label in repeated else g for g, b in zip(groups, batches, strict=True)]


def _difference(batch: list[Mapping], others: list[list[Mapping]]) -> str:
    """`` · init random+extremes, duplicates canonical``: the settings in which ``batch`` differs from ``others`` (none: empty)."""
    if not others:
        return ""
    mine = settings_of(batch[0])
    differing = [k for k, v in mine.items() if any(settings_of(o[0]).get(k) != v for o in others)]
    return (" · " + ", ".join(f"{k.replace('_', ' ')} {mine[k]}" for k in differing)) if differing else ""


def run_labels(groups: list[RunGroup], entries: list[Mapping]) -> dict[str, str]:
    """One label per run: its group's setting and its own seed, plus when it started where that alone would repeat."""
    by_id = {e["run_id"]: e for e in entries}
    labels = {run_id: f"{g.setting} · seed {int(by_id[run_id]['seed'])}" for g in groups for run_id in g.run_ids}
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {r: f"{label} · from {_started(by_id[r])}" if seen[label] > 1 else label for r, label in labels.items()}


def chosen_groups(groups: list[RunGroup], chosen: Iterable[str] | None) -> list[RunGroup]:
    """The groups with at least one chosen run (``chosen=None``: every run)."""
    if chosen is None:
        return list(groups)
    wanted = set(chosen)
    return [g for g in groups if wanted & set(g.run_ids)]
