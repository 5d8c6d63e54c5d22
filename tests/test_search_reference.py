"""Issue 21's yardsticks: the archive keeps exactly the non-dominated distinct networks (it is merged
first on objectives, then on genomes), and the 100x-budget reference builder is deterministic and
counts every evaluation it spends."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from search_toys import toy_objectives

from ofa_dash.search.algorithms import DEFAULT_LOCAL_SEARCH, OFA2_PROTOCOL
from ofa_dash.search.archive import Archive, nondominated
from ofa_dash.search.fast import active_mask
from ofa_dash.search.operators import unique_rows
from ofa_dash.space import N_SLOTS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def toy():
    return toy_objectives()


@pytest.fixture(scope="module")
def reference_module():
    spec = importlib.util.spec_from_file_location("search_reference", ROOT / "benchmarks" / "search_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _naive_archive(space, X: np.ndarray, F: np.ndarray) -> set[tuple]:
    """The definition: canonical spellings, distinct networks, then the non-dominated ones."""
    X = space.canonical(X)
    keep = unique_rows(X)
    X, F = X[keep], F[keep]
    nd = nondominated(F)
    return {(tuple(x), tuple(f)) for x, f in zip(X[nd], F[nd], strict=True)}


def test_archive_keeps_the_nondominated_distinct_networks(toy):
    space = toy.space
    X = space.sample_genomes(400, seed=2)
    X = np.concatenate([X, X[:50]])  # the same genomes again
    respelled = X[:50].copy()
    off = ~active_mask(space, respelled)  # a switched-off slot's genes do not change the network
    respelled[:, :N_SLOTS] = np.where(off, (respelled[:, :N_SLOTS] + 1) % 3, respelled[:, :N_SLOTS])
    assert off.any() and not np.array_equal(respelled, X[:50])
    X = np.concatenate([X, respelled])
    F = toy(X)
    archive = Archive(space, toy.n_obj)
    for part in np.array_split(np.arange(len(X)), 7):  # batches merged one at a time, as a run feeds it
        archive.add(X[part], F[part])
        archive.update()
    got = {(tuple(x), tuple(f)) for x, f in zip(archive.X, archive.F, strict=True)}
    assert got == _naive_archive(space, X, F)
    assert len(got) == len(archive.X)  # no network twice
    assert np.all(np.diff(archive.F[:, 0]) >= 0)  # sorted by the first objective
    assert archive.n_seen == len(X)


def test_reference_builder_is_deterministic_and_counts_its_evaluations(toy, reference_module):
    calls = [0]

    def counted(X):
        calls[0] += len(X)
        return toy(X)

    counted.n_obj = toy.n_obj
    configs = {"spread": (1, 4, 0.25, 1, 2_000), "error": (2, 3, 1.0, 2, 2_000)}
    err = list(toy.names).index("error")
    a = reference_module.build_reference(toy.space, counted, err, configs, pls_cap=3_000, log=lambda _: None)
    assert a["evaluations"] == calls[0]  # every genome the builder evaluated is counted
    assert all(e["pls_evals"] <= 2_000 for e in a["configs"]) and a["final_pass"]["evals"] <= 3_000
    b = reference_module.build_reference(toy.space, counted, err, configs, pls_cap=3_000, log=lambda _: None)
    np.testing.assert_array_equal(a["F"], b["F"])
    assert len(nondominated(a["F"])) == len(a["F"])
    for e in a["configs"]:  # the union is at least as good as each configuration's own front
        assert e["min_error"] >= a["F"][:, err].min()


def test_reference_thinning_keeps_both_ends(reference_module):
    F = np.c_[np.arange(1000.0), -np.arange(1000.0)]
    T = reference_module.thin(F, 300)
    assert len(T) == 300 and T[0].tolist() == [0.0, 0.0] and T[-1].tolist() == [999.0, -999.0]
    assert len(reference_module.thin(F[:10], 300)) == 10


def test_default_local_search_and_the_ofa2_protocol():
    """The tuned default (docs/notes/search.md, issue 21); the reproduction keeps local search off."""
    d = DEFAULT_LOCAL_SEARCH
    assert (d.climbs, d.climb_weights, d.kick_rounds, d.max_evals, d.ga_share) == (40, "error", 0, 100_000, 0.05)
    assert (d.memetic_evals, d.memetic_diverse, d.ls_batch, d.screen_tolerance) == (14_000, True, 15, 0.1)
    assert (d.capped_climbers, d.cap_fractions, d.capped_evals) == (16, (0.8, 0.9), 8_000)
    assert OFA2_PROTOCOL["local_search"] == "none"
