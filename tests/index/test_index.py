from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detector.config import SECTIONS
from detector.errors import ConfigError
from detector.index import (
    KINDS,
    CrossBlocSearcher,
    VectorIndex,
    windowed_search,
)
from detector.times import HOUR


def unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute(q, qt, b, bt, k, lag):
    sims = q @ b.T
    sims[np.abs(qt[:, None] - bt[None, :]) > lag] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


@pytest.mark.parametrize("k", [1, 5, 40])
def test_exact_windowed_search_is_exact(k: int) -> None:
    rng = np.random.default_rng(0)
    base, queries = unit(rng, 500), unit(rng, 120)
    bt = np.sort(rng.integers(0, 20 * 86400, 500))
    qt = rng.integers(0, 20 * 86400, 120)
    got = windowed_search(VectorIndex("flat").fit(base), queries, qt, bt, k, 72 * HOUR)
    want_s, _want_i = brute(queries, qt, base, bt, k, 72 * HOUR)
    finite = np.isfinite(want_s)
    np.testing.assert_allclose(got.similarities[finite], want_s[finite], rtol=1e-5)
    assert (got.ids[~finite] == -1).all()
    lags = np.abs(bt[got.ids[got.ids >= 0]] - np.repeat(qt, (got.ids >= 0).sum(axis=1)))
    assert (lags <= 72 * HOUR).all()


def test_empty_base_and_k_larger_than_base() -> None:
    rng = np.random.default_rng(1)
    q = unit(rng, 3)
    empty = windowed_search(
        VectorIndex("flat").fit(q[:0]), q, np.zeros(3, np.int64), np.zeros(0, np.int64), 5, 10
    )
    assert (empty.ids == -1).all()
    small = windowed_search(
        VectorIndex("flat").fit(q[:2]), q, np.zeros(3, np.int64), np.zeros(2, np.int64), 5, 10
    )
    assert ((small.ids >= 0).sum(axis=1) == 2).all()


def test_duplicate_vectors_are_all_returned() -> None:
    rng = np.random.default_rng(2)
    v = np.repeat(unit(rng, 1), 4, axis=0)
    result = windowed_search(
        VectorIndex("flat").fit(v), v[:1], np.zeros(1, np.int64), np.zeros(4, np.int64), 4, 10
    )
    assert sorted(result.ids[0]) == [0, 1, 2, 3]
    np.testing.assert_allclose(result.similarities[0], 1.0, rtol=1e-5)


def test_cross_bloc_neighbours_never_pair_a_bloc_with_itself() -> None:
    rng = np.random.default_rng(4)
    v = unit(rng, 60)
    blocs = np.array(["cn", "ru", "control"] * 20)
    times = rng.integers(0, 5 * 86400, 60)
    edges = CrossBlocSearcher().neighbours(v, blocs, times, k=3, max_lag_hours=24)
    pairs = set(zip(blocs[edges["source"]], blocs[edges["target"]], strict=True))
    assert pairs == {("cn", "ru"), ("ru", "cn")}
    assert (np.abs(times[edges["source"]] - times[edges["target"]]) <= 24 * HOUR).all()


# --- every index kind against brute force -------------------------------------------------------


def clustered(rng: np.random.Generator, n: int, d: int = 32, centres: int = 20) -> np.ndarray:
    """Unit vectors around a few centres: text embeddings are clustered, random ones are not."""
    c = unit(rng, centres, d)
    return unit_rows(c[rng.integers(0, centres, n)] + 0.3 * unit(rng, n, d))


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_knn(q: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = q @ b.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


# Minimum recall@10 on clustered data per kind; exact kinds must match brute force id for id.
KIND_RECALL = {"flat": 1.0, "ivf": 0.9, "ivf_sq8": 0.85, "hnsw": 0.9}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    both = clustered(np.random.default_rng(10), 3100)
    return both[:3000], both[3000:]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_finds_the_true_neighbours(kind: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    base, queries = data
    index = VectorIndex(kind, nprobe=8, hnsw_ef_search=64).fit(base)
    assert index.kind_ == kind
    got = index.search(queries, 10)
    want_s, want_i = exact_knn(queries, base, 10)
    assert recall_at(got.ids, want_i) >= KIND_RECALL[kind]
    # Reported similarities are the true inner products of the returned rows (8-bit codes: ~1e-2).
    true = np.einsum("qd,qkd->qk", queries, base[got.ids])
    np.testing.assert_allclose(got.similarities, true, atol=0.02 if kind == "ivf_sq8" else 1e-5)
    if kind == "flat":
        np.testing.assert_array_equal(got.ids, want_i)
        np.testing.assert_allclose(got.similarities, want_s, rtol=1e-5)


def test_ivf_probing_every_cell_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    base, queries = data
    index = VectorIndex("ivf").fit(base)
    index.nprobe = index.index_.nlist
    np.testing.assert_array_equal(index.search(queries, 10).ids, exact_knn(queries, base, 10)[1])


def test_auto_is_exact_up_to_its_limit_and_ivf_above(data: tuple[np.ndarray, np.ndarray]) -> None:
    base, _ = data
    assert VectorIndex("auto", auto_exact_max=len(base)).fit(base).kind_ == "flat"
    assert VectorIndex("auto", auto_exact_max=len(base) - 1).fit(base).kind_ == "ivf"
    # A windowed search compares a query with its window only: that is what auto judges by.
    assert VectorIndex("auto", auto_exact_max=100).fit(base, candidates=50).kind_ == "flat"


def test_unknown_kind_names_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"\[index\] kind = 'ivfpq' is not allowed; choose one of \['auto', 'flat'"
    ):
        VectorIndex("ivfpq")


def test_config_kinds_are_the_index_kinds() -> None:
    choices = dataclasses.fields(SECTIONS["index"])[0].metadata["choices"]
    assert set(choices) == {*KINDS, "auto"}


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index_and_k_above_n(kind: str) -> None:
    rng = np.random.default_rng(11)
    empty = VectorIndex(kind).fit(np.zeros((0, 32), np.float32))
    assert empty.kind_ in KINDS
    result = empty.search(unit(rng, 3), 5)
    assert (result.ids == -1).all()
    assert np.isneginf(result.similarities).all()
    small = VectorIndex(kind).fit(unit(rng, 4))
    result = small.search(unit(rng, 3), 6)
    assert ((result.ids >= 0).sum(axis=1) == 4).all()
    assert (result.ids[:, 4:] == -1).all()


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_vectors_are_all_found_by_every_kind(
    kind: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    base = data[0].copy()
    base[[5, 500, 1500, 2999]] = base[5]
    found = VectorIndex(kind, nprobe=8).fit(base).search(base[5:6], 4)
    assert set(found.ids[0]) == {5, 500, 1500, 2999}


def test_wrong_dimension_says_what_was_seen(data: tuple[np.ndarray, np.ndarray]) -> None:
    index = VectorIndex("flat").fit(data[0])
    with pytest.raises(ValueError, match=r"shape \(n, 32\); saw shape \(2, 8\)"):
        index.search(np.zeros((2, 8), np.float32), 1)


def test_search_before_fit_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"call fit\(vectors\) first"):
        VectorIndex().search(np.zeros((1, 4), np.float32), 1)


# --- time and bloc filters ----------------------------------------------------------------------


def brute_windowed(q, qt, b, bt, k, lag):
    sims = (q @ b.T).astype(np.float64)
    sims[np.abs(qt[:, None] - bt[None, :]) > lag] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), np.where(
        np.isfinite(np.take_along_axis(sims, order, axis=1)), order, -1
    )


@pytest.mark.parametrize("kind", KINDS)
def test_windowed_search_respects_the_lag_for_every_kind(
    kind: str, data: tuple[np.ndarray, np.ndarray]
) -> None:
    base, queries = data
    rng = np.random.default_rng(12)
    bt = np.sort(rng.integers(0, 30 * 86400, len(base)))
    qt = rng.integers(0, 30 * 86400, len(queries))
    index = VectorIndex(kind, nprobe=16, hnsw_ef_search=128).fit(base)
    got = windowed_search(index, queries, qt, bt, 10, 48 * HOUR)
    want_i = brute_windowed(queries, qt, base, bt, 10, 48 * HOUR)[1]
    found = got.ids >= 0
    assert (np.abs(bt[got.ids[found]] - qt[np.nonzero(found)[0]]) <= 48 * HOUR).all()
    if kind == "flat":
        np.testing.assert_array_equal(got.ids, want_i)
    else:
        assert recall_at(got.ids, want_i) >= KIND_RECALL[kind] - 0.1


def test_windowed_search_is_exact_when_the_nearest_rows_are_outside_the_window() -> None:
    """Rows inside a bucket's range but outside one query's window crowd its first 2k results;
    the second pass must still find that query's true neighbours."""
    rng = np.random.default_rng(13)
    queries = unit(rng, 2)
    qt = np.array([0, 5 * HOUR])  # one 6 h bucket
    decoys = unit_rows(queries[0] + 0.05 * unit(rng, 50))  # near query 0, visible to query 1 only
    others = unit(rng, 200)
    base = np.vstack([others, decoys])
    bt = np.concatenate([rng.integers(0, HOUR, 200), np.full(50, 5 * HOUR + 1800)])
    order = np.argsort(bt, kind="stable")
    base, bt = base[order], bt[order]
    got = windowed_search(VectorIndex("flat").fit(base), queries, qt, bt, 5, HOUR)
    want_s, want_i = brute_windowed(queries, qt, base, bt, 5, HOUR)
    np.testing.assert_array_equal(got.ids, want_i)
    np.testing.assert_allclose(got.similarities, want_s, rtol=1e-5)


def test_windowed_search_with_rows_out_of_time_order_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    base, queries = data
    rng = np.random.default_rng(14)
    bt = rng.integers(0, 30 * 86400, len(base))  # not sorted: late arrivals in a persisted index
    qt = rng.integers(0, 30 * 86400, len(queries))
    got = windowed_search(VectorIndex("flat").fit(base), queries, qt, bt, 7, 24 * HOUR)
    np.testing.assert_array_equal(got.ids, brute_windowed(queries, qt, base, bt, 7, 24 * HOUR)[1])


@pytest.mark.parametrize("kind", ["flat", "ivf", "auto"])
def test_cross_bloc_searcher_matches_brute_force(kind: str, data: tuple[np.ndarray, np.ndarray]) -> None:
    base, _ = data
    rng = np.random.default_rng(16)
    blocs = rng.choice(np.array(["cn", "ru", "control"]), len(base))
    times = rng.integers(0, 20 * 86400, len(base))
    searcher = CrossBlocSearcher(VectorIndex(kind, nprobe=64, auto_exact_max=10_000))
    edges = searcher.neighbours(base, blocs, times, k=3, max_lag_hours=24)
    cn, ru = np.flatnonzero(blocs == "cn"), np.flatnonzero(blocs == "ru")
    _, want = brute_windowed(base[cn], times[cn], base[ru], times[ru], 3, 24 * HOUR)
    got = edges[blocs[edges["source"]] == "cn"].sort_values(["source", "rank"])
    want_pairs = {(cn[q], ru[r]) for q, r in zip(*np.nonzero(want >= 0), strict=True) for r in [want[q, r]]}
    got_pairs = set(zip(got["source"], got["target"], strict=True))
    assert len(got_pairs & want_pairs) >= (1.0 if kind != "ivf" else 0.9) * len(want_pairs)
    assert set(zip(blocs[edges["source"]], blocs[edges["target"]], strict=True)) == {
        ("cn", "ru"),
        ("ru", "cn"),
    }
