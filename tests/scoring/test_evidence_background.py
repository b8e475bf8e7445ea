"""The pair background's cosines, computed in blocks, equal the one-shot computation bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from detector.scoring.evidence import PAIR_BLOCK, PairBackground, paired_cosines


@pytest.mark.parametrize("pairs", [0, 1, PAIR_BLOCK - 1, PAIR_BLOCK, 3 * PAIR_BLOCK + 17])
def test_blocked_cosines_equal_one_einsum(pairs: int) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((500, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    left, right = rng.integers(0, 500, pairs), rng.integers(0, 500, pairs)
    expected = np.einsum("ij,ij->i", vectors[left], vectors[right])
    got = paired_cosines(vectors, left, right)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


def test_background_draws_the_same_pairs_as_before() -> None:
    """The fit's pooled background is the sorted one-shot cosines of the same seeded draw."""
    rng = np.random.default_rng(3)
    n = 400
    vectors = rng.standard_normal((n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    seconds = np.sort(rng.integers(0, 30 * 86_400, n)).astype(np.int64)
    blocs = np.where(rng.random(n) < 0.5, "cn", "ru")
    languages = np.where(blocs == "cn", "zh", "ru")
    fitted = PairBackground(max_lag_hours=72.0, samples=20_000).fit(seconds, blocs, languages, vectors)
    draw = np.random.default_rng(0)
    cn = np.flatnonzero(blocs == "cn")
    ru = np.flatnonzero(blocs == "ru")
    pick = ru[draw.integers(0, len(ru), 20_000)]
    low = np.searchsorted(seconds[cn], seconds[pick] - 72 * 3600, side="left")
    high = np.searchsorted(seconds[cn], seconds[pick] + 72 * 3600, side="right")
    has = high > low
    pick, low, high = pick[has], low[has], high[has]
    partner = cn[low + (draw.random(len(pick)) * (high - low)).astype(np.int64)]
    expected = np.sort(np.einsum("ij,ij->i", vectors[pick], vectors[partner]))
    assert np.array_equal(fitted.pooled_.ref, expected)
