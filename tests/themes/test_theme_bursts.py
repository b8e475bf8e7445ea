"""Shared bursts over a period shorter than the lag window (a run of a day or two): found, not a crash."""

from __future__ import annotations

import numpy as np

from detector.themes.sync import burst_days, within_days


def test_a_period_shorter_than_the_window_keeps_its_length() -> None:
    # Day 0: both blocs above their mean; day 2: ru alone, cn's day-0 burst within 3 days.
    assert burst_days(np.array([1.0, 0.0, 0.0]), np.array([1.0, 0.0, 1.0]), 3) == [0, 2]
    assert within_days(np.array([False, True]), 3).tolist() == [True, True]


def test_on_a_long_period_a_day_is_near_a_burst_within_the_lag_only() -> None:
    above = np.zeros(20, dtype=bool)
    above[10] = True
    assert np.flatnonzero(within_days(above, 2)).tolist() == [8, 9, 10, 11, 12]
