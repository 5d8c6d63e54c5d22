"""Time a browser plan in headless Chromium on this machine (``profile-browser``): the shipped ``chromium-wasm`` profile.

WebGPU (``--backend webgpu``) runs on the machine's GPU where Chromium's Vulkan finds one, otherwise
on SwiftShader, Chromium's software Vulkan: the flow is the same, but such figures time the CPU.

A small HTTP server on 127.0.0.1 serves ``web/`` (the same ``profiler.js`` and
onnxruntime-web files the dashboard serves) and the plan's model folder;
Debian's Chromium, driven by Playwright, opens ``web/standalone.html`` and
runs the profiler; its answer goes through the same checks and builder as a
visitor's (:func:`ofa_dash.hardware.browser.profile_from_result`).
"""

from __future__ import annotations

import functools
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


def run_headless(manifest: dict, models: Path, progress: Callable[[int, int, str], None] | None = None, software_gpu: bool = True, browser_type=None) -> dict:
    """The profiler's answer for ``manifest`` from headless Chromium (raises with Chromium's error when it fails).

    ``browser_type``: a Playwright ``BrowserType`` to launch from (a caller that already runs Playwright in this
    thread, such as the browser tests); by default this function starts Playwright itself.
    """
    check_web_files()
    if not Path(CHROMIUM).is_file():
        raise ValueError(f"Debian's chromium is not installed at {CHROMIUM} (bash scripts/setup.sh --browser, or apt-get install chromium)")
    args = chromium_args(manifest.get("backend", "wasm"), software_gpu)
    with serve(models) as base:
        if browser_type is not None:
            return _profile(browser_type.launch(executable_path=CHROMIUM, headless=True, args=args), base, manifest, progress)
        from playwright.sync_api import sync_playwright  # heavy and only this command needs it

        with sync_playwright() as p:
            return _profile(p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args), base, manifest, progress)


def _profile(browser, base: str, manifest: dict, progress: Callable[[int, int, str], None] | None) -> dict:
    """Open the profiler page in ``browser``, run ``manifest`` there, close the browser."""
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if progress is not None:
            page.expose_function("ofaProgress", progress)
        page.goto(f"{base}/web/standalone.html")
        try:
            page.wait_for_function("() => window.ofaReady === true", timeout=60_000)
        except Exception as exc:
            raise RuntimeError(f"the profiler page did not load in Chromium: {errors or exc}") from None
        return page.evaluate("([m, base]) => window.ofaProfile(m, base)", [manifest, f"{base}/models/"])  # no time limit: a full run takes minutes
    finally:
        browser.close()
