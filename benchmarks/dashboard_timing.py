"""Dashboard timings in real Chromium: page navigation, brushing, and five sessions at once.

    .venv/bin/python benchmarks/dashboard_timing.py                # pages, brush, concurrent
    .venv/bin/python benchmarks/dashboard_timing.py --parts pages,brush,click --repeats 10
    .venv/bin/python benchmarks/dashboard_timing.py --parts parcoords

1. pages: for each page, the time from clicking its link in the sidebar to the
   page being interactive (title drawn, script finished, chart drawn where there
   is one), after every page was opened once (the server's caches warm: "after
   the first start"). On the shipped cache: ``precomputed/<--space>`` (default
   ``cifar10``; ``ofa-mbv3-w1.2`` with OFA's files in ``../shared/ofa-official``).
2. brush: box selections on the 2D front (alternating boxes), from mouse-up to
   the table's heading showing the new count and the script finished.
3. click: a plain click on an isolated marker of the 2D front (default
   box-select mode) to the Subnet page interactive with that subnet's id in
   the URL; the first click is a warm-up.
4. parcoords: on the shipped many-objective run (the stored run of the space
   with the most objectives; the Fronts page opens it on the parallel
   coordinates), a drag along an axis, from mouse-up to the table's heading
   showing the count, and to the rerun finished; each brush on a fresh page
   (a new drag on a brushed axis would add a second range).
5. concurrent: five browser sessions on a copy of the shipped ``precomputed/``
   with the cifar10 supernet and the real test split (a synthetic root with an
   untrained supernet where those are missing): one runs a full live
   validation; two brush and download ONNX / int8 exports; one brushes only;
   one starts a second validation while the first runs and must show the
   "waiting for the running validation" message, then finish. Every session
   must succeed.

Figures are printed; nothing is written except temporary files. Requires
Debian's chromium at /usr/bin/chromium and Playwright for Python.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ofa_dash.testing import browser as bh
from ofa_dash.ui.config import REPO

PAGES = [
    ("Fronts", "Fronts", True),
    ("Story", "Story", False),
    ("Subnet", "Subnet", False),
    ("Search", "Search", False),
    ("Devices & predictors", "Devices & predictors", False),
]


def _interactive(page, title: str, chart: bool) -> None:
    bh.wait_ready(page, title)
    if chart:
        try:
            page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot", timeout=120_000)
        except Exception:
            page.screenshot(path="/tmp/bench-fail.png")
            raise


def time_pages(base: str, query: str, repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {name: [] for name, _, _ in PAGES}
    with sync_playwright() as p:
        browser = bh.launch(p)
        page = browser.new_page(viewport=bh.VIEWPORT)
        page.goto(base + "/" + query)
        _interactive(page, "Fronts", True)
        for link, title, chart in PAGES:  # warm-up: every page once
            page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
            _interactive(page, title, chart)
        for _ in range(repeats):
            for link, title, chart in PAGES:
                nav = page.get_by_test_id("stSidebarNav").get_by_role("link", name=link)
                t0 = time.perf_counter()
                nav.click()
                page.wait_for_timeout(50)  # let the click start the run before waiting for it to end
                _interactive(page, title, chart)
                out[link].append(time.perf_counter() - t0)
        browser.close()
    return out


_HEADING_JS = "() => Array.from(document.querySelectorAll('h3')).map(e => e.textContent).join(' | ')"


def time_brush(base: str, query: str, repeats: int) -> dict[str, list[float]]:
    """Mouse-up to (a) the table heading showing the new count, (b) the rerun finished (table drawn, app idle)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"heading": [], "idle": []}
    # each box starts outside the previous one: a drag that starts inside a selection moves it (plotly)
    boxes = [(0.05, 0.35), (0.5, 0.95), (0.1, 0.4), (0.55, 0.9)]
    with sync_playwright() as p:
        browser = bh.launch(p)
        page = browser.new_page(viewport=bh.VIEWPORT)
        page.goto(base + "/" + query)
        _interactive(page, "Fronts", True)
        for i in range(repeats):
            before = page.evaluate(_HEADING_JS)
            bh.box_select(page, *boxes[i % len(boxes)], release=False)
            t0 = time.perf_counter()
            page.mouse.up()
            page.wait_for_function(
                f"(before) => {{ const now = ({_HEADING_JS})(); return now !== before && /Selected subnets \\(\\d+\\)/.test(now); }}",
                arg=before,
                timeout=60_000,
            )
            out["heading"].append(time.perf_counter() - t0)
            bh.wait_ready(page, "Fronts")
            out["idle"].append(time.perf_counter() - t0)
        browser.close()
    return out


def time_parcoords(base: str, query: str, repeats: int) -> dict[str, list[float]]:
    """Mouse-up at the end of a drag along a parallel-coordinates axis to (a) the table heading with a count, (b) the rerun finished."""
    from playwright.sync_api import sync_playwright

    chart = "frontpc"
    out: dict[str, list[float]] = {"heading": [], "idle": []}
    spans = [(0.05, 0.5), (0.3, 0.9), (0.1, 0.7)]
    with sync_playwright() as p:
        browser = bh.launch(p)
        page = browser.new_page(viewport=bh.VIEWPORT)
        for i in range(repeats):
            page.goto(base + "/" + query)
            _interactive(page, "Fronts", True)
            page.wait_for_function(f"() => !!document.querySelector('.st-key-{chart} .js-plotly-plot')._ofaRangeListener", timeout=120_000)
            n_axes = page.evaluate(f"() => document.querySelectorAll('.st-key-{chart} .js-plotly-plot g.y-axis').length")
            bh.brush_axis(page, chart, i % n_axes, *spans[i % len(spans)], release=False)
            t0 = time.perf_counter()
            page.mouse.up()
            page.wait_for_function(f"() => /Selected subnets \\(\\d+\\)/.test(({_HEADING_JS})())", timeout=60_000)
            out["heading"].append(time.perf_counter() - t0)
            bh.wait_ready(page, "Fronts")
            out["idle"].append(time.perf_counter() - t0)
        browser.close()
    return out


def many_objective_run(runs: list[dict]) -> dict | None:
    """The stored run with the most objectives (three or more), or None."""
    best = max(runs, key=lambda e: len(e.get("objectives", [])), default=None)
    return best if best is not None and len(best.get("objectives", [])) >= 3 else None


def time_click(base: str, query: str, repeats: int) -> dict[str, list[float]]:
    """A plain click on a marker (default box-select mode) to the Subnet page interactive with that marker's subnet."""
    from playwright.sync_api import sync_playwright

    from ofa_dash.testing import plot_dom

    out: dict[str, list[float]] = {"click": []}
    with sync_playwright() as p:
        browser = bh.launch(p)
        page = browser.new_page(viewport=bh.VIEWPORT)
        page.goto(base + "/" + query)
        _interactive(page, "Fronts", True)
        for i in range(repeats + 1):  # the first click warms the Subnet page's caches and is not counted
            drawn = plot_dom.inside_plot(page, "front2d", plot_dom.markers(page, "front2d"))
            targets = plot_dom.isolated(drawn, gap=8.0) or drawn  # the shipped front is dense: the top marker under the pointer wins
            if not targets:
                raise RuntimeError("no marker inside the plot to click")
            target = targets[(i * 7) % len(targets)]
            t0 = time.perf_counter()
            page.mouse.click(target["x"], target["y"])
            page.wait_for_url(re.compile(r"/subnet\?"), timeout=60_000)
            _interactive(page, "Subnet", False)
            if i:
                out["click"].append(time.perf_counter() - t0)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Fronts").click()
            page.wait_for_timeout(50)
            _interactive(page, "Fronts", True)
        browser.close()
    return out


# --------------------------------------------------------------------------- five sessions
def _session(name: str, base: str, job, results: dict, barrier: threading.Barrier, work: Path) -> None:
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser = bh.launch(p)
            page = browser.new_page(viewport=bh.VIEWPORT, accept_downloads=True)
            page.goto(base)
            _interactive(page, "Fronts", True)
            barrier.wait(timeout=600)
            detail = job(page, work)
            browser.close()
        results[name] = {"ok": True, "seconds": time.perf_counter() - t0, **(detail or {})}
    except Exception as exc:  # reported in the table, with the reason
        results[name] = {"ok": False, "seconds": time.perf_counter() - t0, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=4)}


def _open_subnet(page, base: str, subnet: str) -> None:
    page.goto(f"{base}/subnet?space=cifar10&subnet={subnet}")
    bh.wait_ready(page, "Subnet")


def _validate(page, base: str, subnet: str, full: bool, expect_wait: bool) -> dict:
    _open_subnet(page, base, subnet)
    if full:
        page.get_by_text(re.compile(r"^full")).click()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Validate now").click()
    saw_wait = False
    if expect_wait:
        page.get_by_text(re.compile("waiting for the running validation|waits its turn")).first.wait_for(timeout=120_000)
        saw_wait = True
    page.get_by_text("Recorded: the measured figures").wait_for(timeout=900_000)
    return {"validation_s": round(time.perf_counter() - t0, 2), "saw_waiting_message": saw_wait}


def _brush_and_export(page, base: str, subnet: str, formats: list[str], work: Path, n_brush: int = 4) -> dict:
    brush = []
    for i in range(n_brush):
        t0 = time.perf_counter()
        bh.box_select(page, *[(0.05, 0.4), (0.55, 0.95)][i % 2])  # alternate: a drag inside the last box would move it
        page.get_by_text(re.compile(r"Selected subnets \(\d+\)")).wait_for(timeout=120_000)
        bh.wait_ready(page, "Fronts")
        brush.append(time.perf_counter() - t0)
    exports = {}
    if formats:
        _open_subnet(page, base, subnet)
        for fmt in formats:
            label = {"onnx": r"^ONNX \(fp32\)", "onnx-int8": r"^int8 ONNX"}[fmt]
            t0 = time.perf_counter()
            # built as a background job ("Build <format>"), then downloaded from the button that replaces it
            build = page.get_by_role("button", name=re.compile(label.replace("^", "^Build ")))
            if build.count():
                build.first.click()
            ready = page.get_by_role("button", name=re.compile(label + ".* ✓"))
            ready.wait_for(timeout=300_000)
            with page.expect_download(timeout=300_000) as dl:
                ready.click()
            path = work / f"{threading.get_ident()}-{fmt}.onnx"
            dl.value.save_as(path)
            import onnxruntime as ort

            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            shape = [d if isinstance(d, int) else 1 for d in session.get_inputs()[0].shape]
            import numpy as np

            logits = session.run(None, {session.get_inputs()[0].name: np.zeros(shape, np.float32)})[0]
            assert logits.shape[-1] == 10
            exports[fmt] = round(time.perf_counter() - t0, 2)
    return {"brush_s_max": round(max(brush), 2), "brush_s_median": round(statistics.median(brush), 2), "exports_s": exports}


def concurrent_sessions(base: str, subnets: list[str], work: Path) -> dict:
    results: dict = {}
    barrier = threading.Barrier(5)
    first_started = threading.Event()

    def validator(page, work):
        out = _validate(page, base, subnets[0], full=True, expect_wait=False)
        return out

    def second_validator(page, work):
        first_started.wait(timeout=600)
        page.wait_for_timeout(1500)
        return _validate(page, base, subnets[1], full=False, expect_wait=True)

    jobs = {
        "A validate (full)": validator,
        "B brush + ONNX": lambda page, work: _brush_and_export(page, base, subnets[2], ["onnx"], work),
        "C brush + int8 ONNX": lambda page, work: _brush_and_export(page, base, subnets[3], ["onnx-int8"], work),
        "D brush only": lambda page, work: _brush_and_export(page, base, subnets[0], [], work, n_brush=6),
        "E second validation": second_validator,
    }

    def watch_queue():  # the first validation holds the queue's turn: then E may start
        from ofa_dash.validation_queue import VALIDATION_QUEUE

        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and not first_started.is_set():
            if VALIDATION_QUEUE.busy():
                first_started.set()
            time.sleep(0.1)

    threads = [threading.Thread(target=_session, args=(name, base, fn, results, barrier, work)) for name, fn in jobs.items()]
    watcher = threading.Thread(target=watch_queue, daemon=True)
    t0 = time.perf_counter()
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["_wall_s"] = round(time.perf_counter() - t0, 1)
    return results


# --------------------------------------------------------------------------- main
def _summary(name: str, values: list[float]) -> str:
    return f"{name:<24} median {statistics.median(values):6.2f} s   max {max(values):6.2f} s   (n={len(values)})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="pages,brush,concurrent")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--official", default=str(REPO.parent / "shared" / "ofa-official"))
    ap.add_argument("--space", default="cifar10", help="shipped space for the pages and brush parts (the synthetic demo root where it has no runs)")
    ap.add_argument(
        "--data", default=str(REPO.parent / "shared" / "datasets" / "cifar10-jpeg"), help="CIFAR-10 for the concurrent part on the shipped supernet"
    )
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    if not Path(bh.CHROMIUM).is_file():
        print(f"needs Debian's chromium at {bh.CHROMIUM}", file=sys.stderr)
        return 2
    cache = tempfile.mkdtemp(prefix="ofa-dash-bench-cache-")
    os.environ.setdefault("OFA_DASH_CACHE", cache)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start")

    if "parcoords" in parts:
        from ofa_dash.store import RunStore
        from ofa_dash.ui.catalogue import build_catalogue

        runs = RunStore(REPO / "precomputed").list_runs(args.space)[0] if (REPO / "precomputed" / args.space / "runs").is_dir() else []
        run = many_objective_run(runs)
        if run is None:
            print(f"parcoords: no stored run of {args.space} has three or more objectives", file=sys.stderr)
            return 2
        official = args.official if Path(args.official).is_dir() else str(Path(cache) / "none")
        env = {"OFA_DASH_PRECOMPUTED": str(REPO / "precomputed"), "OFA_DASH_OFFICIAL": official, "OFA_DASH_DATA": str(Path(cache) / "no-data")}
        devices = [o.split(":", 1)[1] for o in run["objectives"] if o.startswith("latency:")]
        n = build_catalogue(REPO / "precomputed", args.space, [run["run_id"]], official=official, sets=("archive",)).points["id"].nunique()
        query = f"?space={args.space}&device={','.join(devices)}&run={run['run_id']}"
        with bh.streamlit_server(env, log=Path(cache) / "streamlit-parcoords.log") as base:
            times = time_parcoords(base, query, args.repeats)
        print(f"\nparallel-coordinates brush (mouse-up) -> table updated (run {run['run_id']}: {', '.join(run['objectives'])}; {n} subnets):")
        print("  " + _summary("table heading updated", times["heading"]))
        print("  " + _summary("rerun finished (idle)", times["idle"]))
        print("  each brush, heading (s): " + " ".join(f"{v:.2f}" for v in times["heading"]))

    if parts & {"pages", "brush", "click"}:
        from ofa_dash.ui.catalogue import build_catalogue

        shipped = REPO / "precomputed" / args.space / "runs" / "manifest.json"
        official_ok = Path(args.official).is_dir()
        if shipped.is_file() and (args.space != "ofa-mbv3-w1.2" or official_ok):
            official = args.official if official_ok else str(Path(cache) / "none")
            env = {"OFA_DASH_PRECOMPUTED": str(REPO / "precomputed"), "OFA_DASH_OFFICIAL": official, "OFA_DASH_DATA": str(Path(cache) / "no-data")}
            pts = build_catalogue(REPO / "precomputed", args.space, official=official, sets=("archive",)).points
            device = "note10" if args.space == "ofa-mbv3-w1.2" else sorted(c.split(":", 1)[1] for c in pts.columns if c.startswith("latency:"))[0]
            query = f"?space={args.space}&device={device}&subnet={pts.sort_values('top1_pred')['id'].iloc[len(pts) // 2]}"
            what = f"shipped cache: precomputed/{args.space}, {len(pts)} subnets, device {device}"
        else:
            from ofa_dash.testing.demo import ensure_demo

            root, data = ensure_demo(Path(cache) / "demo")
            env = {"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(data), "OFA_DASH_OFFICIAL": str(Path(cache) / "none")}
            query = "?space=cifar10&subnet=0000000000000000"
            what = "synthetic demo root (no shipped runs found)"
        with bh.streamlit_server(env, log=Path(cache) / "streamlit-pages.log") as base:
            if "pages" in parts:
                times = time_pages(base, query, args.repeats)
                print(f"\npage navigation -> interactive ({what}), after a warm-up visit of every page:")
                for name, values in times.items():
                    print("  " + _summary(name, values))
            if "brush" in parts:
                times = time_brush(base, query, args.repeats)
                print(f"\nbox selection (mouse-up) -> table updated ({what}):")
                print("  " + _summary("table heading updated", times["heading"]))
                print("  " + _summary("rerun finished (idle)", times["idle"]))
                print("  each brush, heading (s): " + " ".join(f"{v:.2f}" for v in times["heading"]))
            if "click" in parts:
                times = time_click(base, query, args.repeats)
                print(f"\nplain click on a marker -> Subnet page interactive with that subnet ({what}):")
                print("  " + _summary("click to Subnet page", times["click"]))

    if "concurrent" in parts:
        from ofa_dash.testing.demo import make_demo_root, make_image_folder
        from ofa_dash.ui.catalogue import build_catalogue

        work = Path(tempfile.mkdtemp(prefix="ofa-dash-bench-"))
        if (REPO / "precomputed" / "cifar10" / "supernet.pt").is_file() and (REPO / "precomputed" / "cifar10" / "runs").is_dir() and Path(args.data).is_dir():
            root = shutil.copytree(REPO / "precomputed", work / "precomputed")  # validations are recorded in the copy
            data = Path(args.data)
            kind = "shipped cifar10 supernet and runs (a copy), the 10,000-image CIFAR-10 test split"
        else:
            root = make_demo_root(work / "precomputed")
            data = make_image_folder(work / "data", per_class_train=30, per_class_test=300)  # 3,000 test images: a validation long enough to overlap
            kind = "synthetic root with an untrained supernet, 3,000 test images"
        pts = build_catalogue(root, "cifar10", sets=("archive",)).points.sort_values("macs")
        subnets = pts.drop_duplicates("id")["id"].tolist()
        chosen = [subnets[-1], subnets[len(subnets) // 2], subnets[len(subnets) // 3], subnets[len(subnets) // 4]]
        env = {"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(data), "OFA_DASH_OFFICIAL": str(work / "none")}
        with bh.streamlit_server(env, log=work / "streamlit-concurrent.log") as base:
            results = concurrent_sessions(base, chosen, work)
        print(f"\nfive sessions at once ({kind}; wall {results.pop('_wall_s')} s):")
        for name, r in results.items():
            status = "ok " if r["ok"] else "FAILED"
            extra = {k: v for k, v in r.items() if k not in ("ok", "trace")}
            print(f"  {status} {name:<22} {extra}")
            if not r["ok"]:
                print("      " + r["trace"].replace("\n", "\n      "))
        if not all(r["ok"] for r in results.values()):
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
