// Times the models of an ofa-dash browser-profile manifest with onnxruntime-web: its WebAssembly backend
// (1 thread), or WebGPU where the browser has it (manifest.backend).
//
// Shared by the dashboard's component (index.html) and the headless command (standalone.html).
// Everything is fetched from the server that served this file: onnxruntime-web's .mjs/.wasm from
// node_modules next to it, the ONNX models from `modelBase`. The browser's clock is coarse, so a
// model is timed in rounds of back-to-back runs (each round at least policy.round_ms long) and
// the median per-run time over rounds is reported (see ofa_dash/hardware/browser.py).
// Where the page is given a CPU clock (the headless command on the dashboard's machine: the renderer's
// main-thread CPU time, read by the server), rounds are timed on it instead: on a shared machine the
// wall clock mostly measures how long the browser waited for a core, not how long the model ran.
// Where the manifest names an anchor model, every round of a model sits between two rounds of the anchor
// and counts as its time over theirs; the ratios are turned back into milliseconds at the end with the
// anchor's median over the whole profile, so load that drifts during the minutes of a profile falls on
// every model alike (as ofa_dash/hardware/anchored.py does for the profiles timed in Python).
const ORT_DIST = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;
// onnxruntime-web build and execution provider per backend (the names of ofa_dash.hardware.browser.BACKENDS)
const BUILDS = { wasm: { file: "ort.wasm.min.mjs", provider: "wasm" }, webgpu: { file: "ort.webgpu.min.mjs", provider: "webgpu" } };
const MAX_ESTIMATE_RUNS = 2000;
const MAX_RUNS_PER_ROUND = 20000;
// Reading the CPU clock is a round trip to the server that costs the renderer some CPU itself (~0.2 ms
// measured here): rounds timed on it last at least this long, so that what is left of that cost after
// subtracting its median stays a small part of a round.
const CPU_ROUND_MS = 20;

function quantile(sorted, q) {
  // linear interpolation between closest ranks (numpy's default percentile)
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function randomInput(shape, seed) {
  // a small LCG: the values do not change a layer's speed, only denormals would, and these are normal floats
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 4294967296 - 0.5;
  }
  return data;
}

async function fetchModel(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function gpuDescription() {
  if (!navigator.gpu) throw new Error("this browser has no WebGPU (navigator.gpu is missing); profile it with WebAssembly instead");
  // the browser's GPU process may still be starting (a busy machine): ask a few times before giving up
  let adapter = null;
  for (let attempt = 0; attempt < 5 && !adapter; attempt++) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    adapter = await navigator.gpu.requestAdapter();
  }
  if (!adapter) throw new Error("this browser offers no WebGPU adapter; profile it with WebAssembly instead");
  const info = adapter.info || {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unnamed WebGPU adapter";
}

// The server's clock has to find this page's renderer among the browser's processes: it keeps the one whose
// resident memory grew by this buffer between two reads (RendererCpuClock in browser_headless.py).
async function lockCpuClock(cpuClock) {
  await cpuClock();
  const buffer = new Uint8Array(256 * 1024 * 1024).fill(1);
  await cpuClock();
  return buffer.length;
}

// The CPU cost of reading the CPU clock itself (median of 9 back-to-back reads, ns), subtracted from every round.
export async function cpuProbeCost(cpuClock) {
  const costs = [];
  for (let i = 0; i < 9; i++) {
    const a = await cpuClock();
    costs.push((await cpuClock()) - a);
  }
  costs.sort((a, b) => a - b);
  return costs[4];
}

// A session ready to time: warm-up runs (the first ones pay for lazy initialisation), then the per-run
// time estimated over at least two rounds' worth of runs, so the estimate is well above the clock's resolution.
async function openTimed(ort, provider, bytes, shape, policy, cpu) {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: "all" });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", randomInput(shape, 7), shape) };
  for (let i = 0; i < policy.warmup; i++) await session.run(feeds);
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2 * policy.round_ms && runs < MAX_ESTIMATE_RUNS) {
    await session.run(feeds);
    runs++;
  }
  const perRun = Math.max((performance.now() - t0) / runs, 1e-4);
  const roundMs = cpu ? Math.max(policy.round_ms, CPU_ROUND_MS) : policy.round_ms;
  const perRound = Math.min(MAX_RUNS_PER_ROUND, Math.max(1, Math.ceil(roundMs / perRun)));
  return { session, feeds, perRun, perRound };
}

// One round of back-to-back runs: per-run ms on the CPU clock where there is one, else on the wall clock (both returned).
async function timeRound(timed, cpu) {
  const cpu0 = cpu ? await cpu.clock() : 0;
  const start = performance.now();
  for (let j = 0; j < timed.perRound; j++) await timed.session.run(timed.feeds);
  const wall = (performance.now() - start) / timed.perRound;
  return { ms: cpu ? Math.max((await cpu.clock()) - cpu0 - cpu.probe, 0) / 1e6 / timed.perRound : wall, wall };
}

function summary(sorted) {
  return { median: quantile(sorted, 0.5), spread: quantile(sorted, 0.75) - quantile(sorted, 0.25) };
}

// cpu: null (wall clock only) or { clock: async () => ns of CPU time, probe: cpuProbeCost(clock) }.
// anchor: null, or { timed: openTimed(...) of the anchor model, times: [] } that every anchor round adds its
// per-run ms to; the result then holds ratios to the anchor (anchored: true), turned into ms by profile().
export async function timeModel(ort, provider, bytes, shape, policy, cpu = null, anchor = null) {
  const timed = await openTimed(ort, provider, bytes, shape, policy, cpu);
  try {
    const rounds = Math.min(policy.max_rounds, Math.max(policy.min_rounds, Math.floor(policy.budget_ms / (timed.perRun * timed.perRound))));
    const anchorRound = async () => {
      const t = (await timeRound(anchor.timed, cpu)).ms;
      anchor.times.push(t);
      return t;
    };
    const samples = [];
    const walls = [];
    let before = anchor ? await anchorRound() : 0;
    for (let r = 0; r < rounds; r++) {
      const t = await timeRound(timed, cpu);
      walls.push(t.wall);
      if (anchor) {
        const after = await anchorRound();
        samples.push(t.ms / Math.max((before + after) / 2, 1e-9));
        before = after;
      } else {
        samples.push(t.ms);
      }
    }
    samples.sort((a, b) => a - b);
    walls.sort((a, b) => a - b);
    const s = summary(samples);
    const out = { median_ms: s.median, spread_ms: s.spread, n: rounds * timed.perRound };
    if (cpu || anchor) out.wall_median_ms = quantile(walls, 0.5);
    if (anchor) out.anchored = true;
    return out;
  } finally {
    await timed.session.release();
  }
}

// Ratios to the anchor back to milliseconds: one factor, the anchor's median per-run time over the whole profile.
function toMilliseconds(timing, referenceMs) {
  if (!timing.anchored) return timing;
  const { anchored, ...rest } = timing;
  return { ...rest, median_ms: timing.median_ms * referenceMs, spread_ms: timing.spread_ms * referenceMs };
}

// manifest: see ofa_dash/hardware/browser.py (make_manifest); modelBase: URL prefix of its files;
// onProgress(done, total, what) after each model; cpuClock: optional async () => CPU time in ns of the
// thread that runs the models (see timeModel). Resolves to the answer the server checks.
export async function profile(manifest, modelBase, onProgress = () => {}, cpuClock = null) {
  const build = BUILDS[manifest.backend];
  if (!build) throw new Error(`unknown backend ${manifest.backend}`);
  const gpu = manifest.backend === "webgpu" ? await gpuDescription() : null;
  const ort = await import(ORT_DIST + build.file);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = ORT_DIST;
  if (cpuClock) await lockCpuClock(cpuClock);
  const cpu = cpuClock ? { clock: cpuClock, probe: await cpuProbeCost(cpuClock) } : null;
  const base = modelBase.endsWith("/") ? modelBase : modelBase + "/";
  const anchor = manifest.anchor
    ? { timed: await openTimed(ort, build.provider, await fetchModel(base + manifest.anchor.file), manifest.anchor.shape, manifest.policy.subnets, cpu), times: [] }
    : null;
  const time = (bytes, shape, policy) => timeModel(ort, build.provider, bytes, shape, policy, cpu, anchor);
  const started = performance.now();
  const total = 1 + manifest.layers.length + manifest.subnets.length;
  let done = 0;
  const step = (what) => onProgress(++done, total, what);
  const layerPolicy = manifest.policy.layers;
  const subnetPolicy = manifest.policy.subnets;

  const phase = {};
  let mark = performance.now();
  const lap = (name) => {
    const now = performance.now();
    phase[name] = (now - mark) / 1000;
    mark = now;
  };
  const overhead = await time(await fetchModel(base + manifest.overhead.file), manifest.overhead.shape, layerPolicy);
  step("call overhead");
  lap("overhead");
  const layers = {};
  for (const [i, layer] of manifest.layers.entries()) {
    layers[layer.key] = await time(await fetchModel(base + layer.file), layer.shape, layerPolicy);
    step(`layer ${i + 1} of ${manifest.layers.length}`);
  }
  lap("layers");
  const subnets = [];
  for (const [i, subnet] of manifest.subnets.entries()) {
    const t = await time(await fetchModel(base + subnet.file), subnet.shape, subnetPolicy);
    subnets.push({ arch: subnet.arch, ...t });
    step(`subnet ${i + 1} of ${manifest.subnets.length} (${subnet.split})`);
  }
  lap("subnets");
  let anchorInfo = null;
  let overheadMs = overhead;
  if (anchor) {
    await anchor.timed.session.release();
    const reference = summary([...anchor.times].sort((a, b) => a - b)).median;
    overheadMs = toMilliseconds(overhead, reference);
    for (const key of Object.keys(layers)) layers[key] = toMilliseconds(layers[key], reference);
    for (let i = 0; i < subnets.length; i++) subnets[i] = toMilliseconds(subnets[i], reference);
    anchorInfo = { arch: manifest.anchor.arch, reference_ms: reference, rounds: anchor.times.length, runs_per_round: anchor.timed.perRound };
  }
  const agentData = navigator.userAgentData;
  return {
    plan_id: manifest.plan_id,
    backend: manifest.backend,
    gpu,
    runtime_version: (ort.env.versions && ort.env.versions.web) || "unknown",
    user_agent: navigator.userAgent,
    platform: (agentData && agentData.platform) || navigator.platform || "",
    hardware_concurrency: navigator.hardwareConcurrency || null,
    cross_origin_isolated: Boolean(self.crossOriginIsolated),
    clock: cpu ? "cpu" : "wall",
    cpu_probe_ms: cpu ? cpu.probe / 1e6 : null,
    seconds: (performance.now() - started) / 1000,
    phase_seconds: phase,
    anchor: anchorInfo,
    overhead: overheadMs,
    layers,
    subnets,
  };
}
