"""Pick the model of this deployment ladder that fits a latency budget.

Standard library only: copy this folder anywhere and run it with any Python 3.
``ladder.json`` beside this file lists the models with their latency on the
ladder's device (a lookup-table estimate, see its ``latency_source``) and
their predicted top-1; ``pick`` returns the most accurate model whose latency
fits the budget, and None when even the fastest does not.

    python pick.py 0.5            # prints the model file for a 0.5 ms budget
    python pick.py 0.5 --json     # the whole manifest entry

    from pick import pick
    path = pick(0.5)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _manifest_path(manifest: str | Path) -> Path:
    """``manifest`` as given, or beside this script when a relative name is not found in the working folder."""
    path = Path(manifest)
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    return path


def load(manifest: str | Path = "ladder.json") -> dict:
    path = _manifest_path(manifest)
    with open(path, encoding="utf-8") as fh:
        ladder = json.load(fh)
    ladder["_folder"] = str(path.resolve().parent)
    return ladder


def choose(budget_ms: float, ladder: dict) -> dict | None:
    """The manifest entry of the most accurate model whose latency is at most ``budget_ms`` (faster first on equal accuracy)."""
    fitting = [m for m in ladder["models"] if m["objectives"]["latency_ms"]["value"] <= budget_ms]
    if not fitting:
        return None
    return max(fitting, key=lambda m: (m["objectives"]["top1"]["value"], -m["objectives"]["latency_ms"]["value"]))


def pick(budget_ms: float, manifest: str | Path = "ladder.json") -> str | None:
    """Path of the most accurate model that fits ``budget_ms`` on the ladder's device; None below the fastest model."""
    ladder = load(manifest)
    entry = choose(float(budget_ms), ladder)
    return None if entry is None else str(Path(ladder["_folder"]) / entry["file"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the most accurate model of this ladder within a latency budget")
    parser.add_argument("budget_ms", type=float, help="latency budget in milliseconds on the ladder's device")
    parser.add_argument("--manifest", default="ladder.json")
    parser.add_argument("--json", action="store_true", help="print the model's manifest entry")
    args = parser.parse_args(argv)
    ladder = load(args.manifest)
    entry = choose(args.budget_ms, ladder)
    if entry is None:
        fastest = min(m["objectives"]["latency_ms"]["value"] for m in ladder["models"])
        print(f"no model fits {args.budget_ms} ms on {ladder.get('device', 'this device')}: the fastest needs {fastest:.3f} ms", file=sys.stderr)
        return 1
    path = str(Path(ladder["_folder"]) / entry["file"])
    if args.json:
        print(json.dumps({"path": path, **entry}))
    else:
        obj = entry["objectives"]
        print(path)
        print(
            f"  top-1 {obj['top1']['value']:.2f} % ({obj['top1']['source']}), latency {obj['latency_ms']['value']:.3f} ms on {obj['latency_ms']['device']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
