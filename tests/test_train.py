import json
import os
import subprocess
import sys

import pytest
import torch

from ofa_dash.checkpoints import load_weights
from ofa_dash.space import get_space
from tests.conftest import ROOT


def _train(args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "ofa_dash", "train", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_progressive_shrinking_runs_all_phases_and_publishes(tiny_folder, tmp_path):
    out = tmp_path / "out"
    r = _train(
        ["--data", str(tiny_folder), "--recipe", "tiny", "--out", str(out), "--work", str(tmp_path / "w"), "--max-steps", "2", "--threads", "1", "--json"]
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["phases_done"] == ["full", "kernel", "expand-346"]
    manifest = json.loads((out / "train_manifest.json").read_text())
    assert set(manifest["phases"]) == {"full", "kernel", "expand-346"}
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["phase"] for e in log] == ["full", "kernel", "expand-346"]
    assert all("top1_largest" in e and "top1_smallest" in e for e in log)
    _net, meta = load_weights(out / "supernet.pt", get_space("cifar10"))
    assert meta["phases_done"] == ["full", "kernel", "expand-346"]
    # a second run finds nothing to do and changes nothing
    before = (out / "supernet.pt").read_bytes()
    r = _train(["--data", str(tiny_folder), "--recipe", "tiny", "--out", str(out), "--work", str(tmp_path / "w"), "--max-steps", "2"])
    assert r.returncode == 0 and (out / "supernet.pt").read_bytes() == before


def test_phase_by_phase_and_order_is_enforced(tiny_folder, tmp_path):
    out = tmp_path / "out"
    common = ["--data", str(tiny_folder), "--recipe", "tiny", "--out", str(out), "--work", str(tmp_path / "w"), "--max-steps", "2", "--threads", "1"]
    r = _train([*common, "--phases", "kernel"])
    assert r.returncode == 2 and "needs earlier phases ['full']" in r.stderr
    assert not out.exists()
    assert _train([*common, "--phases", "full"]).returncode == 0
    assert json.loads((out / "train_manifest.json").read_text())["phases_done"] == ["full"]
    assert _train([*common, "--phases", "kernel"]).returncode == 0
    assert json.loads((out / "train_manifest.json").read_text())["phases_done"] == ["full", "kernel"]


def test_wrong_checkpoint_is_rejected(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"hello": torch.zeros(1)}, bad)
    import pytest

    with pytest.raises(ValueError, match="not an ofa-dash supernet"):
        load_weights(bad, get_space("cifar10"))
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_weights(bad, get_space("cifar10"))


def test_two_process_gloo_training_ends_with_identical_weights(tiny_folder, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
        "-m", "ofa_dash", "train", "--data", str(tiny_folder), "--recipe", "tiny", "--phases", "full,kernel",
        "--out", str(tmp_path / "out"), "--work", str(tmp_path / "w"), "--max-steps", "2", "--threads", "1",
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    # every epoch compares a checksum of all weights across the two ranks
    assert [(e["phase"], e["world_size"], e["ranks_in_sync"]) for e in log] == [("full", 2, True), ("kernel", 2, True)]
    # the ranks did train: the kernel phase moved the weights away from the published phase-1 weights
    teacher, _ = load_weights(tmp_path / "out" / "teacher.pt", get_space("cifar10"))
    final, _ = load_weights(tmp_path / "out" / "supernet.pt", get_space("cifar10"))
    w = "blocks.0.expand_conv.weight"
    assert not torch.allclose(teacher.state_dict()[w], final.state_dict()[w], atol=1e-4)
    # a published phase leaves no in-phase checkpoint behind
    assert not (tmp_path / "w" / "checkpoint.pt").exists()


def test_a_time_limit_stops_every_rank_after_the_same_step(tiny_folder, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29534",
        "-m", "ofa_dash", "train", "--data", str(tiny_folder), "--recipe", "tiny", "--phases", "full",
        "--out", str(tmp_path / "out"), "--work", str(tmp_path / "w"), "--max-steps", "3", "--threads", "1", "--time-limit", "0.00001",
    ]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "time limit reached" in r.stdout
    ck = torch.load(tmp_path / "w" / "checkpoint.pt", weights_only=True)
    assert (ck["phase"], ck["epoch"], ck["step"]) == ("full", 0, 1)


def test_resume_continues_exactly(tiny_folder, tmp_path):
    common = ["--data", str(tiny_folder), "--recipe", "tiny", "--phases", "full", "--max-steps", "3", "--threads", "1"]
    straight = tmp_path / "straight"
    assert _train([*common, "--out", str(straight), "--work", str(straight / "w")]).returncode == 0
    parted = tmp_path / "parted"
    r = _train([*common, "--out", str(parted), "--work", str(parted / "w"), "--time-limit", "0.00001"])
    assert r.returncode == 0 and "time limit reached" in r.stdout
    assert not (parted / "supernet.pt").exists()
    ck = torch.load(parted / "w" / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 1
    assert _train([*common, "--out", str(parted), "--work", str(parted / "w"), "--resume"]).returncode == 0
    a = torch.load(straight / "supernet.pt", weights_only=True)["state_dict"]
    b = torch.load(parted / "supernet.pt", weights_only=True)["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_asking_for_cuda_without_a_gpu_is_a_clear_error(tiny_folder, tmp_path):
    import pytest

    from ofa_dash.train import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the error path cannot be reached")
    out = tmp_path / "out"
    r = _train(["--data", str(tiny_folder), "--recipe", "tiny", "--out", str(out), "--work", str(tmp_path / "w"), "--max-steps", "1", "--device", "cuda"])
    assert r.returncode == 2 and "sees no CUDA GPU" in r.stderr
    assert not out.exists() and not (tmp_path / "w").exists()


def test_the_cli_starts_without_pymoo(monkeypatch):
    """train and measure run on bare GPU images that have PyTorch but not the search stack."""
    for name in [m for m in sys.modules if m == "pymoo" or m.startswith(("pymoo.", "ofa_dash.search", "ofa_dash.commands"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pymoo", None)
    from ofa_dash.cli import build_parser

    args = build_parser().parse_args(["measure", "--n", "3", "--data", "x", "--device", "cuda", "--engine", "torch"])
    assert (args.command, args.device, args.engine) == ("measure", "cuda", "torch")


def test_a_run_killed_mid_phase_resumes_bit_for_bit(tiny_folder, tmp_path):
    """SIGKILL in the middle of the second phase, resume: the published weights equal an uninterrupted run's."""
    import signal
    import time

    recipe = json.loads((ROOT / "ofa_dash" / "recipes" / "tiny.json").read_text())
    recipe.update(name="tiny-kill", checkpoint_minutes=0)  # a checkpoint after every step
    recipe["phases"] = recipe["phases"][:2]
    recipe_path = tmp_path / "tiny-kill.json"
    recipe_path.write_text(json.dumps(recipe))
    common = ["--data", str(tiny_folder), "--recipe", str(recipe_path), "--max-steps", "6", "--threads", "1"]
    straight = tmp_path / "straight"
    assert _train([*common, "--out", str(straight), "--work", str(straight / "w")]).returncode == 0

    parted = tmp_path / "parted"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "ofa_dash", "train", *common, "--out", str(parted), "--work", str(parted / "w")]
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = parted / "w" / "checkpoint.pt"
    deadline = time.time() + 300
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        try:
            ck = torch.load(ckpt, weights_only=True)
        except Exception:  # not written yet, or the previous one just replaced
            ck = None
        if ck and ck["phase"] == recipe["phases"][1]["name"] and ck["step"] >= 2:
            proc.send_signal(signal.SIGKILL)
            killed_at = ck["step"]
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert killed_at is not None, "the run ended before it could be killed mid-phase"
    assert (parted / "supernet.pt").read_bytes() != (straight / "supernet.pt").read_bytes()  # only phase 1 published
    assert _train([*common, "--out", str(parted), "--work", str(parted / "w"), "--resume"]).returncode == 0
    a = torch.load(straight / "supernet.pt", weights_only=True)["state_dict"]
    b = torch.load(parted / "supernet.pt", weights_only=True)["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    log_a = [json.loads(line)["loss"] for line in (straight / "train_log.jsonl").read_text().splitlines()]
    log_b = [json.loads(line)["loss"] for line in (parted / "train_log.jsonl").read_text().splitlines()]
    assert log_b[-1] == pytest.approx(log_a[-1], rel=1e-6)


def test_damaged_weights_are_a_clear_error_not_wrong_numbers(tmp_path):
    import pytest

    from ofa_dash.checkpoints import save_weights
    from ofa_dash.nn import Supernet

    space = get_space("cifar10")
    path = tmp_path / "supernet.pt"
    save_weights(Supernet(space), path, {"supernet_version": "test"})
    load_weights(path, space)  # intact: loads
    blob = torch.load(path, weights_only=True)
    blob["state_dict"]["head.classifier.weight" if "head.classifier.weight" in blob["state_dict"] else next(iter(blob["state_dict"]))].mul_(0.5)
    torch.save(blob, path)  # same format, altered tensors (what a garbled byte range does to a tensor)
    with pytest.raises(ValueError, match="is damaged"):
        load_weights(path, space)
