"""The L2 evictor used before timed OpenVINO layer runs: its size comes from sysfs, and each call writes the whole buffer."""

import numpy as np
import pytest

from ofa_dash.hardware.cold_cache import DEFAULT_L2_BYTES, CacheEvictor, l2_bytes


def _cache_dir(tmp_path, levels_sizes):
    for i, (level, size) in enumerate(levels_sizes):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "size").write_text(f"{size}\n")
    return tmp_path


def test_l2_size_is_read_from_sysfs(tmp_path):
    assert l2_bytes(_cache_dir(tmp_path, [(1, "48K"), (1, "32K"), (2, "1024K"), (3, "32768K")])) == 1 << 20


def test_l2_size_falls_back_where_sysfs_has_none(tmp_path):
    assert l2_bytes(tmp_path / "missing") == DEFAULT_L2_BYTES
    assert l2_bytes(_cache_dir(tmp_path, [(2, "big")])) == DEFAULT_L2_BYTES


def test_evictor_writes_every_byte_of_its_buffer():
    evict = CacheEvictor(1 << 16)
    assert evict.n_bytes == 1 << 16
    evict()
    evict()
    assert np.all(evict.buffer == 2.0)
    with pytest.raises(ValueError, match="at least 8 bytes"):
        CacheEvictor(4)
