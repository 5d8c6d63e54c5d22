"""The fine-tune benchmark (issue 19's figure) runs end to end on a tiny supernet and dataset, and reuses finished subnets on --resume."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

from ofa_dash.space import get_space

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("finetune_gain", ROOT / "benchmarks" / "finetune_gain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_median_subnet_takes_every_middle_choice():
    space = get_space("cifar10")
    arch = _bench().median_subnet(space)
    assert set(arch.ks) == {5} and set(arch.e) == {4} and set(arch.d) == {3} and arch.r == sorted(space.resolutions)[(len(space.resolutions) - 1) // 2]


def test_before_and_after_per_subnet_then_reused(supernet_file, tiny_folder, tmp_path, monkeypatch, capsys):
    supernet = shutil.copy(supernet_file, tmp_path / "supernet.pt")  # fine-tuned weights land beside it
    out = tmp_path / "gain.json"
    argv = ["finetune_gain.py", "--supernet", str(supernet), "--data", str(tiny_folder), "--recipe", "tiny", "--epochs", "1"]
    argv += ["--max-steps-per-epoch", "2", "--threads", "1", "--subnets", "smallest,median", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert _bench().main() == 0
    doc = json.loads(out.read_text())
    assert [r["subnet"] for r in doc["rows"]] == ["smallest", "median"] and doc["recipe"] == "tiny"
    for r in doc["rows"]:
        assert 0 <= r["top1_before"] <= 100 and 0 <= r["top1_after"] <= 100 and r["gain"] == round(r["top1_after"] - r["top1_before"], 2)
        assert r["epochs"] == 1 and len(r["curve"]) == 1
    printed = capsys.readouterr().out
    assert "| smallest |" in printed and "issue 19 asks for at least +2" in printed
    monkeypatch.setattr(sys, "argv", [*argv, "--resume"])
    assert _bench().main() == 0
    assert "smallest: finished earlier" in capsys.readouterr().out
    again = json.loads(out.read_text())["rows"]
    drop = lambda rows: [{k: v for k, v in r.items() if k != "wall_minutes_here"} for r in rows]  # noqa: E731
    assert drop(again) == drop(doc["rows"])  # read back from the records, not trained again
