"""Time-shifted decoys: an empirical null for cross-bloc content matching, made from the run's own data.

Target–decoy estimation of false discoveries, as in proteomics (Elias & Gygi 2007, "Target-decoy
search strategy for increased confidence in large-scale protein identifications"): search the
real data and a decoy that cannot hold a true match, and read the error rate of a score cut off
the decoy hits. Here *time* is what the decoy breaks. The ``ru`` bloc's timeline is displaced by
more than twice the matching lag, so no cn–ru pair that was near-simultaneous stays so; the same
matching and scoring then run on the displaced data. Whatever they find is similarity that is not
specific to the moment (a recurring topic, a genre, a ceremony every week): chance, by
construction, as far as synchrony is concerned.

The shift scheme. With ``L`` the matching lag (the window length and the scorer's maximum lag,
whichever is larger) and ``S`` the span of the articles, the ru timeline is shifted by ``Δ`` and
wrapped around a period ``P = S + 2L`` (the gap of ``2L`` keeps the wrap from making the end of
the span adjacent to its start). A pair that was at most ``L`` apart is then at least ``Δ - L``
apart, or ``P - Δ - L`` across the wrap, so every ``Δ`` in ``[2L, S]`` is a valid decoy;
``decoys`` shifts are spread evenly over that interval. A span shorter than ``2L`` (but longer
than ``L``) still has one: ``Δ = 2L`` moves nothing across the wrap, and the decoy pairs the last
``S - L`` hours of cn with the first of ru.

Why not a random shuffle of ru times: within a short span most shuffled partners would stay
within the lag, so the decoy would keep finding the real events and inflate the error estimate.
Why the pool reaches back into the store's history (:func:`decoy_shifts` takes the pool's span):
a daily run covers only a few windows, too short for any valid shift (``S < 2L``); the articles
of the previous weeks, already stored and embedded, make the span long enough, and they are the
background the next day's chance matches come from.

Decoy runs differ in how many cn–ru pairs they can even form (the *opportunity*: pairs within
``L`` of each other), so their counts are scaled to the real run's opportunity before they are
compared (:func:`opportunity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.times import HOUR


@dataclass(frozen=True)
class Shift:
    """One decoy: the ru bloc's times moved forward by ``hours``, wrapped around ``period_hours``."""

    hours: float
    period_hours: float


def decoy_shifts(span_hours: float, lag_hours: float, decoys: int) -> list[Shift]:
    """Up to ``decoys`` valid shifts for articles spanning ``span_hours``: one when the span is
    shorter than ``2 × lag_hours``, none when it is at most ``lag_hours`` (no shifted pair would
    be within the lag of another)."""
    low, high = 2 * lag_hours, max(2 * lag_hours, span_hours)
    if decoys <= 0 or span_hours <= lag_hours:
        return []
    period = span_hours + 2 * lag_hours
    hours = [low] if decoys == 1 or high == low else list(np.linspace(low, high, decoys))
    return [Shift(round(float(h), 3), float(period)) for h in hours]


def shifted_seconds(seconds: np.ndarray, shifted: np.ndarray, shift: Shift) -> np.ndarray:
    """``seconds`` (int64 epoch seconds) with the rows marked in ``shifted`` moved by ``shift``,
    wrapped so that they stay within ``[start, start + period)`` of the earliest article."""
    start = int(seconds.min()) if len(seconds) else 0
    out = seconds.copy()
    offset = seconds[shifted] - start + round(shift.hours * HOUR)
    out[shifted] = start + np.mod(offset, round(shift.period_hours * HOUR))
    return out


def opportunity(seconds: np.ndarray, blocs: np.ndarray, lag_hours: float) -> int:
    """How many cn–ru article pairs are at most ``lag_hours`` apart: what a run can match at all."""
    cn = np.sort(seconds[blocs == "cn"])
    ru = seconds[blocs == "ru"]
    lag = round(lag_hours * HOUR)
    return int(
        (np.searchsorted(cn, ru + lag, side="right") - np.searchsorted(cn, ru - lag, side="left")).sum()
    )
