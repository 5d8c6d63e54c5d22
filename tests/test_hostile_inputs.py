"""The shared-server probe, rerun: hostile or broken input gets a clear error, runs nothing and changes nothing on disk."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest

from ofa_dash.cli import main
from tests.conftest import ROOT

PRECOMPUTED = ROOT / "precomputed"


def _tree_digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def evil_dataset(tmp_path_factory):
    """A CIFAR-10 python archive whose first batch runs code when unpickled naively."""
    root = tmp_path_factory.mktemp("evil")
    marker = root / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    good = pickle.dumps({b"labels": [0, 1], b"data": np.zeros((2, 3072), dtype=np.uint8)})
    for name in [f"data_batch_{i}" for i in range(2, 6)] + ["test_batch"]:
        (folder / name).write_bytes(good)
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}))
    return root, marker


def _cases(evil_root, tmp_path):
    shipped = PRECOMPUTED / "cifar10" / "supernet.pt"
    return [
        (["validate", "--arch", "smallest", "--data", str(evil_root)], "is not a CIFAR-10 batch"),
        (["export", "--arch", "smallest", "--format", "onnx", "--out", str(shipped)], "inside the precomputed root"),
        (["export", "--arch", "smallest", "--format", "onnx", "--out", str(shipped), "--force"], "inside the precomputed root"),
        (["validate", "--arch", "{" + '"ks":' + "[" * 30000 + "]" * 30000 + "}", "--data", str(evil_root)], "characters long"),
        (["validate", "--arch", '{"ks": ' + "[" * 1500 + "]" * 1500 + "}", "--data", str(evil_root)], "nested too deeply"),
        (["search", "--algorithm", "nsga2", "--objectives", "error,macs", "--pop", "100000000", "--gens", "2", "--no-store"], "population size"),
        (["validate", "--arch", "smallest", "--data", str(tmp_path / "nowhere")], "does not exist"),
    ]


def test_hostile_cli_inputs_are_clear_errors_that_run_nothing_and_change_nothing(evil_dataset, tmp_path, capsys):
    evil_root, marker = evil_dataset
    before = _tree_digest(PRECOMPUTED)
    for args, message in _cases(evil_root, tmp_path):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse refusing an option is a clear error too
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (args[:3], err[-500:])
        assert message in err and "Traceback" not in err, (args[:3], err[-500:])
    assert not marker.exists()
    assert _tree_digest(PRECOMPUTED) == before


def test_garbled_shipped_weights_are_refused_not_measured(tiny_folder, tmp_path, capsys):
    """4 KB garbled inside the shipped supernet once validated at 10.0 % under the unchanged version."""
    garbled = tmp_path / "supernet.pt"
    data = bytearray((PRECOMPUTED / "cifar10" / "supernet.pt").read_bytes())
    start = len(data) // 2
    data[start : start + 4096] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    garbled.write_bytes(bytes(data))
    code = main(["validate", "--arch", "smallest", "--supernet", str(garbled), "--data", str(tiny_folder), "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2 and ("is damaged" in err or "not a readable" in err), err[-500:]
    assert not (tmp_path / "store").exists()
