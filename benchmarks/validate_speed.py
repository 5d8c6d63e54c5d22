"""How long live validation takes (targets: under 20 s in the dashboard, under 60 s for the CLI).

Usage: python benchmarks/validate_speed.py [--supernet PATH] [--data DIR] [--cache DIR] [--threads N] [--limit N] [--no-cli]

Times, for the largest and the smallest ``cifar10`` subnet on the full test
split (10,000 images):

- the dashboard path, ``validate_subnet`` with the dataset and the supernet
  already in memory: BN recalibration on 2,000 training images (cold: the
  recalibrated-subnet cache is a fresh temporary folder), ONNX export,
  ONNX Runtime evaluation, 1-thread batch-1 latency;
- the CLI end to end (``python -m ofa_dash validate ... --json``: interpreter
  start, imports, dataset from its decoded cache, the same work).

Without ``precomputed/cifar10/supernet.pt`` (training not finished) a randomly
initialised supernet saved to a temporary file stands in: the work, hence the
time, is the same; the accuracy is not meaningful. The 1-minute load average
is printed: timings on a shared CPU are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def stand_in_supernet(folder: Path) -> Path:
    import torch

    from ofa_dash.checkpoints import save_weights
    from ofa_dash.nn import Supernet
    from ofa_dash.space import get_space

    torch.manual_seed(0)
    path = folder / "random-supernet.pt"
    save_weights(Supernet(get_space("cifar10")), path, {"supernet_version": "cifar10-random-init (benchmark stand-in)"})
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--supernet", help="default: precomputed/cifar10/supernet.pt, else a random stand-in")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cifar10-jpeg"))
    p.add_argument("--cache", help="decoded-dataset cache folder")
    p.add_argument("--threads", type=int, help="default: auto_threads() (the idle cores)")
    p.add_argument("--limit", type=int, help="evaluate N test images instead of all")
    p.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI timing")
    args = p.parse_args()

    from ofa_dash.data import default_cache_dir, load_dataset

    work = Path(tempfile.mkdtemp(prefix="ofa-dash-bench-"))
    args.cache = args.cache or str(default_cache_dir())  # the decoded dataset stays cached ...
    os.environ["OFA_DASH_CACHE"] = str(work / "cache")  # ... but recalibrated subnets start cold
    # deferred: imported only now, on purpose: after OFA_DASH_CACHE points at the cold cache
    from ofa_dash.runtime.ort import auto_threads
    from ofa_dash.space import get_space
    from ofa_dash.subnets import default_supernet_path, load_supernet
    from ofa_dash.validation import validate_subnet

    space = get_space("cifar10")
    supernet = Path(args.supernet) if args.supernet else default_supernet_path(space)
    if not supernet.is_file():
        print(f"{supernet} not found: timing a randomly initialised stand-in (same work, accuracy meaningless)")
        supernet = stand_in_supernet(work)
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; threads: {args.threads or f'auto ({auto_threads()})'}")
    t = time.perf_counter()
    data = load_dataset(args.data, cache_dir=args.cache)
    print(f"dataset load: {time.perf_counter() - t:.1f} s ({data.source}; {len(data.test)} test images)")
    loaded = load_supernet(space, supernet)
    print(f"supernet: {loaded.version}")
    for name in ("largest", "smallest"):
        arch = space.parse_arch(name)
        res = validate_subnet(space, arch, loaded, data, limit=args.limit, threads=args.threads, record=False)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in res.stage_seconds.items())
        print(
            f"live validation, {name} ({arch.id}): {res.seconds:.1f} s [{stages}] -> top-1 {res.top1:.2f} %, "
            f"latency {res.latency['median_ms']:.3f} ms (IQR {res.latency['iqr_ms']:.3f}), {res.eval_threads} thread(s)"
        )
    if not args.no_cli:
        cmd = [sys.executable, "-m", "ofa_dash", "validate", "--arch", "largest", "--data", args.data, "--supernet", str(supernet), "--no-record", "--json"]
        cmd += ["--cache", args.cache]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        cmd += ["--threads", str(args.threads)] if args.threads else []
        env = {**os.environ, "OFA_DASH_CACHE": str(work / "cli-cache"), "PYTHONPATH": str(ROOT)}
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        wall = time.perf_counter() - t
        if r.returncode:
            print(r.stderr)
            return r.returncode
        out = json.loads(r.stdout)
        print(
            f"CLI validate --arch largest (end to end, cold subnet cache): {wall:.1f} s wall; reported seconds {out['seconds']:.1f}; top-1 {out['top1']:.2f} %"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
