"""Promoting a draft space's weights to the name that takes them over (the flagship switch)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from ofa_dash.checkpoints import load_tagged, load_weights, promote_weights, save_weights, state_sha256
from ofa_dash.nn import Supernet
from ofa_dash.predictors.fitted import predictor_meta
from ofa_dash.predictors.measured import read_measured
from ofa_dash.space import get_space
from ofa_dash.store import RunStore
from ofa_dash.workspace import Workspace
from tests.conftest import ROOT

DRAFT = get_space("cifar10-v2")
TAKER = replace(DRAFT, name="cifar10-promoted")  # same layers under another name, as the switch makes it
NARROWER = replace(DRAFT, name="cifar10-narrower", final_expand=512, feature_dim=640)  # a head of another width


@pytest.fixture(scope="module")
def draft_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("draft") / "supernet.pt"
    save_weights(Supernet(DRAFT), path, {"supernet_version": "cifar10-v2-full+kernel", "phases_done": ["full", "kernel"]})
    return path


def test_promoted_weights_load_under_the_new_name_with_a_content_hash_version(draft_weights, tmp_path):
    dst = tmp_path / "supernet.pt"
    version = promote_weights(draft_weights, dst, TAKER)
    net, meta = load_weights(dst, TAKER)
    original, _ = load_weights(draft_weights, DRAFT)
    blob = torch.load(dst, weights_only=True)
    assert version == meta["supernet_version"] == f"cifar10-promoted-{blob['state_sha256'][:12]}"
    assert blob["state_sha256"] == state_sha256(blob["state_dict"])
    assert meta["promoted_from"] == {"space": "cifar10-v2", "version": "cifar10-v2-full+kernel"}
    assert meta["phases_done"] == ["full", "kernel"]
    for key, tensor in original.state_dict().items():
        assert torch.equal(net.state_dict()[key], tensor), key
    with pytest.raises(ValueError, match="space 'cifar10-promoted'"):
        load_weights(dst, DRAFT)  # the old name no longer reads it


def test_promotion_refuses_a_space_whose_layers_differ_and_writes_nothing(draft_weights, tmp_path):
    dst = tmp_path / "supernet.pt"
    with pytest.raises(ValueError, match="does not fit space 'cifar10-narrower'"):
        promote_weights(draft_weights, dst, NARROWER)
    assert not dst.exists()


def test_promotion_keeps_an_existing_file_unless_told(draft_weights, tmp_path):
    dst = tmp_path / "supernet.pt"
    dst.write_bytes(b"shipped")
    with pytest.raises(FileExistsError):
        promote_weights(draft_weights, dst, TAKER)
    assert dst.read_bytes() == b"shipped"
    promote_weights(draft_weights, dst, TAKER, overwrite=True)
    assert json.loads(torch.load(dst, weights_only=True)["meta"])["space"] == "cifar10-promoted"


def test_promotion_refuses_damaged_weights(draft_weights, tmp_path):
    blob = torch.load(draft_weights, weights_only=True)
    key = next(k for k, v in blob["state_dict"].items() if v.is_floating_point())
    blob["state_dict"][key] = blob["state_dict"][key] + 1
    damaged = tmp_path / "damaged.pt"
    torch.save(blob, damaged)
    with pytest.raises(ValueError, match="damaged"):
        promote_weights(damaged, tmp_path / "out.pt", TAKER)
    assert not (tmp_path / "out.pt").exists()


PRECOMPUTED = ROOT / "precomputed"
SHIPPED = Workspace(PRECOMPUTED).space(get_space("cifar10"))


@pytest.mark.skipif(not SHIPPED.supernet.is_file(), reason="the shipped cifar10 supernet is missing")
def test_the_shipped_flagship_and_everything_derived_from_it_agree_on_one_content_hash_version():
    """One consistent set: the version is the hash of the weights a load verifies, and every derived file carries it."""
    space = get_space("cifar10")
    _, meta = load_weights(SHIPPED.supernet, space)
    state = load_tagged(SHIPPED.supernet, "supernet")["state_dict"]
    version = meta["supernet_version"]
    assert version == f"cifar10-{state_sha256(state)[:12]}"
    assert set(read_measured(SHIPPED.measured)["supernet_version"]) == {version}
    assert predictor_meta(SHIPPED.predictor, space)["supernet_version"] == version
    records = RunStore(PRECOMPUTED).measurements("cifar10")
    assert len(records) and set(records["supernet_version"]) == {version}
