"""Driving the dashboard in real Chromium: a Streamlit server in a subprocess and a few page gestures.

Shared by ``tests/test_browser.py`` and ``benchmarks/dashboard_timing.py`` so
that the test and the benchmark measure the same thing. Chromium is Debian's
package (``/usr/bin/chromium``), driven by Playwright for Python; Playwright's
own browser download is never used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from ofa_dash.ui.config import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str] | None = None, port: int | None = None, startup_s: float = 180.0, log: Path | None = None):
    """``streamlit run app.py`` on 127.0.0.1 (headless, no file watcher); yields the base URL; stops it afterwards."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was healthy" + (f" (log: {log})" if log else ""))
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit was not healthy within {startup_s:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


def launch(playwright, headless: bool = True):
    """Debian's Chromium, headless, with the flags a sandbox-less container needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, args=CHROMIUM_ARGS)


def wait_ready(page, title: str, timeout_ms: float = 120_000) -> None:
    """Until the page's title is drawn and Streamlit has finished running the script."""
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def plot_box(page, selector: str = "[data-testid='stPlotlyChart'] .js-plotly-plot") -> dict:
    """Pixel box of the plotting area (page coordinates) and the axes' data ranges."""
    return page.evaluate(
        """(sel) => {
        const gd = document.querySelector(sel);
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
        return {left: r.left, top: r.top, width: r.width, height: r.height, x: xa.range.slice(), y: ya.range.slice()};
    }""",
        selector,
    )


def box_select(page, x0: float, x1: float, y0: float = 0.02, y1: float = 0.98, release: bool = True) -> tuple[tuple[float, float], tuple[float, float]]:
    """Drag a selection box over fractions of the plotting area; returns its (x range, y range) in data units.

    ``release=False`` leaves the mouse button down, so a caller can time from ``page.mouse.up()``.
    """
    b = plot_box(page)
    px0, px1 = b["left"] + x0 * b["width"], b["left"] + x1 * b["width"]
    py0, py1 = b["top"] + y0 * b["height"], b["top"] + y1 * b["height"]
    page.mouse.move(px0, py0)
    page.mouse.down()
    steps = 8
    for i in range(1, steps + 1):
        page.mouse.move(px0 + (px1 - px0) * i / steps, py0 + (py1 - py0) * i / steps)
    if release:
        page.mouse.up()
    xr = (b["x"][0] + x0 * (b["x"][1] - b["x"][0]), b["x"][0] + x1 * (b["x"][1] - b["x"][0]))
    # pixel y grows downwards, data y upwards
    yr = (b["y"][1] - y1 * (b["y"][1] - b["y"][0]), b["y"][1] - y0 * (b["y"][1] - b["y"][0]))
    return xr, yr


def isolated_point(page, min_gap_px: float = 24.0) -> dict:
    """Centre (page pixels) of a drawn marker with no other marker within ``min_gap_px``: a safe target for a one-subnet box."""
    return page.evaluate(
        """(gap) => {
        const gd = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
        const drag = gd.querySelector('.nsewdrag').getBoundingClientRect();
        const pts = Array.from(gd.querySelectorAll('.scatterlayer .trace .points path')).map(p => {
            const r = p.getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2, size: r.width};
        }).filter(p => p.x > drag.left + 5 && p.x < drag.right - 5 && p.y > drag.top + 5 && p.y < drag.bottom - 5);
        const far = pts.filter(p => pts.every(q => (q === p) || Math.hypot(q.x - p.x, q.y - p.y) > gap || (Math.abs(q.x - p.x) < 0.5 && Math.abs(q.y - p.y) < 0.5)));
        far.sort((a, b) => b.size - a.size);
        return far.length ? far[0] : null;
    }""",
        min_gap_px,
    )


def box_around(page, x: float, y: float, half: float = 8.0) -> None:
    """Drag a small selection box centred on a page pixel."""
    page.mouse.move(x - half, y - half)
    page.mouse.down()
    page.mouse.move(x, y)
    page.mouse.move(x + half, y + half)
    page.mouse.up()


def brush_axis(page, key: str, axis: int, y0: float, y1: float, release: bool = True) -> None:
    """Drag along axis ``axis`` of the parallel-coordinates chart drawn under widget ``key``, over fractions ``y0``..``y1`` of its height.

    ``release=False`` leaves the mouse button down, so a caller can time from ``page.mouse.up()``.
    """
    box = page.evaluate(
        """([key, axis]) => {
        const dims = document.querySelectorAll('.st-key-' + key + ' .js-plotly-plot g.y-axis');
        const r = dims[axis].querySelector('.axis-brush .background').getBoundingClientRect();
        return {x: r.left + r.width / 2, top: r.top, height: r.height};
    }""",
        [key, axis],
    )
    ya, yb = box["top"] + y0 * box["height"], box["top"] + y1 * box["height"]
    page.mouse.move(box["x"], ya)
    page.mouse.down()
    steps = 8
    for i in range(1, steps + 1):
        page.mouse.move(box["x"], ya + (yb - ya) * i / steps)
    if release:
        page.mouse.up()
