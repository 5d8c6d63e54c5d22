"""Measuring a shortlist from the page (issue 18's target: 5 subnets in quick mode <= 60 s on a quiet machine).

Usage: python benchmarks/batch_validation_speed.py [--space cifar10] [--n 5] [--repeats 3] [--data DIR]

Runs the body of the Compare page's "Validate" job (``jobs.batch_validation_work``:
one queue turn per subnet, BN recalibration, ONNX export, evaluation of
1,000 class-balanced test images, latency) on ``--n`` subnets spread along the
shipped NSGA-II front, with the dataset already loaded (a running dashboard
loads it once). Recalibrated subnets start from a cold cache and results are
recorded into a temporary copy of ``precomputed/``, so each repeat does all the
work and the shipped store is left alone. Prints each repeat's wall time, the
median, and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def front_subnets(root: Path, space_name: str, n: int) -> list[str]:
    """``n`` subnet ids spread along the latency axis of the space's first stored two-objective NSGA-II run."""
    from ofa_dash.ladder.rungs import spread_along_front
    from ofa_dash.space import get_space
    from ofa_dash.store import RunStore

    store = RunStore(root)
    runs, _ = store.list_runs(space_name)
    run = store.load(next(r["run_id"] for r in runs if r.get("algorithm") == "nsga2" and len(r["objectives"]) == 2), space_name)
    latency = next(o for o in run.objectives if o != "error")
    return spread_along_front(run, get_space(space_name), latency, n)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="cifar10")
    p.add_argument("--n", type=int, default=5, help="subnets per batch")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--images", type=int, default=1000, help="test images per subnet (the pages' quick mode: 1,000)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cifar10-jpeg"))
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ofa-dash-batch-"))
    root = Path(shutil.copytree(ROOT / "precomputed", work / "precomputed"))
    os.environ["OFA_DASH_PRECOMPUTED"] = str(root)
    os.environ["OFA_DASH_DATA"] = args.data
    # deferred: after the environment points at the copy
    from ofa_dash.space import get_space
    from ofa_dash.ui import jobs
    from ofa_dash.ui.config import resolve_settings
    from ofa_dash.validation_queue import ValidationQueue

    space = get_space(args.space)
    settings = resolve_settings()
    ids = front_subnets(root, space.name, args.n)
    t = time.perf_counter()
    jobs.shared_dataset(settings.data, space=space)
    print(f"dataset loaded once, as a running dashboard has it: {time.perf_counter() - t:.1f} s")
    times = []
    for i in range(args.repeats):
        os.environ["OFA_DASH_CACHE"] = str(work / f"cache-{i}")  # cold recalibration cache per repeat
        job = jobs.Job("validation", "benchmark")
        t = time.perf_counter()
        result = jobs.batch_validation_work(settings, space, [space.arch_from_id(a) for a in ids], settings.data, args.images, ValidationQueue())(job)
        times.append(time.perf_counter() - t)
        assert result["validated"] == ids, result
        print(f"repeat {i + 1}: {len(ids)} subnets x {args.images:,} images in {times[-1]:.1f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"median {statistics.median(times):.1f} s over {len(times)} repeats, max {max(times):.1f} s; target <= 60 s on a quiet machine")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
