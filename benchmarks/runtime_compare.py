"""Whole-subnet latency in each CPU runtime the profiler knows, side by side (ONNX Runtime fp32 against OpenVINO by default).

Usage: python benchmarks/runtime_compare.py [--space cifar10] [--runtimes ort,openvino] [--rounds 3] [--threads 1]

Times the smallest and the largest subnet of the space (random weights: the
speed of these networks does not depend on them) with exactly the runtime
objects ``profile --runtime NAME`` uses, in interleaved rounds so that load
that comes and goes hits every runtime alike, and prints each round's median
and the median of the rounds in milliseconds. The load averages before and
after are printed too: on a busy machine the figures are pessimistic and only
their ratio means something.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ofa_dash.hardware.machine import MachineWatch
from ofa_dash.hardware.profiler import SUBNET_POLICY
from ofa_dash.hardware.runtimes import make_runtime
from ofa_dash.nn.static import StaticNet
from ofa_dash.runtime.ort import measure
from ofa_dash.space import get_space


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="cifar10")
    p.add_argument("--runtimes", default="ort,openvino", help="comma-separated profile runtimes")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    space = get_space(args.space)
    runtimes = {name: make_runtime(name, args.threads) for name in args.runtimes.split(",")}
    watch = MachineWatch.start()
    results = {}
    for label, arch in (("smallest", space.smallest()), ("largest", space.largest())):
        torch.manual_seed(0)
        net = StaticNet(space, arch)
        shape = (1, 3, arch.r, arch.r)
        runs = {}
        for name, rt in runtimes.items():
            with rt.active():
                runs[name] = rt.prepare(net, shape)
        rounds: dict[str, list[float]] = {name: [] for name in runtimes}
        for _ in range(args.rounds):
            for name, rt in runtimes.items():
                with rt.active():
                    rounds[name].append(measure(runs[name], SUBNET_POLICY).median_ms)
        results[label] = {name: {"median_ms": round(statistics.median(v), 4), "rounds_ms": [round(x, 4) for x in v]} for name, v in rounds.items()}
    machine = watch.record({"runtime": ", ".join(rt.describe()["runtime"] for rt in runtimes.values()), "threads": args.threads})
    print(json.dumps({"space": space.name, "policy": "profile's subnet policy (about 1 s per round)", "results": results, "machine": machine}, indent=1))


if __name__ == "__main__":
    main()
