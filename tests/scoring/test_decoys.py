"""Decoys, q-values and accumulated evidence: the pieces of the narrative-level null, on their own."""

from __future__ import annotations

import numpy as np
import pytest

from detector.scoring.decoys import HOUR, decoy_shifts, opportunity, shifted_seconds
from detector.scoring.evidence import PairBackground, outlet_evidence
from detector.scoring.fdr import estimate_null


def test_shifts_separate_every_near_simultaneous_pair() -> None:
    rng = np.random.default_rng(0)
    lag = 72.0
    span = 400.0
    seconds = np.sort(rng.uniform(0, span * HOUR, 300)).astype(np.int64)
    is_ru = rng.random(300) < 0.5
    shifts = decoy_shifts(span, lag, 5)
    assert len(shifts) == 5
    assert shifts[0].hours == 2 * lag
    assert shifts[-1].hours == pytest.approx(span)
    cn, ru = seconds[~is_ru], seconds[is_ru]
    close = np.abs(cn[:, None] - ru[None, :]) <= lag * HOUR  # the real near-simultaneous pairs
    assert close.any()
    for shift in shifts:
        moved = shifted_seconds(seconds, is_ru, shift)[is_ru]
        assert moved.min() >= seconds.min()
        assert moved.max() < seconds.min() + shift.period_hours * HOUR
        still_close = np.abs(cn[:, None] - moved[None, :]) <= lag * HOUR
        assert not (close & still_close).any()
        assert still_close.any()  # a decoy still has pairs to match


def test_a_short_span_gets_one_shift_and_a_span_within_the_lag_none() -> None:
    (one,) = decoy_shifts(span_hours=100.0, lag_hours=72.0, decoys=6)
    assert one.hours == 144.0
    seconds = np.array([0, 40, 100], dtype=np.int64) * HOUR
    is_ru = np.array([True, False, False])
    blocs = np.where(is_ru, "ru", "cn")
    assert opportunity(seconds, blocs, 72.0) == 1  # the real pair: ru at 0 h, cn at 40 h
    moved = shifted_seconds(seconds, is_ru, one)
    assert moved[0] == 144 * HOUR  # nothing wraps
    assert opportunity(moved, blocs, 72.0) == 1  # the decoy pair: cn at 100 h, ru now at 144 h
    assert decoy_shifts(span_hours=70.0, lag_hours=72.0, decoys=6) == []
    assert decoy_shifts(span_hours=1000.0, lag_hours=72.0, decoys=0) == []


def test_opportunity_counts_pairs_within_the_lag() -> None:
    seconds = np.array([0, 10, 100, 105], dtype=np.int64) * HOUR
    blocs = np.array(["cn", "ru", "cn", "ru"])
    assert opportunity(seconds, blocs, lag_hours=5) == 1  # (100, 105)
    assert opportunity(seconds, blocs, lag_hours=10) == 2  # and (0, 10)
    assert opportunity(seconds, blocs, lag_hours=1000) == 4


def test_q_values_are_monotone_and_follow_the_decoys() -> None:
    real = np.array([10.0, 9.0, 8.0, 3.0, 2.0, 1.0])
    decoys = np.array([2.5, 1.5, 0.5, 0.2])
    null = estimate_null(real, decoys, real_opportunity=100, decoy_opportunity=200)  # scale 1/2
    assert null.scale == 0.5
    assert null.draws == 2.0
    assert list(null.q_values[:4]) == [0.0] * 4  # no decoy reaches 3.0
    # At 2.0 or better: 5 real, 1 decoy x 0.5 expected -> 0.1.
    assert null.expected_false[4] == pytest.approx(0.5)
    assert null.q_values[4] == pytest.approx(0.1)
    order = np.argsort(-real)
    assert np.all(np.diff(null.q_values[order]) >= 0)


def test_q_values_of_a_null_run_are_high() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(size=200)
    decoys = rng.normal(size=2000)
    null = estimate_null(real, decoys, real_opportunity=1, decoy_opportunity=10)
    assert np.median(null.q_values) > 0.8


def _background() -> PairBackground:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(400, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    seconds = rng.integers(0, 48 * HOUR, 400)
    blocs = np.where(np.arange(400) % 2 == 0, "cn", "ru")
    languages = np.where(blocs == "cn", "en", "ru")
    return PairBackground(max_lag_hours=72, samples=20_000).fit(seconds, blocs, languages, vectors)


def test_evidence_accumulates_over_outlets_not_over_one_article() -> None:
    background = _background()
    strong = float(np.quantile(background.pooled_.ref, 0.999))
    moderate = float(np.quantile(background.pooled_.ref, 0.98))
    keys = np.full((3, 3), "en-ru")
    three = np.full((3, 3), moderate)
    campaign, _ = outlet_evidence(
        three, np.ones((3, 3), bool), np.array(["A", "B", "C"]), np.array(["X", "Y", "Z"]), keys, background
    )
    one_moderate, _ = outlet_evidence(
        three[:1, :1], np.ones((1, 1), bool), np.array(["A"]), np.array(["X"]), keys[:1, :1], background
    )
    one_strong, _ = outlet_evidence(
        np.full((1, 1), strong),
        np.ones((1, 1), bool),
        np.array(["A"]),
        np.array(["X"]),
        keys[:1, :1],
        background,
    )
    star, _ = outlet_evidence(  # three cn outlets against one ru article: one confirmation
        three[:, :1],
        np.ones((3, 1), bool),
        np.array(["A", "B", "C"]),
        np.array(["X"]),
        keys[:, :1],
        background,
    )
    assert campaign > one_strong > one_moderate
    assert star == pytest.approx(one_moderate)


def test_evidence_ignores_pairs_beyond_the_lag() -> None:
    background = _background()
    sims = np.full((1, 1), 0.9)
    evidence, edges = outlet_evidence(
        sims, np.zeros((1, 1), bool), np.array(["A"]), np.array(["X"]), np.full((1, 1), "en-ru"), background
    )
    assert (evidence, edges) == (0.0, 0)
