"""Fine-tune a pick: result files and before/after top-1, bit-identical resume, refusals that write nothing, exports of the fine-tuned weights."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
import torch

from ofa_dash.calibration import from_dataset
from ofa_dash.checkpoints import load_subnet_weights
from ofa_dash.cli import main
from ofa_dash.data import load_dataset, to_tensor_batch
from ofa_dash.evaluate import recalibrate_subnet
from ofa_dash.export import read_metadata
from ofa_dash.finetune import FinetuneConfig, finetune
from ofa_dash.nn.bn import freeze_bn_statistics
from ofa_dash.runtime.ort import ort_session
from ofa_dash.space import get_space
from ofa_dash.subnets import load_supernet, prepare
from ofa_dash.train import Recipe
from ofa_dash.workspace import Workspace

torch.set_num_threads(1)
CIFAR = get_space("cifar10")
ARCH = CIFAR.smallest()  # the cheapest subnet: these tests check files and sameness, not accuracy
TINY = ["--recipe", "tiny", "--max-steps", "3", "--threads", "1"]


def _root_copy(demo, dest):
    root = shutil.copytree(demo[0], dest)
    return root, Workspace(root).space(CIFAR)


@pytest.fixture(scope="module")
def tuned(demo, tmp_path_factory):
    """One uninterrupted fine-tune (2 epochs x 3 steps) through the CLI, in a private copy of the demo root."""
    root, folder = _root_copy(demo, tmp_path_factory.mktemp("finetune") / "precomputed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OFA_DASH_PRECOMPUTED", str(root))
        assert main(["finetune", "--arch", ARCH.id, "--epochs", "2", "--data", str(demo[1]), *TINY]) == 0
    return root, folder


def test_finetune_writes_weights_and_record_with_before_and_after(tuned, demo):
    _, folder = tuned
    record = json.loads(folder.finetune_record(ARCH.id).read_text())
    assert record["arch_id"] == ARCH.id and record["epochs"] == 2 and record["steps"] == 6 and record["seed"] == 0
    assert record["supernet_version"] == "demo-untrained" and len(record["supernet_sha256"]) == 64
    assert record["hyperparameters"]["recipe"] == "tiny" and record["hyperparameters"]["batch_size"] == 16 and record["hyperparameters"]["lr"] == 0.02
    assert 0 <= record["top1_before"] <= 100 and 0 <= record["top1_after"] <= 100 and record["test_images"] == 50
    assert [row["epoch"] for row in record["curve"]] == [1, 2] and all(np.isfinite(row["loss"]) for row in record["curve"])
    assert record["hardware"] and record["wall_minutes"] > 0
    assert not folder.finetune_checkpoint(ARCH.id).exists()  # spent once finished
    blob = torch.load(folder.finetuned_weights(ARCH.id), map_location="cpu", weights_only=True)
    assert blob["arch_id"] == ARCH.id
    net, _ = load_subnet_weights(folder.finetuned_weights(ARCH.id), CIFAR, ARCH)
    extracted = load_supernet(CIFAR, folder.supernet).net.extract(ARCH)
    conv = "blocks.0.project.0.weight"  # a trained convolution: it moved away from the supernet's
    assert conv in net.state_dict() and not torch.equal(net.state_dict()[conv], extracted.state_dict()[conv])
    # "after" is the stored weights, recalibrated as an export does, on the test split
    data = load_dataset(demo[1])
    after = recalibrate_subnet(net, CIFAR, ARCH, from_dataset(data).images, len(from_dataset(data)))
    x = to_tensor_batch(torch.from_numpy(data.test.images), CIFAR.mean, CIFAR.std, ARCH.r)
    with torch.no_grad():
        top1 = 100.0 * float((after(x).argmax(1).numpy() == data.test.labels).mean())
    assert top1 == pytest.approx(record["top1_after"])
    # BN statistics were frozen at the re-estimated ones: the stored running means are exactly the extracted subnet's
    assert record["hyperparameters"]["batch_norm"].startswith("statistics frozen")
    start = prepare(CIFAR, ARCH, folder.supernet, data).net.state_dict()
    stored = load_subnet_weights(folder.finetuned_weights(ARCH.id), CIFAR, ARCH)[0].state_dict()  # `net` was recalibrated above
    means = [k for k in start if k.endswith("running_mean")]
    assert means and all(torch.allclose(stored[k], start[k]) for k in means)


def test_frozen_bn_keeps_its_statistics_and_trains_its_scale():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    net.train()
    assert freeze_bn_statistics(net) == 1 and net.training and not net[1].training
    before = net[1].running_mean.clone()
    net(torch.randn(8, 3, 6, 6) * 5 + 3).sum().backward()
    assert torch.equal(net[1].running_mean, before) and net[1].weight.grad is not None and net[0].weight.grad is not None


def test_interrupted_then_resumed_gives_the_same_weights(tuned, demo, tmp_path, monkeypatch):
    """A stop after the first step (--time-limit) checkpoints; --resume ends bit-identical to the uninterrupted run."""
    root, folder = _root_copy(demo, tmp_path / "precomputed")
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    args = ["finetune", "--arch", ARCH.id, "--epochs", "2", "--data", str(demo[1]), *TINY]
    assert main([*args, "--time-limit", "1e-9"]) == 0
    assert folder.finetune_checkpoint(ARCH.id).is_file() and not folder.finetuned_weights(ARCH.id).exists()
    assert main(args) == 2  # a checkpoint is there: starting over needs it deleted, continuing needs --resume
    # a second interruption mid-way, through the job hook this time
    calls = iter(range(100))
    cfg = FinetuneConfig(CIFAR, ARCH, 2, Recipe.load("tiny"), resume=True, max_steps_per_epoch=3, cancel=lambda: next(calls) >= 2)
    stopped = finetune(cfg, load_dataset(demo[1]))
    assert stopped["stopped"] == "cancelled" and (stopped["epoch"], stopped["step"]) == (1, 1)
    assert main([*args, "--resume"]) == 0
    mine = json.loads(folder.finetune_record(ARCH.id).read_text())
    theirs = json.loads(tuned[1].finetune_record(ARCH.id).read_text())
    assert mine["sessions"] == 3 and mine["steps"] == theirs["steps"]
    assert [r["loss"] for r in mine["curve"]] == [r["loss"] for r in theirs["curve"]]
    assert mine["top1_after"] == theirs["top1_after"]
    a, _ = load_subnet_weights(folder.finetuned_weights(ARCH.id), CIFAR, ARCH)
    b, _ = load_subnet_weights(tuned[1].finetuned_weights(ARCH.id), CIFAR, ARCH)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert not folder.finetune_checkpoint(ARCH.id).exists()


def test_sigterm_stops_after_the_step_with_a_checkpoint(env, demo):
    """A real SIGTERM mid-run: the step finishes, a checkpoint is written, nothing is published, the caller's handler is back."""
    import os
    import signal

    folder = Workspace(env).space(CIFAR)
    previous = signal.getsignal(signal.SIGTERM)
    sent = []

    def send_once() -> bool:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return False

    cfg = FinetuneConfig(CIFAR, ARCH, 1, Recipe.load("tiny"), max_steps_per_epoch=3, cancel=send_once)
    stopped = finetune(cfg, load_dataset(demo[1]))
    assert stopped["stopped"] == "signal" and (stopped["epoch"], stopped["step"]) == (0, 2)
    assert folder.finetune_checkpoint(ARCH.id).is_file() and not folder.finetuned_weights(ARCH.id).exists()
    assert signal.getsignal(signal.SIGTERM) == previous


def test_without_distillation_no_teacher_is_built_and_the_record_says_so(env, demo, monkeypatch):
    import ofa_dash.finetune as ft

    built = []
    real_prepare = ft.prepare
    monkeypatch.setattr(ft, "prepare", lambda space, arch, *a, **k: built.append(arch.id) or real_prepare(space, arch, *a, **k))
    cfg = FinetuneConfig(CIFAR, ARCH, 1, Recipe.load("tiny"), kd_weight=0.0, max_steps_per_epoch=2)
    record = finetune(cfg, load_dataset(demo[1]))
    assert built == [ARCH.id]  # the student only: the largest subnet (the teacher) was never prepared
    assert record["hyperparameters"]["kd_weight"] == 0.0 and record["hyperparameters"]["teacher"] == "none"
    assert np.isfinite(record["curve"][0]["loss"]) and 0 <= record["top1_after"] <= 100


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--arch", "zz-not-an-id", "--epochs", "1"], "zz-not-an-id"),
        (["--space", "no-such-space", "--arch", ARCH.id, "--epochs", "1"], "no-such-space"),
        (["--arch", ARCH.id, "--epochs", "0"], "--epochs"),
        (["--arch", ARCH.id, "--epochs", "1", "--data", "MISSING"], "MISSING"),
        (["--arch", ARCH.id, "--epochs", "1", "--batch-size", "100000"], "batch"),
        (["--arch", ARCH.id, "--epochs", "1", "--kd-weight", "-1"], "--kd-weight"),
    ],
)
def test_bad_input_refuses_with_one_line_and_writes_nothing(args, words, env, demo, tmp_path, capsys):
    args = [str(tmp_path / "missing-data") if a == "MISSING" else a for a in args]
    if "--data" not in args:
        args += ["--data", str(demo[1])]
    before = sorted(p.relative_to(env) for p in env.rglob("*"))
    assert main(["finetune", *args, *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words.replace("MISSING", "missing-data") in err[0]
    assert sorted(p.relative_to(env) for p in env.rglob("*")) == before


def test_export_without_finetuned_weights_says_so(env, demo, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--arch", ARCH.id, "--weights", "finetuned", "--format", "onnx", "--out", str(out), "--data", str(demo[1]), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "no fine-tuned weights" in err and "finetune" in err and not out.exists()


def test_onnx_export_of_the_finetuned_weights_matches_them(tuned, demo, tmp_path, monkeypatch):
    root, folder = tuned
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    out = tmp_path / "tuned.onnx"
    assert main(["export", "--arch", ARCH.id, "--weights", "finetuned", "--format", "onnx", "--out", str(out), "--data", str(demo[1]), "--threads", "1"]) == 0
    meta = read_metadata(out)
    assert meta["weights"] == "finetuned"
    prov = json.loads(meta["ofa_dash.config"])["provenance"]
    record = json.loads(folder.finetune_record(ARCH.id).read_text())
    assert prov["weights"] == "finetuned" and prov["finetune"]["top1_after"] == record["top1_after"] and prov["finetune"]["epochs"] == 2
    # the fine-tuned weights, read independently and recalibrated on the export's images, give the ONNX model's outputs
    data = load_dataset(demo[1])
    net, _ = load_subnet_weights(folder.finetuned_weights(ARCH.id), CIFAR, ARCH)
    net = recalibrate_subnet(net, CIFAR, ARCH, from_dataset(data).images, len(from_dataset(data)))
    x = to_tensor_batch(torch.from_numpy(data.test.images[:16]), CIFAR.mean, CIFAR.std, ARCH.r).contiguous()
    with torch.no_grad():
        expected = net(x).numpy()
    got = ort_session(out.read_bytes(), threads=1).run(None, {"image": x.numpy()})[0]
    assert np.abs(got - expected).max() <= 1e-4 and (got.argmax(1) == expected.argmax(1)).all()
    # and they differ from the supernet's weights, which stay the default
    default = prepare(CIFAR, ARCH, data=data)
    assert default.provenance.weights == "supernet" and default.provenance.finetune is None
    with torch.no_grad():
        assert np.abs(default.net(x).numpy() - expected).max() > 1e-3


def test_bundle_model_card_names_the_finetuned_weights(tuned, demo, tmp_path, monkeypatch):
    root, _ = tuned
    monkeypatch.setenv("OFA_DASH_PRECOMPUTED", str(root))
    out = tmp_path / "tuned.zip"
    args = ["export", "--arch", ARCH.id, "--weights", "finetuned", "--format", "bundle", "--out", str(out), "--data", str(demo[1])]
    assert main([*args, "--threads", "1", "--eval-images", "50"]) == 0
    with zipfile.ZipFile(out) as z:
        card_md = next(z.read(n).decode() for n in z.namelist() if n.endswith("MODEL_CARD.md"))
        card = json.loads(next(z.read(n) for n in z.namelist() if n.endswith("model_card.json")))
    assert card["title"].endswith(", fine-tuned") and card["provenance"]["weights"] == "finetuned"
    assert "- weights: fine-tuned from the supernet's for 2 epochs (6 steps, batch 16, lr 0.02, seed 0)" in card_md
    assert "before" in card_md and "after" in card_md
    record = json.loads(Workspace(root).space(CIFAR).finetune_record(ARCH.id).read_text())
    tuned_row = next(r for r in card["accuracy"]["measured"] if r["model"].startswith("fp32 (fine-tune run"))
    assert tuned_row["top1"] == record["top1_after"] and tuned_row["n_images"] == record["test_images"]
    predicted = card["accuracy"]["predicted"]
    assert predicted is None or "not these fine-tuned ones" in predicted["source"]  # a prediction describes the supernet's weights


def test_subnet_page_button_fine_tunes_in_the_background_and_shows_the_record(env):
    from apptest_helpers import _ok, _page

    from ofa_dash.ui import finetune_view, jobs
    from ofa_dash.ui.config import resolve_settings

    at = _page("subnet")
    at.query_params["subnet"] = ARCH.id
    at.run()
    _ok(at)
    assert at.button(key="ft_go").label == "Fine-tune"
    at.selectbox(key="ft_recipe").set_value("tiny")
    at.number_input(key="ft_epochs").set_value(1)
    at.button(key="ft_go").click().run()
    _ok(at)
    job = jobs.get_job(at.session_state[finetune_view.job_key(CIFAR, ARCH)])
    assert job is not None and job.kind == "finetune"
    job.thread.join(240)
    assert not job.running and job.error is None, job.error
    assert job.result["epochs"] == 1 and job.result["hyperparameters"]["recipe"] == "tiny"
    at.run()
    _ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert "Fine-tuned for 1 epoch(s)" in text and "before" in text and "after" in text
    assert any("--weights finetuned" in c.value for c in at.code)
    assert Workspace(env).space(CIFAR).finetuned_weights(ARCH.id).is_file()
    # the downloads now offer the fine-tuned weights, built and cached apart from the supernet's
    at.radio(key="dl_weights").set_value("fine-tuned (see Fine-tune below)").run()
    _ok(at)
    at.button(key="build_onnx").click().run()
    _ok(at)
    export_job = jobs.get_job(at.session_state[jobs.export_job_key(CIFAR, ARCH, "onnx", "finetuned")])
    export_job.thread.join(240)
    assert export_job.error is None, export_job.error
    settings = resolve_settings()  # the page's: OFA_DASH_PRECOMPUTED and OFA_DASH_DATA from ``env``
    path = jobs.cached_export(settings, CIFAR, ARCH, "onnx", "finetuned")
    assert path is not None and read_metadata(path)["weights"] == "finetuned"
    assert jobs.cached_export(settings, CIFAR, ARCH, "onnx") != path
    at.run()
    _ok(at)
    assert any(b.label == "ONNX (fp32) ✓" for b in at.get("download_button"))
