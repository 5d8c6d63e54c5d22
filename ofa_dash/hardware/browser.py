"""A browser as a timing source: onnxruntime-web (WebAssembly, 1 thread; or WebGPU) in whatever browser opens the page.

The server writes the plan's models as ONNX files (:func:`write_plan_models`:
the same layer modules and subnets as the ``ort`` runtime exports, random
weights, content-named so a second visitor reuses them) and a manifest that
says what to time and how (:class:`BrowserPolicy`). ``web/profiler.js`` times
every model in the browser and posts back medians; :func:`timings_from_result`
checks that answer against the manifest (it comes from a visitor, so nothing
in it is trusted) and :func:`profile_from_result` builds the profile through
:func:`ofa_dash.hardware.profile_build.build_profile`, like every other
profile.

A browser's clock is coarse (``performance.now()`` is rounded to 0.1 ms or
more without cross-origin isolation) while a cifar10 layer takes tens of
microseconds, so the browser times *rounds* of back-to-back runs, each round
long enough for the clock (``round_ms``), and reports the median per-run time
over rounds. The headless command on this machine hands the page a CPU clock
(the renderer's main-thread CPU time, :mod:`ofa_dash.hardware.browser_headless`):
rounds are then timed on it, because on a shared machine the wall clock of a
multi-millisecond run mostly measures waiting for a core; the profile's
``meta.clock`` says which clock was used. WebAssembly plans also name an
anchor (the space's smallest subnet): every round of a model is timed
between two rounds of it and counts relative to them, so load that drifts
over a profile's minutes falls on every model alike (``meta.anchor``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ofa_dash.files import atomic_write_bytes
from ofa_dash.hardware.profile_build import ProfilePlan, ProfileTimings, build_profile
from ofa_dash.hardware.profile_format import RESERVED_NAMES, DeviceProfile, SubnetMeasurement, check_device_name
from ofa_dash.nn.static import StaticNet
from ofa_dash.runtime.onnx import OPSET, export_module
from ofa_dash.runtime.ort import Timing
from ofa_dash.space import SearchSpace


@dataclass(frozen=True)
class Backend:
    """One onnxruntime-web backend a browser can be profiled with (``web/profiler.js`` knows the same names)."""

    runtime: str  # what the profile's ``runtime`` says
    session: str  # the session settings, for the profile's metadata


BACKENDS: dict[str, Backend] = {
    "wasm": Backend(
        "onnxruntime-web (WebAssembly, 1 thread)",
        "InferenceSession with executionProviders ['wasm'], env.wasm.numThreads = 1, no proxy worker, graphOptimizationLevel 'all'; input created once",
    ),
    "webgpu": Backend(
        "onnxruntime-web (WebGPU)",
        "InferenceSession with executionProviders ['webgpu'] (operators WebGPU lacks run in WebAssembly, 1 thread), graphOptimizationLevel 'all'; "
        "input created once, outputs read back to the CPU after every run",
    ),
}
MANIFEST_VERSION = 1
WEB_DIR = Path(__file__).resolve().parents[2] / "web"  # profiler.js, index.html and node_modules/onnxruntime-web (npm ci at set-up)
ORT_ENTRY = WEB_DIR / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"


def check_web_files() -> None:
    """A clear error when onnxruntime-web was not installed (``scripts/setup.sh`` runs ``npm ci`` in ``web/``)."""
    if not ORT_ENTRY.is_file():
        raise ValueError(f"onnxruntime-web is not installed under {WEB_DIR / 'node_modules'}; run `bash scripts/setup.sh` (npm ci in web/)")


@dataclass(frozen=True)
class BrowserPolicy:
    """How the browser times one model: warm-up runs, then rounds of back-to-back runs until ``budget_ms`` (medians over rounds)."""

    warmup: int = 5
    round_ms: float = 8.0  # one round lasts at least this long, well above the browser clock's resolution
    min_rounds: int = 7
    max_rounds: int = 40
    budget_ms: float = 150.0

    def __post_init__(self) -> None:
        if self.warmup < 1 or self.round_ms <= 0 or self.min_rounds < 3 or self.max_rounds < self.min_rounds or self.budget_ms <= 0:
            raise ValueError(f"browser timing needs warmup >= 1, round_ms > 0, 3 <= min_rounds <= max_rounds and budget_ms > 0; got {self}")


LAYER_POLICY = BrowserPolicy()
SUBNET_POLICY = BrowserPolicy(warmup=10, round_ms=20.0, min_rounds=9, max_rounds=60, budget_ms=1000.0)
QUICK_POLICY = BrowserPolicy(warmup=2, round_ms=2.0, min_rounds=3, max_rounds=3, budget_ms=6.0)  # a smoke test: the flow, not the figures


@dataclass(frozen=True)
class BrowserSettings:
    """What a visitor chooses: the device's name, how many subnets, how hard to time."""

    name: str
    n_calibration: int = 40
    n_validation: int = 60
    seed: int = 0
    layer_policy: BrowserPolicy = field(default_factory=lambda: LAYER_POLICY)
    subnet_policy: BrowserPolicy = field(default_factory=lambda: SUBNET_POLICY)
    backend: str = "wasm"

    def __post_init__(self) -> None:
        check_device_name(self.name)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown browser backend {self.backend!r}; available: {list(BACKENDS)}")
        if self.name in RESERVED_NAMES:
            raise ValueError(f"device name {self.name!r} is reserved for OFA's published tables; pick another name")
        if self.n_calibration < 2 or self.n_validation < 2:
            raise ValueError(f"a profile needs >= 2 calibration and >= 2 validation subnets, got {self.n_calibration} and {self.n_validation}")


def models_root(cache: Path) -> Path:
    """The folder of every space's browser models under the cache (what the dashboard serves to browsers)."""
    return Path(cache) / "browser-models"


def models_folder(cache: Path, space: SearchSpace) -> Path:
    """Where the ONNX files of ``space``'s browser plans live (shared by every plan: files are named by content)."""
    return models_root(cache) / space.name


def _name(kind: str, what: str, seed: int) -> str:
    digest = hashlib.sha256(f"{kind}|{what}|seed={seed}|opset={OPSET}|torch={torch.__version__}".encode()).hexdigest()[:20]
    return f"{kind}-{digest}.onnx"


class NullModule(nn.Module):
    """ReLU on one value: its time in the browser is the per-call overhead subtracted from every layer entry."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def _export(folder: Path, file: str, build, shape: tuple[int, ...], seed: int) -> None:
    path = folder / file
    if path.is_file():
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = build().eval()
    atomic_write_bytes(path, export_module(module, torch.randn(*shape), ["x"], ["y"]))


def write_plan_models(space: SearchSpace, plan: ProfilePlan, folder: Path, progress=None, seconds: dict | None = None) -> dict:
    """Export every model of ``plan`` into ``folder`` (files already there are reused); return the model part of the manifest.

    ``progress(done, total, what)`` is called after each model; ``seconds``, when given, receives the export time of layers and subnets.
    """
    folder.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    total = 1 + len(plan.layers) + len(plan.subnets)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    null_file = _name("null", "relu", 0)
    _export(folder, null_file, NullModule, (1, 1, 1, 1), 0)
    step("call overhead")
    layers = []
    for key, spec in plan.layers.items():
        file = _name("layer", key, plan.seed)
        shape = (1, *spec.input_shape)
        _export(folder, file, spec.build, shape, plan.seed + int(hashlib.sha256(key.encode()).hexdigest()[:6], 16))
        layers.append({"key": key, "file": file, "shape": list(shape)})
        step(f"layer {len(layers)} of {len(plan.layers)}")
    layers_done = time.perf_counter()
    subnets = []
    for p in plan.subnets:
        file = _name("subnet", ",".join(map(str, p.genome)), plan.seed)
        arch = space.decode(list(p.genome))[0]
        _export(folder, file, lambda arch=arch: StaticNet(space, arch), (1, 3, p.resolution, p.resolution), plan.seed)
        subnets.append({"arch": p.arch, "split": p.split, "genome": list(p.genome), "file": file, "shape": [1, 3, p.resolution, p.resolution]})
        step(f"subnet {len(subnets)} of {len(plan.subnets)}")
    anchor = _export_anchor(space, folder, plan.seed)
    if seconds is not None:
        seconds.update(layers=layers_done - clock, subnets=time.perf_counter() - layers_done)
    return {"overhead": {"file": null_file, "shape": [1, 1, 1, 1]}, "layers": layers, "subnets": subnets, "anchor": anchor}


def _export_anchor(space: SearchSpace, folder: Path, seed: int) -> dict:
    """The space's smallest subnet, which the browser runs next to every model (see ``web/profiler.js``), as the Python profiles do."""
    arch = space.smallest()
    genome = [int(g) for g in space.encode([arch])[0]]
    file = _name("subnet", ",".join(map(str, genome)), seed)
    shape = (1, 3, arch.r, arch.r)
    _export(folder, file, lambda: StaticNet(space, arch), shape, seed)
    return {"arch": arch.id, "file": file, "shape": list(shape)}


def make_manifest(space: SearchSpace, settings: BrowserSettings, models: dict) -> dict:
    """What the browser is asked to time (``models`` from :func:`write_plan_models`), with an id its answer must repeat.

    Only WebAssembly runs are anchored: they share the CPU with everything else, while a WebGPU run waits on the GPU.
    """
    if settings.backend != "wasm":
        models = {k: v for k, v in models.items() if k != "anchor"}
    body = {
        "version": MANIFEST_VERSION,
        "space": space.name,
        "backend": settings.backend,
        "seed": settings.seed,
        "policy": {"layers": asdict(settings.layer_policy), "subnets": asdict(settings.subnet_policy)},
        **models,
    }
    body["plan_id"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body


# --------------------------------------------------------------------------- the browser's answer
def _timing(raw: object, what: str, positive: bool) -> Timing:
    if not isinstance(raw, dict):
        raise ValueError(f"the browser's answer: {what} must be an object with median_ms, spread_ms and n")
    values = []
    for k in ("median_ms", "spread_ms"):
        v = raw.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0 or (positive and k == "median_ms" and v <= 0):
            raise ValueError(f"the browser's answer: {what}.{k} must be a finite number {'> 0' if positive and k == 'median_ms' else '>= 0'}, got {v!r}")
        values.append(float(v))
    n = raw.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the browser's answer: {what}.n must be a positive integer, got {n!r}")
    return Timing(values[0], values[1], n)


def timings_from_result(manifest: dict, result: object) -> ProfileTimings:
    """The timings in the browser's ``result``, checked against ``manifest`` (one clear ``ValueError`` otherwise)."""
    if not isinstance(result, dict):
        raise ValueError("the browser's answer is not an object")
    if result.get("error"):
        raise ValueError(f"the browser could not finish: {str(result['error'])[:300]}")
    if result.get("plan_id") != manifest["plan_id"] or result.get("backend", manifest["backend"]) != manifest["backend"]:
        raise ValueError("the browser's answer is for another plan (the page was reloaded or the settings changed); press Start again")
    overhead = _timing(result.get("overhead"), "overhead", positive=False)
    raw_layers = result.get("layers")
    if not isinstance(raw_layers, dict):
        raise ValueError("the browser's answer: layers must be an object of layer key -> timing")
    wanted = [entry["key"] for entry in manifest["layers"]]
    missing = [k for k in wanted if k not in raw_layers]
    extra = [k for k in raw_layers if k not in set(wanted)]
    if missing or extra:
        raise ValueError(f"the browser's answer: {len(missing)} layer(s) missing, {len(extra)} unknown (first: {(missing or extra)[0]!r})")
    layers = {k: _timing(raw_layers[k], f"layer {k!r}", positive=False) for k in wanted}
    raw_subnets = result.get("subnets")
    if not isinstance(raw_subnets, list) or len(raw_subnets) != len(manifest["subnets"]):
        raise ValueError(f"the browser's answer: subnets must be a list of {len(manifest['subnets'])} timings")
    subnets = []
    for i, (planned, raw) in enumerate(zip(manifest["subnets"], raw_subnets, strict=True)):
        if not isinstance(raw, dict) or raw.get("arch") != planned["arch"]:
            raise ValueError(f"the browser's answer: subnets[{i}] is not subnet {planned['arch']!r}")
        t = _timing(raw, f"subnets[{i}]", positive=True)
        subnets.append(SubnetMeasurement(tuple(planned["genome"]), t.median_ms, t.spread_ms, t.n, planned["split"], planned["arch"]))
    return ProfileTimings(layers, overhead, subnets)


def _text(value: object, limit: int = 300) -> str:
    return str(value)[:limit] if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def browser_meta(name: str, manifest: dict, result: dict) -> dict:
    """A browser profile's metadata: the browser (user agent, hardwareConcurrency) in place of a CPU model, load not measurable."""
    agent = _text(result.get("user_agent")) or "unknown browser"
    cores = result.get("hardware_concurrency")
    cores = cores if isinstance(cores, int) and not isinstance(cores, bool) and 0 < cores < 10_000 else None
    version = _text(result.get("runtime_version"), 40) or "unknown"
    backend = BACKENDS[manifest["backend"]]
    runtime = backend.runtime
    gpu = _text(result.get("gpu"), 200) if manifest["backend"] == "webgpu" else ""
    policy = manifest["policy"]
    anchor = _anchor(manifest, result)
    return {
        "device": name,
        "runtime": runtime,
        "runtime_name": manifest["backend"],
        "runtime_version": version,
        "precision": "fp32",
        "onnx_opset": OPSET,
        "hardware": f"browser: {agent}" + (f" ({cores} logical cores reported)" if cores else "") + (f"; GPU: {gpu}" if gpu else ""),
        "threads": 1,
        "batch_size": 1,
        "machine": {
            "cpu_model": f"browser: {agent}",
            "logical_cores": cores,
            "runtime": runtime,
            "runtime_version": version,
            "threads": 1,
            "load_before": None,
            "load_after": None,
            "idle_cores_while_measuring": None,
            "platform": _text(result.get("platform"), 100) or None,
            "user_agent": agent,
            "hardware_concurrency": cores,
            "cross_origin_isolated": bool(result.get("cross_origin_isolated")),
            "gpu": gpu or None,
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "repeats": {"layers": policy["layers"], "subnets": policy["subnets"]},
        "warmup": {"layers": policy["layers"]["warmup"], "subnets": policy["subnets"]["warmup"]},
        "statistic": STATISTICS[anchor is not None],
        "clock": CLOCKS[_clock(result)],
        "anchor": anchor,
        "session": backend.session,
        "seed": manifest["seed"],
        "minutes": _minutes(result.get("seconds")),
        "source": f"timed in a browser with {runtime}, models served by the dashboard",
    }


STATISTICS = {
    False: "median over rounds of the per-run time (a round: back-to-back runs lasting at least round_ms); spread = interquartile range over rounds",
    True: "median over rounds of the per-run time relative to the anchor subnet's rounds just before and after (a round: back-to-back runs "
    "lasting at least round_ms), times the anchor's median per-run time over the whole profile; spread = interquartile range, scaled alike",
}


def _anchor(manifest: dict, result: dict) -> dict | None:
    """What the answer says of the anchor it timed against, when the plan had one and the numbers are sane (else: not anchored)."""
    planned, got = manifest.get("anchor"), result.get("anchor")
    if not isinstance(planned, dict) or not isinstance(got, dict) or got.get("arch") != planned.get("arch"):
        return None
    ref, rounds = got.get("reference_ms"), got.get("rounds")
    if isinstance(ref, bool) or not isinstance(ref, int | float) or not math.isfinite(ref) or ref <= 0:
        return None
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        return None
    return {
        "arch": planned["arch"],
        "reference_ms": float(ref),
        "rounds": rounds,
        "what": "every layer and subnet timed relative to rounds of this subnet next to it (web/profiler.js), then times its median",
    }


CLOCKS = {
    "wall": "performance.now() in the browser, around rounds of session.run",
    "cpu": "CPU time of the browser renderer's main thread (Linux /proc schedstat, read by the server) around rounds of session.run, "
    "less the cost of reading it; rounds last at least max(round_ms, 20 ms) of wall time (performance.now())",
}


def _clock(result: dict) -> str:
    """Which clock the browser timed rounds on: ``cpu`` only where the answer says so (a visitor's browser has only the wall clock)."""
    return "cpu" if result.get("clock") == "cpu" else "wall"


def _minutes(seconds: object) -> float | None:
    return float(seconds) / 60 if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds) and seconds >= 0 else None


def project_seconds(trial: dict, manifest: dict, n_layers: int, n_subnets: int, export_seconds: dict | None = None) -> float:
    """How long a full run of ``n_layers`` layers and ``n_subnets`` subnets would take, from a trial's per-model times (export included when given)."""
    phases = trial.get("phase_seconds") or {}
    per_layer = phases.get("layers", 0.0) / max(len(manifest["layers"]), 1)
    per_subnet = phases.get("subnets", 0.0) / max(len(manifest["subnets"]), 1)
    total = phases.get("overhead", 0.0) + per_layer * n_layers + per_subnet * n_subnets
    if export_seconds:
        total += export_seconds.get("layers", 0.0) / max(len(manifest["layers"]), 1) * n_layers
        total += export_seconds.get("subnets", 0.0) / max(len(manifest["subnets"]), 1) * n_subnets
    return total


def profile_from_result(space: SearchSpace, name: str, manifest: dict, result: object) -> DeviceProfile:
    """The device profile of the browser's ``result`` (checked first), built like every profile."""
    check_device_name(name)
    timings = timings_from_result(manifest, result)
    return build_profile(space, name, timings, browser_meta(name, manifest, result))
