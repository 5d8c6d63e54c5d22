"""Time a browser plan in headless Chromium on this machine (``profile-browser``): the shipped ``chromium-wasm`` profile.

WebGPU (``--backend webgpu``) runs on the machine's GPU where Chromium's Vulkan finds one, otherwise
on SwiftShader, Chromium's software Vulkan: the flow is the same, but such figures time the CPU.

A small HTTP server on 127.0.0.1 serves ``web/`` (the same ``profiler.js`` and
onnxruntime-web files the dashboard serves) and the plan's model folder;
Debian's Chromium, driven by Playwright, opens ``web/standalone.html`` and
runs the profiler; its answer goes through the same checks and builder as a
visitor's (:func:`ofa_dash.hardware.browser.profile_from_result`).

WebAssembly rounds are timed on the renderer's main-thread CPU time
(:class:`RendererCpuClock`, read from ``/proc`` and handed to the page as
``window.ofaCpuClock``), not on the wall clock: on this shared 2-core machine
a 5 ms subnet run is preempted many times, so wall-clock medians of the same
subnets timed twice a minute apart ranked them with Kendall tau 0.4-0.7 (the
load, not the model), while the CPU time ranked them with tau 0.88-0.97
(docs/notes/devices.md). ONNX Runtime Web with 1 thread and no proxy worker
runs the models on that thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ofa_dash.hardware.browser import WEB_DIR, check_web_files

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
# WebGPU in headless Chromium: a GPU when Vulkan finds one, else SwiftShader (software: the flow works, the figures are the CPU's)
WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=vulkan"]
SOFTWARE_GPU_ARGS = ["--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader", "--disable-vulkan-surface"]


class RendererCpuClock:
    """CPU time (ns) of the main thread of the busiest Chromium renderer started by this process (Linux ``/proc``).

    A browser runs several renderers (the first blank page's, spares, and
    some that keep busy in step with the page), so CPU time alone does not
    tell which one runs the page. Memory does: the page reads the clock,
    fills a 256 MiB buffer, and reads it again while holding the buffer
    (``lockCpuClock`` in ``web/profiler.js``); the renderer whose resident
    memory grew most in between is kept, and every later read is its main
    thread's.
    """

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = Path(proc)
        self.pid: int | None = None
        self._reads: list[dict[int, int]] = []

    @staticmethod
    def available(proc: Path = Path("/proc")) -> bool:
        return (Path(proc) / str(os.getpid()) / "task" / str(os.getpid()) / "schedstat").is_file()

    def renderers(self) -> list[int]:
        """Renderer processes among the descendants of this process."""
        parent: dict[int, int] = {}
        cmdline: dict[int, bytes] = {}
        for d in self.proc.iterdir():
            if not d.name.isdigit():
                continue
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline[int(d.name)] = (d / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue  # a process that ended while we looked
        mine = {os.getpid()}
        grew = True
        while grew:
            new = {pid for pid, pp in parent.items() if pp in mine and pid not in mine}
            mine |= new
            grew = bool(new)
        return sorted(pid for pid in mine if b"--type=renderer" in cmdline.get(pid, b""))

    def thread_ns(self, pid: int) -> int:
        """Nanoseconds the main thread of ``pid`` has run on a CPU (first field of its ``schedstat``)."""
        return int((self.proc / str(pid) / "task" / str(pid) / "schedstat").read_text().split()[0])

    def resident_bytes(self, pid: int) -> int:
        """Resident memory of ``pid`` (second field of ``statm``, in pages)."""
        return int((self.proc / str(pid) / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __call__(self) -> int:
        if self.pid is not None:
            return self.thread_ns(self.pid)
        now = {}
        for pid in self.renderers():
            with contextlib.suppress(OSError, ValueError, IndexError):
                now[pid] = self.resident_bytes(pid)
        self._reads.append(now)
        if len(self._reads) < 2:
            return 0
        before, holding = self._reads
        seen = [pid for pid in before if pid in holding]  # the page's renderer made the first read
        if not seen:
            raise RuntimeError("no Chromium renderer started by this process to read the CPU time of")
        self.pid = max(seen, key=lambda pid: holding[pid] - before[pid])
        return self.thread_ns(self.pid)


class _Handler(SimpleHTTPRequestHandler):
    """``/web/...`` from ``web/``, ``/models/...`` from the model folder; nothing else, no listings, no log lines."""

    def __init__(self, *args, web: Path, models: Path, **kwargs) -> None:
        self._roots = {"web": web, "models": models}
        super().__init__(*args, directory=str(web), **kwargs)

    def translate_path(self, path: str) -> str:
        head, _, rest = path.lstrip("/").partition("/")
        root = self._roots.get(head)
        if root is None:
            return str(self._roots["web"] / "__nothing__")
        self.directory = str(root)
        return super().translate_path("/" + rest)

    def list_directory(self, path):
        self.send_error(404)
        return None

    def log_message(self, format: str, *args) -> None:
        pass


@contextmanager
def serve(models: Path) -> Iterator[str]:
    """A local HTTP server for ``web/`` and ``models``; yields its base URL."""
    handler = functools.partial(_Handler, web=WEB_DIR, models=Path(models))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def chromium_args(backend: str, software_gpu: bool = True) -> list[str]:
    """Chromium's flags for ``backend``: WebAssembly needs no GPU; WebGPU needs it switched on (SwiftShader when ``software_gpu``)."""
    if backend != "webgpu":
        return [*CHROMIUM_ARGS, "--disable-gpu"]
    return [*CHROMIUM_ARGS, *WEBGPU_ARGS, *(SOFTWARE_GPU_ARGS if software_gpu else [])]


def run_headless(
    manifest: dict,
    models: Path,
    progress: Callable[[int, int, str], None] | None = None,
    software_gpu: bool = True,
    browser_type=None,
    cpu_clock: bool = True,
) -> dict:
    """The profiler's answer for ``manifest`` from headless Chromium (raises with Chromium's error when it fails).

    ``browser_type``: a Playwright ``BrowserType`` to launch from (a caller that already runs Playwright in this
    thread, such as the browser tests); by default this function starts Playwright itself. ``cpu_clock``: time
    WebAssembly rounds on the renderer's CPU time (:class:`RendererCpuClock`) where ``/proc`` has it; WebGPU
    always uses the wall clock (its work runs outside that thread).
    """
    clock = RendererCpuClock() if cpu_clock and manifest.get("backend", "wasm") == "wasm" and RendererCpuClock.available() else None
    check_web_files()
    if not Path(CHROMIUM).is_file():
        raise ValueError(f"Debian's chromium is not installed at {CHROMIUM} (bash scripts/setup.sh --browser, or apt-get install chromium)")
    args = chromium_args(manifest.get("backend", "wasm"), software_gpu)
    with serve(models) as base:
        if browser_type is not None:
            return _profile(browser_type.launch(executable_path=CHROMIUM, headless=True, args=args), base, manifest, progress, clock)
        from playwright.sync_api import sync_playwright  # heavy and only this command needs it

        with sync_playwright() as p:
            return _profile(p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args), base, manifest, progress, clock)


def _profile(browser, base: str, manifest: dict, progress: Callable[[int, int, str], None] | None, clock: RendererCpuClock | None = None) -> dict:
    """Open the profiler page in ``browser``, run ``manifest`` there (rounds on ``clock`` when given), close the browser."""
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if progress is not None:
            page.expose_function("ofaProgress", progress)
        if clock is not None:
            page.expose_function("ofaCpuClock", clock)
        page.goto(f"{base}/web/standalone.html")
        try:
            page.wait_for_function("() => window.ofaReady === true", timeout=60_000)
        except Exception as exc:
            raise RuntimeError(f"the profiler page did not load in Chromium: {errors or exc}") from None
        return page.evaluate("([m, base]) => window.ofaProfile(m, base)", [manifest, f"{base}/models/"])  # no time limit: a full run takes minutes
    finally:
        browser.close()
