"""OFA's specialized subnets read as architectures of their own space, checked against OFA's own ``net.config`` writer.

The oracle is PyPI's ``ofa``: ``OFAMobileNetV3.set_active_subnet`` then
``get_active_subnet().config`` writes exactly the ``net.config`` that OFA
published for its specialized subnets, so reading it back must give the arch
that was set, for both widths.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from apptest_helpers import _app, _ok

from ofa_dash.space import get_space
from ofa_dash.specialized import arch_from_net_config, parse_specialized_name, specialized_subnets
from ofa_dash.ui.references import reference_markers
from tests.conftest import OFFICIAL
from tests.test_ofa_published import WIDTHS, _import_oracle

N_ARCHS = 8  # per width


@pytest.fixture(scope="module")
def oracles():
    """OFA's supernets, one per width (weights do not matter: only the configs are read)."""
    cls = _import_oracle()
    return {
        name: cls(n_classes=1000, dropout_rate=0.1, width_mult=w, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
        for name, w in WIDTHS.items()
    }


def _ofa_config(oracle, arch) -> dict:
    oracle.set_active_subnet(ks=list(arch.ks), e=list(arch.e), d=list(arch.d))
    return json.loads(json.dumps(oracle.get_active_subnet(preserve_weight=False).config))  # as written to net.config


@pytest.mark.parametrize("name", sorted(WIDTHS))
def test_ofa_net_configs_read_back_as_the_arch_that_was_set(oracles, name):
    space = get_space(name)
    for arch in [*space.decode(space.sample_genomes(N_ARCHS, seed=3)), space.largest(), space.smallest()]:
        got = arch_from_net_config(_ofa_config(oracles[name], arch), arch.r, space)
        assert got.id == arch.id and got.d == arch.d and got.r == arch.r


def test_a_net_config_of_the_other_width_is_not_a_subnet(oracles):
    w10, w12 = get_space("ofa-mbv3-w1.0"), get_space("ofa-mbv3-w1.2")
    config = _ofa_config(oracles["ofa-mbv3-w1.2"], w12.largest())
    with pytest.raises(ValueError, match=r"stem width 24 is not ofa-mbv3-w1\.0's 16"):
        arch_from_net_config(config, 224, w10)
    with pytest.raises(ValueError, match=r"r = 100 is not a resolution"):
        arch_from_net_config(_ofa_config(oracles["ofa-mbv3-w1.0"], w10.largest()), 100, w10)
    with pytest.raises(ValueError, match="blocks"):
        arch_from_net_config({"name": "MobileNetV3"}, 224, w10)


def test_specialized_folders_of_a_space_and_why_others_are_not(oracles, tmp_path):
    w10 = get_space("ofa-mbv3-w1.0")
    w12 = get_space("ofa-mbv3-w1.2")
    small = w10.decode(w10.sample_genomes(1, seed=5))[0]
    folders = {
        "note10_lat-16ms_top1-75.5_finetune-25": (_ofa_config(oracles["ofa-mbv3-w1.0"], small), small.r),
        "note10_lat-41ms_top1-79.3_finetune-75": (_ofa_config(oracles["ofa-mbv3-w1.2"], w12.largest()), 224),
        "cpu_lat-10ms_top1-71.1_finetune-25": ("{not json", 160),
    }
    for folder, (config, size) in folders.items():
        (tmp_path / "specialized" / folder).mkdir(parents=True)
        (tmp_path / "specialized" / folder / "net.config").write_text(config if isinstance(config, str) else json.dumps(config))
        (tmp_path / "specialized" / folder / "run.config").write_text(json.dumps({"image_size": size}))
    found, skipped = specialized_subnets(tmp_path, w10)
    assert [(s.name, s.arch.id, s.top1_published, s.budget, s.device) for s in found] == [
        ("note10_lat-16ms_top1-75.5_finetune-25", small.id, 75.5, 16.0, "note10")
    ]
    assert len(skipped) == 2 and any(s.startswith("note10_lat-41ms") and "stem width" in s for s in skipped)
    assert [s.name for s in specialized_subnets(tmp_path, w12)[0]] == ["note10_lat-41ms_top1-79.3_finetune-75"]
    assert specialized_subnets(None, w10) == ([], []) and specialized_subnets(tmp_path / "absent", w10) == ([], [])
    markers = reference_markers(found, "note10")
    assert markers[["x", "y"]].values.tolist() == [[16.0, 75.5]] and markers["id"].tolist() == [small.id]
    assert len(reference_markers(found, "cpu-ort")) == 0


@pytest.mark.skipif(not (OFFICIAL / "specialized").is_dir(), reason="../shared/ofa-official/specialized is absent")
def test_every_published_subnet_belongs_to_at_most_one_space():
    spaces = [get_space("ofa-mbv3-w1.0"), get_space("ofa-mbv3-w1.2")]
    owners: dict[str, list[str]] = {}
    for space in spaces:
        for s in specialized_subnets(OFFICIAL, space)[0]:
            owners.setdefault(s.name, []).append(space.name)
    assert all(len(o) == 1 for o in owners.values()), owners  # never a subnet of both widths
    assert {o[0] for o in owners.values()} == {"ofa-mbv3-w1.0", "ofa-mbv3-w1.2"}  # OFA published subnets of both widths
    # the rest say why: the other width, or an image size outside the space's resolutions (OFA ran some at 220 and 260 px)
    for space in spaces:
        _, skipped = specialized_subnets(OFFICIAL, space)
        assert all(re.search(r"stem width|is not a resolution", line) for line in skipped if line.startswith("note10_")), skipped


def test_specialized_names_parse():
    assert parse_specialized_name("note10_lat-22ms_top1-76.6_finetune-25") == {
        "name": "note10_lat-22ms_top1-76.6_finetune-25",
        "device": "note10",
        "metric": "latency_ms",
        "value": 22.0,
        "top1": 76.6,
        "finetune_epochs": 25,
    }
    assert parse_specialized_name("flops-389M_top1-79.1_finetune-75")["metric"] == "mflops"
    assert parse_specialized_name("1080ti_gpu64-12ms_top1-72.6_finetune-25")["metric"] == "gpu_batch64_ms"
    assert parse_specialized_name("README.md") is None


def test_the_subnet_page_opens_a_specialized_subnet_and_says_what_its_published_top1_is(env, oracles, tmp_path, monkeypatch):
    w10 = get_space("ofa-mbv3-w1.0")
    arch = w10.decode(np.asarray(w10.sample_genomes(1, seed=11)))[0]
    folder = tmp_path / "official" / "specialized" / "note10_lat-16ms_top1-75.5_finetune-25"
    folder.mkdir(parents=True)
    (folder / "net.config").write_text(json.dumps(_ofa_config(oracles["ofa-mbv3-w1.0"], arch)))
    (folder / "run.config").write_text(json.dumps({"image_size": arch.r}))
    monkeypatch.setenv("OFA_DASH_OFFICIAL", str(tmp_path / "official"))
    at = _app().run()
    at.selectbox(key="sb_space").set_value("ofa-mbv3-w1.0").run()
    at.switch_page("pages/subnet.py").run()
    _ok(at)
    picker = at.selectbox(key="sn_specialized_None")
    assert picker.options[1].startswith("note10 16 ms: OFA's top-1 75.5 %")
    picker.set_value(arch.id).run()
    _ok(at)
    assert any(arch.id in s.value for s in at.subheader)
    assert any("OFA published 75.5 % ImageNet top-1" in i.value and "not fine-tuned" in i.value for i in at.info)
