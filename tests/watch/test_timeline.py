"""The cn–ru cross-correlation of watched narratives and its outlet-shift permutation test."""

from __future__ import annotations

import numpy as np

from detector.watch.timeline import xcorr_p_value, xcorr_peak, xcorr_peaks


def reference_peak(cn: np.ndarray, ru: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The definition, one lag at a time with ``np.corrcoef``: first lag of the highest r."""
    best = (0, float("nan"))
    for lag in range(-max_lag, max_lag + 1):
        if len(cn) - abs(lag) < 3:  # a negative end would wrap
            continue
        a = cn[max(0, -lag) : len(cn) - max(0, lag)]
        b = ru[max(0, lag) : len(ru) - max(0, -lag)]
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if np.isnan(best[1]) or r > best[1] + 1e-12:
            best = (lag, r)
    return best


def test_the_batched_peaks_are_the_one_lag_at_a_time_definition() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        days = int(rng.integers(1, 40))
        cn = rng.poisson(rng.uniform(0.05, 2.0), size=days)
        ru = rng.poisson(rng.uniform(0.05, 2.0), size=days)
        lag, r = xcorr_peak(cn, ru, 7)
        want_lag, want_r = reference_peak(cn, ru, 7)
        if np.isnan(want_r):
            assert np.isnan(r)
            assert lag == 0
        else:
            assert lag == want_lag
            assert abs(r - want_r) < 1e-12


def test_rows_are_scored_independently() -> None:
    rng = np.random.default_rng(4)
    cn, ru = rng.poisson(1.0, size=(6, 20)), rng.poisson(1.0, size=(6, 20))
    cn[2] = 0  # a silent bloc in one row: no correlation there, the others unaffected
    lags, peaks = xcorr_peaks(cn, ru, 5)
    for k in range(6):
        lag, r = xcorr_peak(cn[k], ru[k], 5)
        assert (lags[k], np.isnan(peaks[k])) == (lag, np.isnan(r))
        assert np.isnan(r) or abs(peaks[k] - r) < 1e-15


def test_a_draw_that_rebuilds_the_observed_peak_counts_as_reaching_it() -> None:
    """Ties are as extreme as the observation: a draw whose peak equals the observed one up to
    summation order must count, whichever row of a batch it is computed in."""
    rng = np.random.default_rng(5)
    series = rng.poisson(1.0, size=(4, 25))
    is_cn = np.array([True, True, False, False])
    shifts = np.random.default_rng(9).integers(0, 25, size=(1, 4))[0]
    rolled = np.stack([np.roll(row, s) for row, s in zip(series, shifts, strict=True)])
    _, observed = xcorr_peak(rolled[is_cn].sum(axis=0), rolled[~is_cn].sum(axis=0), 7)
    p = xcorr_p_value(series, is_cn, observed, 7, 1, np.random.default_rng(9))
    assert p == 1.0  # (1 + 1) / (1 + 1): the one draw is the observed series


def test_the_p_value_follows_the_draws_in_order() -> None:
    """One call with ``draws`` draws consumes the generator as ``draws`` calls of one draw would,
    so a batch size is no part of the result."""
    rng = np.random.default_rng(6)
    series = rng.poisson(0.7, size=(6, 30))
    is_cn = np.array([True, False, True, False, True, False])
    _, observed = xcorr_peak(series[is_cn].sum(axis=0), series[~is_cn].sum(axis=0), 7)
    small = xcorr_p_value(series, is_cn, observed, 7, 120, np.random.default_rng(1), batch=7)
    large = xcorr_p_value(series, is_cn, observed, 7, 120, np.random.default_rng(1), batch=120)
    assert small == large
    assert 0 < small <= 1
