"""How a theme's two blocs move together: daily volumes, first appearance, leader and lag, the
cross-correlation of the daily cn and ru series, shared bursts, and the score the null ranks.

All times are hours since the Unix epoch (floats); days are whole UTC days since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class ThemeTiming:
    """One theme's synchronisation statistics (``nan``/empty where a bloc has no article)."""

    first_cn: float
    first_ru: float
    leader: str
    lag_hours: float
    xcorr_lag_days: int
    xcorr_peak: float
    burst_days: list[int]


def daily_counts(hours: np.ndarray, first_day: int, n_days: int) -> np.ndarray:
    """Articles per day of ``[first_day, first_day + n_days)``."""
    days = np.floor(hours / HOURS_PER_DAY).astype(np.int64) - first_day
    return np.bincount(days[(days >= 0) & (days < n_days)], minlength=n_days)


def cross_correlation(cn: np.ndarray, ru: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag (days, positive = cn leads) of the peak Pearson correlation of ``cn[t]`` with
    ``ru[t + lag]`` over ``|lag| <= max_lag``, and that peak; ``(0, nan)`` when a series is flat.
    Ties go to the smallest absolute lag, then to the negative one, so the answer is unique."""
    best_lag, best = 0, float("nan")
    for lag in sorted(range(-max_lag, max_lag + 1), key=lambda k: (abs(k), k)):
        a, b = (cn[: len(cn) - lag], ru[lag:]) if lag >= 0 else (cn[-lag:], ru[: len(ru) + lag])
        if len(a) < 2 or a.std() == 0 or b.std() == 0:
            continue
        value = float(np.corrcoef(a, b)[0, 1])
        if np.isnan(best) or value > best + 1e-12:
            best_lag, best = lag, value
    return best_lag, best


def burst_days(cn: np.ndarray, ru: np.ndarray, lag_days: int) -> list[int]:
    """Day offsets on which one bloc is above its own baseline (its mean daily volume over the
    period) and the other bloc is too, on some day within ``lag_days``."""
    above_cn, above_ru = cn > cn.mean(), ru > ru.mean()
    near_cn, near_ru = within_days(above_cn, lag_days), within_days(above_ru, lag_days)
    return [int(d) for d in np.flatnonzero((above_cn & near_ru) | (above_ru & near_cn))]


def within_days(above: np.ndarray, lag_days: int) -> np.ndarray:
    """Per day, whether ``above`` holds on some day within ``lag_days`` of it. Padded, so a period
    shorter than the window keeps its length (``np.convolve(..., "same")`` would return the
    window's)."""
    padded = np.concatenate([np.zeros(lag_days), above.astype(float), np.zeros(lag_days)])
    near: np.ndarray = np.convolve(padded, np.ones(2 * lag_days + 1), mode="valid") > 0
    return near


def theme_timing(
    hours: np.ndarray, outlets: np.ndarray, is_cn: np.ndarray, first_day: int, n_days: int, lag_hours: float
) -> ThemeTiming:
    """The statistics of one theme whose members were published at ``hours`` by ``outlets``
    (``is_cn``: the cn members, the others ru) over the period's ``n_days`` days from ``first_day``."""
    first_cn = float(hours[is_cn].min()) if is_cn.any() else float("nan")
    first_ru = float(hours[~is_cn].min()) if (~is_cn).any() else float("nan")
    # The bloc of the earliest member leads (themes-lab: leader accuracy 0.82 on campaigns_2024;
    # the bloc that starts the largest shared burst measured worse, 7 against 9 campaigns found).
    leader = "ru" if first_ru < first_cn else "cn"
    lag = abs(first_ru - first_cn)
    cn = daily_counts(hours[is_cn], first_day, n_days).astype(float)
    ru = daily_counts(hours[~is_cn], first_day, n_days).astype(float)
    lag_days = max(1, int(np.ceil(lag_hours / HOURS_PER_DAY)))
    xlag, peak = cross_correlation(cn, ru, lag_days)
    return ThemeTiming(
        first_cn,
        first_ru,
        leader,
        lag,
        xlag,
        peak,
        [first_day + d for d in burst_days(cn, ru, lag_days)],
    )


def shared_burst(
    hours: np.ndarray, outlets: np.ndarray, is_cn: np.ndarray, lag_hours: float, span_hours: float
) -> np.ndarray:
    """The theme's score, for each row of ``hours`` (``(draws, members)``: the members' times in
    each draw; one row for the observed theme): over every window of ``lag_hours`` that starts
    at a member (on the circle of ``span_hours``, as the null wraps), the most distinct outlets
    of the weaker bloc, plus (below 1, to break ties) the share of all the theme's outlets in
    that window. Three outlets per bloc within the lag score 3.x; a topic both blocs touch now
    and then scores 1.x. Outlets, not articles, so one prolific outlet cannot make it shared."""
    names, outlet_of = np.unique(outlets, return_inverse=True)
    onehot = np.zeros((len(outlets), len(names)))
    onehot[np.arange(len(outlets)), outlet_of] = 1.0
    best = np.zeros(len(hours))
    for j in range(hours.shape[1]):
        inside = ((hours - hours[:, j : j + 1]) % span_hours) <= lag_hours  # (draws, members)
        cn = ((inside & is_cn) @ onehot > 0).sum(axis=1)
        ru = ((inside & ~is_cn) @ onehot > 0).sum(axis=1)
        share = (inside @ onehot > 0).sum(axis=1) / len(names)
        best = np.maximum(best, np.minimum(cn, ru) + 0.999 * share)
    return best
