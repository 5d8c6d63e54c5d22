"""The machine a device profile was measured on, and how busy it was while measuring.

A profile's figures only mean something for the machine that produced them,
and a table timed next to a training run is slower and noisier than one timed
on a quiet machine. So every new profile records, under ``meta["machine"]``:
CPU model, logical cores, runtime name and version, threads, the load
averages just before and just after timing, and the cores left idle on
average while timing. Profiles written before this existed still load; their
missing fields read "not recorded" (:func:`machine_rows`).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from ofa_dash.runtime.ort import cpu_model, cpu_times, idle_cores_between, load_averages

NOT_RECORDED = "not recorded"


@dataclass
class MachineWatch:
    """Load and CPU time sampled when timing starts; :meth:`record` adds the samples at the end."""

    load_before: list[float] | None
    cpu_before: tuple[int, int] | None

    @classmethod
    def start(cls) -> MachineWatch:
        return cls(load_averages(), cpu_times())

    def record(self, runtime: dict) -> dict:
        """``meta["machine"]``: this machine, the runtime as ``runtime`` (a ``Runtime.describe()`` dict) names it, and the load while timing."""
        idle = idle_cores_between(self.cpu_before, cpu_times())
        return {
            "cpu_model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "runtime": runtime.get("runtime"),
            "runtime_version": runtime.get("runtime_version"),
            "threads": runtime.get("threads"),
            "load_before": self.load_before,
            "load_after": load_averages(),
            "idle_cores_while_measuring": None if idle is None else round(idle, 2),
            "platform": platform.platform(),
        }


# (key in meta["machine"], label); the CPU, runtime, its version and threads fall back to the top-level metadata every profile has
MACHINE_FIELDS = (
    ("cpu_model", "CPU"),
    ("logical_cores", "logical cores"),
    ("runtime", "runtime"),
    ("runtime_version", "runtime version"),
    ("threads", "threads"),
    ("load_before", "load average before (1/5/15 min)"),
    ("load_after", "load average after (1/5/15 min)"),
    ("idle_cores_while_measuring", "idle cores while measuring"),
)
FALLBACK_TOP_LEVEL = {"cpu_model": "hardware", "runtime": "runtime", "runtime_version": "runtime_version", "threads": "threads"}  # machine key -> meta key


def machine_of(meta: dict) -> dict:
    """The machine fields of a profile's metadata, "not recorded" where an older profile lacks them."""
    machine = meta.get("machine") if isinstance(meta.get("machine"), dict) else {}
    out = {}
    for key, _ in MACHINE_FIELDS:
        value = machine.get(key)
        if value is None and key in FALLBACK_TOP_LEVEL:
            value = meta.get(FALLBACK_TOP_LEVEL[key])
        out[key] = _text(value)
    return out


def machine_rows(profiles: dict[str, dict]) -> list[dict]:
    """One row per machine field, one column per profile (``{name: meta}``): the machines side by side."""
    machines = {name: machine_of(meta) for name, meta in profiles.items()}
    return [{"field": label, **{name: m[key] for name, m in machines.items()}} for key, label in MACHINE_FIELDS]


def _text(value: object) -> str:
    if value is None or value == "":
        return NOT_RECORDED
    if isinstance(value, list | tuple):
        return " / ".join(str(v) for v in value)
    return str(value)
