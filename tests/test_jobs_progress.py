"""Progress with counts for long waits: the dataset's first decode and export builds ("step i of n")."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from ofa_dash.data import DECODE_REPORT_EVERY, LOAD_STAGES, load_dataset
from ofa_dash.export import FORMATS
from ofa_dash.space import get_space
from ofa_dash.testing.demo import ensure_demo
from ofa_dash.ui import jobs
from ofa_dash.ui.config import resolve_settings

CIFAR = get_space("cifar10")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ensure_demo(tmp_path_factory.getbasetemp() / "ofa-dash-demo")


def test_first_decode_reports_counts_then_the_cache_is_read_back(tiny_folder, tmp_path):
    heard: list[tuple[str, int, int]] = []
    data = load_dataset(tiny_folder, cache_dir=tmp_path, progress=lambda *report: heard.append(report))
    n = len(data.train) + len(data.test)
    decoding = [r for r in heard if r[0] == "decoding"]
    assert decoding[0] == ("decoding", 0, n) and decoding[-1] == ("decoding", n, n)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(decoding))  # counts only grow
    assert {stage for stage, _, _ in heard} <= set(LOAD_STAGES)
    again: list[tuple[str, int, int]] = []
    load_dataset(tiny_folder, cache_dir=tmp_path, progress=lambda *report: again.append(report))
    assert again == [("loading cache", 0, 1)]  # decoded once: the second load only reads the cache


def test_decoding_reports_every_few_hundred_images_not_every_image(tmp_path):
    for split, n in (("train", DECODE_REPORT_EVERY + 7), ("test", 3)):
        d = tmp_path / "data" / split / "cat"
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((4, 4, 3), i % 255, np.uint8)).save(d / f"{i:04d}.png")
    heard: list[tuple[str, int, int]] = []
    load_dataset(tmp_path / "data", cache_dir=tmp_path / "cache", progress=lambda *report: heard.append(report))
    total = DECODE_REPORT_EVERY + 10
    assert [r for r in heard if r[0] == "decoding"] == [("decoding", 0, total), ("decoding", DECODE_REPORT_EVERY, total), ("decoding", total, total)]


def test_progress_words():
    assert jobs.stage_text("decoding", 12_000, 60_000) == "decoding 12,000 of 60,000 images"
    assert jobs.stage_text("reading", 2, 6) == "reading the dataset's files: 2 of 6"
    assert jobs.stage_text("evaluating", 5, 50) == "evaluating 5/50" and jobs.stage_text("waiting") == "waiting"
    job = jobs.Job("export", "ONNX")
    job.update("recalibrate BN", 1, 4)
    assert jobs.progress_text(job) == "step 2 of 4: recalibrate BN"
    job.update("prepare subnet", 0, 4)
    job.message = "decoding 500 of 60,000 images"
    assert jobs.progress_text(job) == "step 1 of 4: prepare subnet (decoding 500 of 60,000 images)"


def test_an_export_job_reports_each_step_in_order_then_the_file(demo, tmp_path, monkeypatch):
    root, data = demo
    monkeypatch.setenv("OFA_DASH_CACHE", str(tmp_path / "cache"))  # a cold cache: the dataset is decoded and the file built
    jobs._datasets.clear()
    settings = resolve_settings(environ={"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(data), "OFA_DASH_OFFICIAL": str(tmp_path / "none")})
    arch = CIFAR.smallest()
    seen: list[tuple[str, int, int, str]] = []
    job = jobs.Job("export", "test")
    real_update = job.update

    def update(stage, done=0, total=0, message=""):
        real_update(stage, done, total, message)
        seen.append((stage, done, total, jobs.progress_text(job)))

    job.update = update
    result = jobs.export_work(settings, CIFAR, arch, "onnx")(job)
    steps = [s for s, _, _, _ in seen]
    assert [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]] == [*jobs.EXPORT_STEPS, "done"]
    assert {total for _, _, total, _ in seen} == {len(jobs.EXPORT_STEPS)}
    assert seen[0][3].startswith("step 1 of 4: prepare subnet") and seen[-1][3] == "step 4 of 4: done"
    assert result["format"] == "onnx" and result["path"].endswith(FORMATS["onnx"].file_for(f"cifar10-{arch.id}"))
    assert jobs.cached_export(settings, CIFAR, arch, "onnx") is not None

    # a second job reuses the file: it reports only the first step and is done
    again = jobs.Job("export", "again")
    assert jobs.export_work(settings, CIFAR, arch, "onnx")(again)["path"] == result["path"]
    assert again.stage == "done" and again.done == again.total == len(jobs.EXPORT_STEPS)


def test_a_cancelled_export_job_stops_at_its_next_step(demo, tmp_path, monkeypatch):
    root, data = demo
    monkeypatch.setenv("OFA_DASH_CACHE", str(tmp_path / "cache"))
    settings = resolve_settings(environ={"OFA_DASH_PRECOMPUTED": str(root), "OFA_DASH_DATA": str(data), "OFA_DASH_OFFICIAL": str(tmp_path / "none")})
    job = jobs.Job("export", "cancelled")
    job.cancel.set()
    with pytest.raises(jobs.Cancelled):
        jobs.export_work(settings, CIFAR, CIFAR.smallest(), "onnx")(job)
    assert jobs.cached_export(settings, CIFAR, CIFAR.smallest(), "onnx") is None
