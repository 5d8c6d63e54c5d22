import json

import numpy as np
import pytest

from ofa_dash.space import DRAFT_SPACES, GENOME_LENGTH, SPACES, Arch, get_space


@pytest.fixture(params=sorted(SPACES))
def space(request):
    return get_space(request.param)


def test_official_space_matches_published_facts():
    s = get_space("ofa-mbv3-w1.2")
    assert s.stem_channels == 24 and s.stem_stride == 2 and s.first_block_channels == 24
    assert [st.channels for st in s.stages] == [32, 48, 96, 136, 192]
    assert [st.stride for st in s.stages] == [2, 2, 2, 1, 2]
    assert [st.act for st in s.stages] == ["relu", "relu", "hswish", "hswish", "hswish"]
    assert [st.se for st in s.stages] == [False, True, False, True, True]
    assert (s.final_expand, s.feature_dim, s.n_classes) == (1152, 1536, 1000)
    assert s.resolutions == (160, 176, 192, 208, 224)


def test_official_w10_space_matches_published_facts():
    """OFA's base widths (16, 24, 40, 80, 112, 160; head 960 -> 1280), the layout and resolutions of w1.2."""
    s, w12 = get_space("ofa-mbv3-w1.0"), get_space("ofa-mbv3-w1.2")
    assert s.stem_channels == 16 and s.stem_stride == 2 and s.first_block_channels == 16
    assert [st.channels for st in s.stages] == [24, 40, 80, 112, 160]
    assert [(st.stride, st.act, st.se) for st in s.stages] == [(st.stride, st.act, st.se) for st in w12.stages]
    assert (s.final_expand, s.feature_dim, s.n_classes) == (960, 1280, 1000)
    assert s.resolutions == w12.resolutions


def test_genome_round_trip(space):
    archs = [*space.sample(50, seed=3), space.largest(), space.smallest()]
    g = space.encode(archs)
    assert g.shape == (52, GENOME_LENGTH) and g.dtype == np.int64
    assert space.decode(g) == archs
    for a in archs:
        assert Arch.from_json(a.to_json()) == a
        assert space.arch_from_id(a.id).id == a.id


def test_sample_is_seeded(space):
    assert space.sample(5, seed=1) == space.sample(5, seed=1)
    assert space.sample(5, seed=1) != space.sample(5, seed=2)


def test_id_is_stable_and_ignores_inactive_slots(space):
    a = space.smallest()
    assert a.id == space.smallest().id
    ks = list(a.ks)
    ks[3] = 7  # slot 3 of stage 1 is inactive at depth 2
    b = Arch(ks=ks, e=a.e, d=a.d, r=a.r)
    assert b.id == a.id and b != a
    ks[0] = 7
    assert Arch(ks=ks, e=a.e, d=a.d, r=a.r).id != a.id
    assert len(a.id) == 16


def test_known_ids_do_not_change():
    s = get_space("ofa-mbv3-w1.2")
    assert s.largest().id == "03ujvv2zx9r7ldhz"
    assert s.smallest().id == "0000000000000003"
    assert get_space("cifar10").largest().id == "03ujvv2zx9r7ldhu"


@pytest.mark.parametrize(
    "field, change, message",
    [
        ("ks", lambda a: {**a, "ks": a["ks"][:-1]}, "ks must have 20 values"),
        ("ks", lambda a: {**a, "ks": [4, *a["ks"][1:]]}, "ks[0] = 4 is not allowed"),
        ("e", lambda a: {**a, "e": [*a["e"][:5], 5, *a["e"][6:]]}, "e[5] = 5 is not allowed"),
        ("d", lambda a: {**a, "d": [1, 2, 3, 4, 4]}, "d[0] = 1 is not allowed"),
        ("r", lambda a: {**a, "r": 33}, "r = 33 is not a resolution"),
    ],
)
def test_invalid_arch_names_field_and_allowed_values(space, field, change, message):
    bad = Arch.from_dict(change(space.largest().to_dict()))
    with pytest.raises(ValueError) as err:
        space.validate(bad)
    assert message in str(err.value)
    assert "allowed" in str(err.value) or "must have" in str(err.value)


def test_invalid_genomes_and_json(space):
    with pytest.raises(ValueError, match="shape"):
        space.decode(np.zeros((2, 45), dtype=int))
    g = space.encode(space.largest())
    g[0, 45] = 99
    with pytest.raises(ValueError, match="gene r allows indices"):
        space.decode(g)
    with pytest.raises(ValueError, match="not valid JSON"):
        space.parse_arch("{nope")
    with pytest.raises(ValueError, match="missing field"):
        space.parse_arch(json.dumps({"ks": [3] * 20}))
    with pytest.raises(ValueError, match="not a subnet id"):
        space.parse_arch("not-an-id!")
    with pytest.raises(ValueError, match="unknown space"):
        get_space("imagenet-9000")


def test_parse_arch_forms(space):
    assert space.parse_arch("largest") == space.largest()
    assert space.parse_arch("smallest") == space.smallest()
    a = space.sample(1, seed=9)[0]
    assert space.parse_arch(a.to_json()) == a
    assert space.parse_arch(a.id).id == a.id


@pytest.mark.parametrize("text", ["{" + "[" * 30000 + "]" * 30000 + "}", '{"ks": [' + "3," * 5000 + "3]}", '{"ks": ' + "[" * 1500 + "]" * 1500 + "}"])
def test_oversized_or_deeply_nested_arch_json_is_a_clear_error(text):
    with pytest.raises(ValueError, match=r"characters long|nested too deeply|not valid JSON|fields must be"):
        get_space("cifar10").parse_arch(text)


def test_spaces_describe_where_their_parts_come_from():
    """The dashboard reads these instead of checking space names."""
    ofa, cifar = get_space("ofa-mbv3-w1.2"), get_space("cifar10")
    assert ofa.needs_official_files and not ofa.trained_here and "checkpoint" in ofa.weights
    assert not cifar.needs_official_files and cifar.trained_here
    w10 = get_space("ofa-mbv3-w1.0")  # OFA's weights, but OFA published no predictor or tables for it
    assert not w10.needs_official_files and not w10.trained_here and "checkpoint" in w10.weights
    assert all(s.summary for s in (*SPACES.values(), *DRAFT_SPACES.values()))
