"""Switch the shipped flagship to a newly trained supernet: every derived artefact rebuilt, in order, resumable.

The flagship is trained under a draft name (``training/cifar10-v2``) while
``precomputed/cifar10`` keeps serving a consistent set. Once its last phase is
published, the switch (issue 13, item 4) is one change: the space definition
under the shipped name becomes the draft's (``ofa_dash/space.py``, by hand),
then this script retires the old set's derived files, promotes the weights
(:func:`ofa_dash.checkpoints.promote_weights`: renamed, checked, versioned by
content hash) and rebuilds each artefact from them. Each step knows whether its
output already exists for the promoted weights, so a stopped switch resumes at
the first missing step; ``measure`` also resumes inside itself.

    python scripts/flagship_switch.py                      # the plan: each step, done or not, and its command
    python scripts/flagship_switch.py --run                # run every missing step in order
    python scripts/flagship_switch.py --run --only measure # one step

Nothing runs without ``--run``. Hours on this 2-core CPU (2026-12 estimates):
measuring 2,000 subnets ~3 h, each CPU profile 10-20 min, the browser profile
~5 min, the runs ~10 min, the accuracy benchmark ~15 min, fine-tuning three
subnets for 3 epochs each about an hour.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
INT8_PAIRS = 10  # int8 / fp32 pairs measured along the int8 front: what the int8 drop model is fitted on
QUICK_ARGS = {
    "profile": ("--n-calibration", "16", "--n-validation", "8", "--repeats", "5"),
    "profile-browser": ("--quick", "--n-calibration", "16", "--n-validation", "8"),
    "runs": ("--seeds", "1", "--gens", "50", "--many-gens", "50"),
    "int8": ("--limit", "200"),
    "accuracy": ("--n-random", "2"),
    "finetune": ("--epochs", "1", "--max-steps-per-epoch", "3", "--subnets", "smallest"),
}
RETIRED = ("measured.parquet", "measurements.jsonl", "predictor.pt", "devices", "runs", "finetuned", "exports")


@dataclass(frozen=True)
class Switch:
    """Where the switch reads and writes: the draft's training folder, the shipped name's folder, the dataset."""

    draft: Path
    space: str
    data: str
    cache: str | None
    n_subnets: int
    quick: bool = False  # a rehearsal: every step on a small budget, to find what breaks before the real switch

    def extra(self, step: str) -> list[str]:
        """The small budgets of a rehearsal (``--quick``); nothing for the real switch."""
        return list(QUICK_ARGS.get(step, ())) if self.quick else []

    @property
    def int8_pairs(self) -> int:
        return 2 if self.quick else INT8_PAIRS

    @property
    def target(self) -> Path:
        return ROOT / "precomputed" / self.space

    def version(self) -> str | None:
        """The supernet version of the promoted weights, or None before promotion."""
        meta = _weights_meta(self.target / "supernet.pt")
        if meta.get("promoted_from", {}).get("space") != _weights_space(self.draft / "supernet.pt"):
            return None
        return meta.get("supernet_version")


@dataclass(frozen=True)
class Step:
    name: str
    why: str
    done: Callable[[Switch], bool]
    command: Callable[[Switch], list[str] | None]  # None: the step runs in this process (see ACTIONS)


@functools.lru_cache(maxsize=8)
def _weights_header(path: Path, stamp: tuple) -> tuple[str | None, dict]:
    """(space, metadata) of a weights file, read once per file state (``stamp``: its size and mtime)."""
    from ofa_dash.checkpoints import load_tagged

    blob = load_tagged(path, "ofa-dash supernet checkpoint")
    return (blob.get("space"), json.loads(blob.get("meta", "{}"))) if isinstance(blob, dict) else (None, {})


def _header(path: Path) -> tuple[str | None, dict]:
    if not path.is_file():
        return None, {}
    st = path.stat()
    return _weights_header(path, (st.st_size, st.st_mtime_ns))


def _weights_meta(path: Path) -> dict:
    return _header(path)[1]


def _weights_space(path: Path) -> str | None:
    return _header(path)[0]


def _data_args(sw: Switch) -> list[str]:
    return ["--data", sw.data] + (["--cache", sw.cache] if sw.cache else [])


def _measured_rows(sw: Switch) -> int:
    path, version = sw.target / "measured.parquet", sw.version()
    if not path.is_file() or version is None:
        return 0
    import pandas as pd

    return int((pd.read_parquet(path, columns=["supernet_version"])["supernet_version"] == version).sum())


def _predictor_version(sw: Switch) -> str | None:
    from ofa_dash.predictors.fitted import predictor_meta
    from ofa_dash.space import get_space

    path = sw.target / "predictor.pt"
    return predictor_meta(path, get_space(sw.space)).get("supernet_version") if path.is_file() else None


def _int8_pairs(sw: Switch) -> int:
    version = sw.version()
    path = sw.target / "measurements.jsonl"
    if version is None or not path.is_file():
        return 0
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return len({r["arch"] for r in rows if r.get("supernet_version") == version and r.get("top1_int8") is not None})


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _runs_done(sw: Switch) -> bool:
    """Every run the last precompute summary names exists in the store (the retired set's runs are gone)."""
    summary = json.dumps(_json(ROOT / "benchmarks" / "results" / f"precompute_{sw.space}.json"))
    run_ids = set(re.findall(r'"run_id": "([^"]+)"', summary))
    return bool(run_ids) and all((sw.target / "runs" / r).is_dir() for r in run_ids)


def _profile(runtime: str, name: str) -> Step:
    return Step(
        f"profile-{name}",
        f"{name}: per-layer latency table of the new layers ({runtime})",
        lambda sw: (sw.target / "devices" / f"{name}.json").is_file(),
        lambda sw: [
            PY,
            "-m",
            "ofa_dash",
            "profile",
            "--space",
            sw.space,
            "--runtime",
            runtime,
            "--name",
            name,
            "--threads",
            "1",
            "--json",
            *sw.extra("profile"),
        ],
    )


def _promote(sw: Switch) -> None:
    from ofa_dash.checkpoints import promote_weights
    from ofa_dash.files import atomic_write_json
    from ofa_dash.space import get_space

    space = get_space(sw.space)
    for name in RETIRED:
        path = sw.target / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for name in ("teacher.pt", "supernet.pt"):  # supernet last: its presence marks the step done
        version = promote_weights(sw.draft / name, sw.target / name, space, overwrite=True)
    manifest = json.loads((sw.draft / "train_manifest.json").read_text())
    atomic_write_json(
        sw.target / "train_manifest.json",
        {**manifest, "space": sw.space, "supernet_version": version, "promoted_from": str(sw.draft.relative_to(ROOT))},
        indent=2,
    )
    shutil.copyfile(sw.draft / "train_log.jsonl", sw.target / "train_log.jsonl")
    print(f"promoted {sw.draft} -> {sw.target} as {version}")


def _int8_front_archs(sw: Switch) -> list[str]:
    """Subnets spread along the stored NSGA-II front on the int8 device: where the int8 drop matters to users."""
    from ofa_dash.ladder.rungs import spread_along_front
    from ofa_dash.space import get_space
    from ofa_dash.store import RunStore

    store = RunStore(ROOT / "precomputed")
    runs, _ = store.list_runs(sw.space)
    wanted = [r for r in runs if r.get("algorithm") == "nsga2" and r.get("objectives") == ["error", "latency:cpu-ort-int8"]]
    if not wanted:
        raise SystemExit("no NSGA-II run on (error, latency:cpu-ort-int8): run the 'runs' step first")
    run = store.load(wanted[0]["run_id"], sw.space)
    return spread_along_front(run, get_space(sw.space), "latency:cpu-ort-int8", sw.int8_pairs)


def _measure_int8_pairs(sw: Switch) -> None:
    for arch in _int8_front_archs(sw):
        cmd = [
            PY,
            "-m",
            "ofa_dash",
            "validate",
            "--space",
            sw.space,
            "--arch",
            arch,
            "--int8",
            "--limit",
            "2000",
            "--no-latency",
            *_data_args(sw),
            "--json",
            *sw.extra("int8"),
        ]
        _run(cmd)


STEPS: tuple[Step, ...] = (
    Step("promote", "retire the old set's derived files; the draft's weights under the shipped name", lambda sw: sw.version() is not None, lambda sw: None),
    Step(
        "measure",
        "holdout top-1 of the plan's subnets (largest, smallest, uniform, random): the predictor's data",
        lambda sw: _measured_rows(sw) >= sw.n_subnets,
        lambda sw: [
            PY,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "-m",
            "ofa_dash",
            "measure",
            "--space",
            sw.space,
            "--subnets",
            str(sw.n_subnets),
            *_data_args(sw),
        ],
    ),
    Step(
        "predictor",
        "accuracy predictor refitted on the new measurements, with its calibrated interval",
        lambda sw: sw.version() is not None and _predictor_version(sw) == sw.version(),
        lambda sw: [PY, "-m", "ofa_dash", "fit-predictor", "--space", sw.space, "--json"],
    ),
    _profile("ort", "cpu-ort"),
    _profile("ort-int8", "cpu-ort-int8"),
    _profile("openvino", "cpu-openvino"),
    Step(
        "profile-chromium-wasm",
        "chromium-wasm: the browser profile, timed in headless Chromium",
        lambda sw: (sw.target / "devices" / "chromium-wasm.json").is_file(),
        lambda sw: [PY, "-m", "ofa_dash", "profile-browser", "--space", sw.space, "--name", "chromium-wasm", "--json", *sw.extra("profile-browser")],
    ),
    Step(
        "runs",
        "the shipped searches: per device NSGA-II / SMS-EMOA / SPEA2 x seeds 1-3, the all-devices run",
        _runs_done,
        lambda sw: [PY, "scripts/precompute_runs.py", "--space", sw.space, *sw.extra("runs")],
    ),
    Step(
        "int8-pairs",
        f"{INT8_PAIRS} int8 / fp32 pairs along the int8 front: the int8 drop model's data",
        lambda sw: _int8_pairs(sw) >= sw.int8_pairs,
        lambda sw: None,
    ),
    Step(
        "accuracy",
        "test top-1 of largest, smallest and 20 random subnets: benchmarks/results/flagship_accuracy.json",
        lambda sw: sw.version() is not None and _json(ROOT / "benchmarks/results/flagship_accuracy.json").get("supernet_version") == sw.version(),
        lambda sw: [PY, "benchmarks/flagship_accuracy.py", "--space", sw.space, *_data_args(sw), *sw.extra("accuracy")],
    ),
    Step(
        "finetune",
        "issue 19's figure: test top-1 before and after 3 CPU epochs of fine-tuning the smallest, a median and the largest subnet",
        lambda sw: sw.version() is not None and _json(ROOT / f"benchmarks/results/finetune_gain_{sw.space}.json").get("supernet_version") == sw.version(),
        lambda sw: [PY, "benchmarks/finetune_gain.py", "--space", sw.space, *_data_args(sw), "--resume", *sw.extra("finetune")],
    ),
)
ACTIONS: dict[str, Callable[[Switch], None]] = {"promote": _promote, "int8-pairs": _measure_int8_pairs}


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draft", default="training/cifar10-v2", help="the finished training folder (its supernet.pt, teacher.pt, logs)")
    p.add_argument("--space", default="cifar10", help="the shipped name that takes the draft over (its definition must already be the draft's)")
    p.add_argument("--data", default="../shared/datasets/cifar10-jpeg")
    p.add_argument("--cache", default=None, help="decoded-dataset cache folder")
    p.add_argument("--subnets", type=int, default=2000, help="subnets to measure for the predictor")
    p.add_argument("--run", action="store_true", help="run the missing steps (without it: print the plan)")
    p.add_argument("--only", choices=[s.name for s in STEPS], help="run this step only")
    p.add_argument("--quick", action="store_true", help="a rehearsal on small budgets (with a small --subnets): finds what breaks; never ship its output")
    args = p.parse_args(argv)
    sw = Switch(ROOT / args.draft, args.space, args.data, args.cache, args.subnets, args.quick)
    if not (sw.draft / "supernet.pt").is_file():
        p.error(f"{sw.draft}/supernet.pt not found: the draft has not published weights yet")
    for step in STEPS:
        if args.only and step.name != args.only:
            continue
        done = step.done(sw)
        cmd = step.command(sw)
        print(f"[{'done' if done else 'todo'}] {step.name}: {step.why}" + (f"\n       {' '.join(cmd)}" if cmd else ""), flush=True)
        if args.run and not done:
            ACTIONS[step.name](sw) if cmd is None else _run(cmd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
