"""``predict``: a subnet's predicted objectives (accuracy, latency per device, size)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ofa_dash.commands.common import emit
from ofa_dash.space import get_space
from ofa_dash.workspace import default_root


def predict_one(space, arch_text: str, official_dir=None, precomputed_dir: Path | None = None) -> dict:
    """The ``predict --json`` object for one subnet (shared with the dashboard)."""
    # deferred: every command module is imported to build the parser; torch (predictors) and the latency tables wait until this command runs
    from ofa_dash.hardware import count, load_devices
    from ofa_dash.hardware.devices import missing_official_tables
    from ofa_dash.predictors import load_predictor

    arch = space.parse_arch(arch_text)
    precomputed_dir = Path(precomputed_dir) if precomputed_dir is not None else default_root()
    predictor = load_predictor(space, official_dir=official_dir, precomputed_dir=precomputed_dir)
    g = space.encode(arch)
    counts = count(space, g)
    devices = load_devices(space, official_dir, precomputed_dir)
    missing = missing_official_tables(space, official_dir)
    return {
        "arch": arch.id,
        "space": space.name,
        "top1": float(predictor.predict(g)[0]),
        "latency_ms": {name: float(table.estimate(g)[0]) for name, table in devices.items()},
        "latency_source": {name: str(table.meta.get("source") or table.meta.get("runtime") or name) for name, table in devices.items()},
        "macs": int(counts["macs"][0]),
        "params": int(counts["params"][0]),
        "peak_mem": int(counts["peak_mem"][0]),
        "resolution": arch.r,
        "predictor": {"name": predictor.name, "version": predictor.version, "source": predictor.source},
        "arch_json": arch.to_dict(),
        "warnings": [missing] if missing else [],
    }


def run(args: argparse.Namespace) -> int:
    result = predict_one(get_space(args.space), args.arch, args.official, args.precomputed)
    for line in result["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    emit(result, args.json)
    return 0


def register(sub) -> None:
    p = sub.add_parser("predict", help="predicted objectives of one subnet (top-1, latency per device, MACs, params)")
    p.add_argument("--space", default="cifar10")
    p.add_argument("--arch", required=True, help="largest, smallest, a subnet id, or a JSON object with ks, e, d, r")
    p.add_argument("--official", help="folder with OFA's published files (acc_predictor.pth, note10/)")
    p.add_argument("--precomputed", default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
