import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ofa_dash.hardware import count
from ofa_dash.nn import StaticNet, Supernet, recalibrate_bn
from ofa_dash.space import SPACES, get_space


def _randomise_bn(net):
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        if hasattr(m, "transforms"):
            for p in m.transforms.values():
                p.data.add_(torch.randn(p.shape, generator=g) * 0.05)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_extract_matches_supernet_at_every_resolution(name):
    space = get_space(name)
    torch.manual_seed(0)
    net = Supernet(space).eval()
    _randomise_bn(net)
    for ri, r in enumerate(space.resolutions):
        genomes = space.sample_genomes(20, seed=100 + ri)
        genomes[:, -1] = ri
        x = torch.randn(1, 3, r, r)
        for arch in space.decode(genomes):
            with torch.no_grad():
                net.set_active(arch)
                expected = net(x)
                got = net.extract(arch)(x)
            assert (expected - got).abs().max().item() <= 1e-5, (arch.id, r)


def test_extracted_subnet_is_plain_torch():
    space = get_space("cifar10")
    sub = Supernet(space).extract(space.sample(1, seed=4)[0])
    kinds = {type(m).__module__ for m in sub.modules()}
    assert all(k.startswith("torch.nn") or k == "ofa_dash.nn.static" for k in kinds), kinds


@pytest.mark.parametrize("name", sorted(SPACES))
def test_counters_agree_with_torch(name):
    space = get_space(name)
    archs = [*space.sample(6, seed=7), space.largest(), space.smallest()]
    counts = count(space, space.encode(archs))
    for i, arch in enumerate(archs):
        net = StaticNet(space, arch).eval()
        mode = FlopCounterMode(display=False)
        with mode, torch.no_grad():
            net(torch.randn(1, 3, arch.r, arch.r))
        macs = mode.get_total_flops() / 2
        assert abs(counts["macs"][i] - macs) / macs < 0.01
        assert counts["params"][i] == sum(p.numel() for p in net.parameters())
        assert counts["peak_mem"][i] > 0


def test_counters_are_monotone_in_size():
    space = get_space("cifar10")
    c = count(space, space.encode([space.smallest(), space.largest()]))
    assert np.all(c["macs"][0] < c["macs"][1]) and c["params"][0] < c["params"][1] and c["peak_mem"][0] < c["peak_mem"][1]


def test_sort_channels_keeps_the_full_network_function():
    space = get_space("cifar10")
    torch.manual_seed(1)
    net = Supernet(space).eval()
    _randomise_bn(net)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = net(x)
        net.sort_channels()
        after = net(x)
    assert (before - after).abs().max().item() < 1e-4
    block = net.blocks[0]
    imp = block.project_conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(imp[:-1] >= imp[1:])


def test_elastic_kernel_starts_as_centre_crop():
    space = get_space("cifar10")
    block = Supernet(space).blocks[0]
    w7 = block.dw_conv.weight
    assert torch.equal(block.kernel_weight(5, 8), w7[:8, :, 1:6, 1:6])
    assert torch.equal(block.kernel_weight(3, 8), w7[:8, :, 2:5, 2:5])


def test_bn_recalibration_sets_batch_statistics():
    space = get_space("cifar10")
    sub = Supernet(space).extract(space.smallest())
    data = [torch.randn(16, 3, 24, 24) * 3 + 1 for _ in range(4)]
    used = recalibrate_bn(sub, data, max_images=40)
    assert used == 40
    bn = sub.stem[1]
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert not sub.training
    with pytest.raises(ValueError, match="no images"):
        recalibrate_bn(sub, [], max_images=10)
