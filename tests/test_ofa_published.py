"""OFA's published MobileNetV3 checkpoints load into the project's supernet and compute what OFA computes.

PyPI's ``ofa`` package is the oracle only (the converter in ``checkpoints`` is the
project's own reading of the names and shapes): its ``OFAMobileNetV3`` gets seeded
random weights, including BN statistics and kernel transform matrices (identity
matrices or fresh BN stats would hide a wrong transform order or a wrong BN slice),
and is saved in the published layout ``{"state_dict": ...}``. For random subnets at
every resolution of the space, five paths must agree on the logits within 1e-4
(fp32, eval): OFA's elastic forward, OFA's extracted subnet, the project's supernet,
its extracted static subnet and that subnet exported to ONNX (ONNX Runtime).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from ofa_dash.checkpoints import load_ofa_published, load_weights, ofa_published_state, save_weights
from ofa_dash.hardware import device_names, load_devices
from ofa_dash.hardware.devices import missing_official_tables
from ofa_dash.nn import Supernet
from ofa_dash.predictors import load_official_predictor
from ofa_dash.predictors.fitted import load_predictor, predictor_report
from ofa_dash.runtime.onnx import onnx_bytes
from ofa_dash.runtime.ort import ort_session
from ofa_dash.space import Arch, SearchSpace, get_space
from tests.apptest_helpers import _app, _ok
from tests.conftest import OFFICIAL

torch.set_num_threads(1)
TOL = 1e-4
N_SUBNETS = 20  # per width, spread over every resolution of the space
N_ONNX = 3  # per width: an export costs about as much as all the forwards of a subnet together
WIDTHS = {"ofa-mbv3-w1.0": 1.0, "ofa-mbv3-w1.2": 1.2}


def _import_oracle() -> type:
    """``OFAMobileNetV3`` from PyPI's ``ofa``; its data utilities import torchvision at import time, so a stub stands in while it loads."""
    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
    saved = {n: sys.modules.get(n) for n in names}
    tv, tr, fn = (types.ModuleType(n) for n in names)
    tr.RandomResizedCrop = type("RandomResizedCrop", (), {})  # ofa subclasses it; no network code uses it
    tr.RandomCrop = type("RandomCrop", (), {})
    tr.functional, tv.transforms = fn, tr
    sys.modules.update(dict(zip(names, (tv, tr, fn), strict=True)))
    try:
        from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3

        return OFAMobileNetV3
    finally:
        for n, module in saved.items():
            if module is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = module


@torch.no_grad()
def _oracle(width: float, seed: int) -> torch.nn.Module:
    """OFA's supernet with seeded random weights everywhere, scaled so that activations neither vanish nor explode through 21 blocks."""
    torch.manual_seed(seed)
    net = _import_oracle()(n_classes=1000, dropout_rate=0.1, width_mult=width, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    g = torch.Generator().manual_seed(seed)
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        if name.endswith("_matrix"):  # kernel transforms: near identity, far enough from it to tell orders apart
            t.copy_(torch.eye(t.shape[0]) + torch.randn(t.shape, generator=g) * 0.1)
        elif name.endswith("running_var"):
            t.copy_(torch.rand(t.shape, generator=g) + 0.5)
        elif name.endswith("running_mean") or name.endswith("bias"):
            t.copy_(torch.randn(t.shape, generator=g) * 0.1)
        elif t.dim() == 1:  # BN scale
            t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
        else:  # conv and linear weights: variance 1 / fan-in (the classifier's x 100, for logits of a few units)
            gain = 10.0 if name.startswith("classifier") else 1.0
            t.copy_(torch.randn(t.shape, generator=g) * gain / t[0].numel() ** 0.5)
    return net.eval()


@pytest.fixture(scope="module", params=sorted(WIDTHS))
def published(request, tmp_path_factory):
    """(space, OFA's network, path of its checkpoint in the published layout)."""
    space = get_space(request.param)
    net = _oracle(WIDTHS[request.param], seed=17)
    path = tmp_path_factory.mktemp("ofa") / f"ofa_mbv3_d234_e346_k357_w{WIDTHS[request.param]}"
    torch.save({"state_dict": net.state_dict()}, path)
    return space, net, path


def _subnets(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    genomes = space.sample_genomes(n, seed=seed)
    genomes[:, -1] = np.arange(n) % len(space.resolutions)  # every resolution, in turn
    return space.decode(genomes)


def test_published_checkpoint_computes_what_ofa_computes(published):
    space, oracle, path = published
    ours = load_ofa_published(path, space)
    assert load_weights(path, space)[0].state_dict().keys() == ours.state_dict().keys()  # --supernet takes either layout
    x_by_r = {r: torch.randn(2, 3, r, r, generator=torch.Generator().manual_seed(r)) for r in space.resolutions}
    worst: dict[str, float] = {}
    for i, arch in enumerate(_subnets(space, N_SUBNETS, seed=5)):
        x = x_by_r[arch.r]
        with torch.no_grad():
            oracle.set_active_subnet(ks=list(arch.ks), e=list(arch.e), d=list(arch.d))
            ref = oracle(x)
            got = {"ofa get_active_subnet": oracle.get_active_subnet(preserve_weight=True).eval()(x)}
            ours.set_active(arch)
            got["project supernet"] = ours(x)
            static = ours.extract(arch)
            got["project static subnet"] = static(x)
        if i < N_ONNX:
            got["project onnx"] = torch.from_numpy(ort_session(onnx_bytes(static, arch.r)).run(None, {"image": x.numpy()})[0])
        assert ref.std() > 0.3  # logits of a few units, so that 1e-4 is a tight bound
        for name, logits in got.items():
            diff = (logits - ref).abs().max().item()
            worst[name] = max(worst.get(name, 0.0), diff)
            assert diff <= TOL, f"{name} differs from OFA's elastic forward by {diff:.2e} on {arch.id} at r={arch.r}"
    print(f"\n{space.name}: max |logit diff| vs OFA's elastic forward over {N_SUBNETS} subnets: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))


def test_the_project_writes_what_ofa_loads(published):
    """The inverse mapping: the project's supernet under OFA's names loads strictly into OFA's network and gives its logits."""
    space, oracle, path = published
    state = ofa_published_state(load_ofa_published(path, space))
    assert state.keys() == oracle.state_dict().keys()
    again = _oracle(WIDTHS[space.name], seed=18)  # other weights, overwritten below
    again.load_state_dict(state, strict=True)
    arch = _subnets(space, 1, seed=9)[0]
    x = torch.randn(1, 3, arch.r, arch.r)
    with torch.no_grad():
        oracle.set_active_subnet(ks=list(arch.ks), e=list(arch.e), d=list(arch.d))
        again.set_active_subnet(ks=list(arch.ks), e=list(arch.e), d=list(arch.d))
        assert torch.equal(again(x), oracle(x))


def test_a_published_checkpoint_is_versioned_by_its_content(published):
    """``--supernet`` may name OFA's file: its version says where it comes from and which bytes it holds."""
    from ofa_dash.files import file_sha256
    from ofa_dash.subnets import load_supernet

    space, _, path = published
    assert load_supernet(space, path).version == f"ofa-published-{file_sha256(path)[:12]}"


def test_checkpoint_of_the_other_width_is_refused(published, tmp_path):
    space, _, path = published
    other = get_space(next(n for n in WIDTHS if n != space.name))
    before = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(ValueError, match=rf"does not match space '{other.name}'.*wrong shape, e\.g\. first_conv\.conv\.weight.*it fits space '{space.name}'"):
        load_ofa_published(path, other)
    assert sorted(p.name for p in path.parent.iterdir()) == before  # nothing written


def test_truncated_checkpoint_is_refused(published, tmp_path):
    _, _, path = published
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="is not a readable OFA's published OFAMobileNetV3 checkpoint"):
        load_ofa_published(cut, published[0])
    assert [p.name for p in tmp_path.iterdir()] == ["cut.pth"]


def test_damaged_or_incomplete_state_dict_names_the_tensors(published, tmp_path):
    space, oracle, _ = published
    state = dict(oracle.state_dict())
    del state["blocks.7.conv.depth_conv.conv.7to5_matrix"]
    state["blocks.3.conv.point_linear.bn.bn.weight"] = state["blocks.3.conv.point_linear.bn.bn.weight"][:-1]
    state["head.extra"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(ValueError) as info:
        load_ofa_published(path, space)
    message = str(info.value)
    assert "\n" not in message
    for part in (
        "1 tensor(s) of the wrong shape",
        "blocks.3.conv.point_linear.bn.bn.weight",
        "missing",
        "blocks.7.conv.depth_conv.conv.7to5_matrix",
        "head.extra",
    ):
        assert part in message


def test_foreign_files_are_refused(tmp_path):
    space = get_space("ofa-mbv3-w1.2")
    cifar = tmp_path / "supernet.pt"
    save_weights(Supernet(get_space("cifar10")), cifar, {"supernet_version": "t"})
    with pytest.raises(ValueError, match=r"is an ofa-dash supernet file \(space 'cifar10'\), not OFA's published"):
        load_ofa_published(cifar, space)
    with pytest.raises(ValueError, match="holds weights for space 'cifar10'"):
        load_weights(cifar, space)
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(3)}}, other)
    with pytest.raises(ValueError, match="is not OFA's published OFAMobileNetV3 checkpoint"):
        load_ofa_published(other, space)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_ofa_published(tmp_path / "absent.pth", space)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.pth", "supernet.pt"]


# --------------------------------------------------------------------------- the w1.0 space downstream
def test_w10_space_takes_no_w12_files_even_when_they_are_there(tmp_path):
    """OFA's Note10 tables and accuracy predictor describe w1.2's layers; w1.0 has the same resolutions, so only the space's fields keep them apart."""
    w10, w12 = get_space("ofa-mbv3-w1.0"), get_space("ofa-mbv3-w1.2")
    assert (OFFICIAL / "acc_predictor.pth").is_file() and (OFFICIAL / "note10" / "160_lookup_table.yaml").is_file()
    assert "note10" in device_names(w12, OFFICIAL, tmp_path)
    assert "note10" not in device_names(w10, OFFICIAL, tmp_path) and "note10" not in load_devices(w10, OFFICIAL, tmp_path)
    assert missing_official_tables(w10, OFFICIAL) is None
    with pytest.raises(FileNotFoundError, match="OFA published none for this space"):
        load_predictor(w10, OFFICIAL, tmp_path)
    with pytest.raises(FileNotFoundError, match="OFA published none for this space"):
        predictor_report(w10, tmp_path, OFFICIAL)
    with pytest.raises(ValueError, match=r"trained for its w1\.2 space"):
        load_official_predictor(w10, OFFICIAL)


@pytest.mark.parametrize("page", ["subnet", "fronts", "search", "devices", "story"])
def test_every_page_draws_the_w10_space(env, monkeypatch, page):
    """Picked in the space picker, w1.0 (no runs, no predictor, no tables, no weights here) draws every page without an error."""
    monkeypatch.setenv("OFA_DASH_OFFICIAL", str(OFFICIAL))  # OFA's w1.2 files present: the case where w1.0 could pick them up
    at = _app().run()
    at.selectbox(key="sb_space").set_value("ofa-mbv3-w1.0").run()
    _ok(at)
    at.switch_page(f"pages/{page}.py").run()
    _ok(at)
    assert at.selectbox(key="sb_space").value == "ofa-mbv3-w1.0"
    assert not at.error, [e.value for e in at.error]
