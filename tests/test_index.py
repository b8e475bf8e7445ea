from __future__ import annotations

import numpy as np
import pytest

from detector.index import CrossBlocSearcher, windowed_knn


def unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute(q, qt, b, bt, k, lag):
    sims = q @ b.T
    sims[np.abs(qt[:, None] - bt[None, :]) > lag] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


@pytest.mark.parametrize("k", [1, 5, 40])
def test_windowed_knn_is_exact(k: int) -> None:
    rng = np.random.default_rng(0)
    base, queries = unit(rng, 500), unit(rng, 120)
    bt = np.sort(rng.integers(0, 20 * 86400, 500))
    qt = rng.integers(0, 20 * 86400, 120)
    got = windowed_knn(queries, qt, base, bt, k, 72 * 3600)
    want_s, _want_i = brute(queries, qt, base, bt, k, 72 * 3600)
    finite = np.isfinite(want_s)
    np.testing.assert_allclose(got.similarities[finite], want_s[finite], rtol=1e-5)
    assert (got.ids[~finite] == -1).all()
    lags = np.abs(bt[got.ids[got.ids >= 0]] - np.repeat(qt, (got.ids >= 0).sum(axis=1)))
    assert (lags <= 72 * 3600).all()


def test_empty_base_and_k_larger_than_base() -> None:
    rng = np.random.default_rng(1)
    q = unit(rng, 3)
    empty = windowed_knn(q, np.zeros(3, np.int64), q[:0], np.zeros(0, np.int64), 5, 10)
    assert (empty.ids == -1).all()
    small = windowed_knn(q, np.zeros(3, np.int64), q[:2], np.zeros(2, np.int64), 5, 10)
    assert ((small.ids >= 0).sum(axis=1) == 2).all()


def test_duplicate_vectors_are_all_returned() -> None:
    rng = np.random.default_rng(2)
    v = np.repeat(unit(rng, 1), 4, axis=0)
    result = windowed_knn(v[:1], np.zeros(1, np.int64), v, np.zeros(4, np.int64), 4, 10)
    assert sorted(result.ids[0]) == [0, 1, 2, 3]
    np.testing.assert_allclose(result.similarities[0], 1.0, rtol=1e-5)


def test_unsorted_base_times_are_refused() -> None:
    rng = np.random.default_rng(3)
    v = unit(rng, 3)
    with pytest.raises(ValueError, match="sorted ascending"):
        windowed_knn(v, np.zeros(3, np.int64), v, np.array([2, 1, 0]), 1, 10)


def test_cross_bloc_neighbours_never_pair_a_bloc_with_itself() -> None:
    rng = np.random.default_rng(4)
    v = unit(rng, 60)
    blocs = np.array(["cn", "ru", "control"] * 20)
    times = rng.integers(0, 5 * 86400, 60)
    edges = CrossBlocSearcher().neighbours(v, blocs, times, k=3, max_lag_hours=24)
    pairs = set(zip(blocs[edges["source"]], blocs[edges["target"]], strict=True))
    assert pairs == {("cn", "ru"), ("ru", "cn")}
    assert (np.abs(times[edges["source"]] - times[edges["target"]]) <= 24 * 3600).all()
