"""The themes' null: how many themes would score this high if the blocs were not in step.

Decoy periods: the ru units' timestamps are shifted circularly within the period by an offset
too large for any lag the score counts (and for the discovery window), and discovery runs again;
the cn side, its outlets' rates, the ru side's own within-bloc timing and every text are kept.
A theme the decoys reproduce at its score is chance co-occurrence of two blocs' persistent
topics (a narrative both blocs repeat all month is reproduced at any offset, so it is *not*
called synchronised; it is still a theme, with its q). The q-value of a theme is the expected
number of decoy themes at its score or better (per period) over the real themes there
(:func:`detector.scoring.fdr.estimate_null`, the estimate the moment flags use).

Why re-run discovery instead of shifting one theme's members: discovery groups units inside a
week, so every theme is concentrated in time by construction; shifting its members alone would
make every multi-outlet group of a week look synchronised (measured on an unseen feed while
writing issue #26: 14 event-free topics at q <= 0.1). Shifting one bloc as a whole and finding
the themes again keeps that concentration in the null.

Power: an offset must be at least ``window + lag`` away from zero on both sides of the circle,
so a period shorter than twice that has no decoy at all, and then no q-value is given
(``null_note`` says so) rather than one the data cannot support.
"""

from __future__ import annotations

import numpy as np

from detector.scoring.fdr import estimate_null
from detector.themes.sync import shared_burst

HOURS_PER_DAY = 24
NULLS = ("outlet-shift", "rediscover")


def decoy_offsets(span_hours: float, guard_hours: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` offsets (hours) spread evenly over ``[guard, span - guard]``, each jittered by
    the seeded ``rng`` within its slot; empty when that range is empty."""
    room = span_hours - 2 * guard_hours
    if room <= 0 or draws <= 0:
        return np.array([], dtype=float)
    slot = room / draws
    return np.asarray(guard_hours + slot * (np.arange(draws) + rng.uniform(0, 1, draws)), dtype=float)


def shift_hours(
    hours: np.ndarray, shifted: np.ndarray, offset: float, start: float, span: float
) -> np.ndarray:
    """``hours`` with the rows ``shifted`` moved by ``offset`` on the circle ``[start, start + span)``."""
    out = hours.astype(float, copy=True)
    out[shifted] = start + (out[shifted] - start + offset) % span
    return out


def q_and_p(scores: np.ndarray, decoy_scores: np.ndarray, draws: int) -> tuple[np.ndarray, np.ndarray]:
    """Per real theme: its q-value (expected decoy themes at its score or better over real ones)
    and an empirical p-value (the share of decoy themes scoring at least as high, with +1 so it
    is never 0: Phipson & Smyth 2010). A score of 0 (no cross-bloc outlet pair in time, or a
    shared news event) is never significant: q and p 1."""
    estimate = estimate_null(scores, decoy_scores, 1, draws)
    ranked = np.sort(np.asarray(decoy_scores, dtype=float))
    above = len(ranked) - np.searchsorted(ranked, scores, side="left")
    p = (1 + above) / (1 + len(ranked))
    zero = np.asarray(scores) <= 0
    return np.where(zero, 1.0, estimate.q_values), np.where(zero, 1.0, p)


def null_note(span_hours: float, min_days: int) -> str:
    """Why the period's themes have no q-value; ``""`` when the null has power."""
    days = span_hours / HOURS_PER_DAY
    if days >= min_days:
        return ""
    return (
        f"period {days:.0f} days: no timing null has power (outlet shifts over fewer than "
        f"{min_days} days cannot make a shared burst rare)"
    )


def outlet_shift_p(
    hours: np.ndarray,
    outlets: np.ndarray,
    is_cn: np.ndarray,
    lag_hours: float,
    span_hours: float,
    draws: int,
    rng: np.random.Generator,
) -> float:
    """p-value of a theme's shared burst (:func:`detector.themes.sync.shared_burst`) when each
    outlet's members are shifted together by an independent uniform offset on the circle of the
    period the theme was discovered in: every outlet keeps its own rate and burst shape, only the
    outlets' alignment is random (+1 so it is never 0: Phipson & Smyth 2010)."""
    _, outlet_of = np.unique(outlets, return_inverse=True)
    observed = shared_burst(hours[None, :], outlets, is_cn, lag_hours, span_hours)[0]
    shifts = rng.uniform(0, span_hours, size=(draws, int(outlet_of.max()) + 1))
    null = shared_burst(hours[None, :] + shifts[:, outlet_of], outlets, is_cn, lag_hours, span_hours)
    return float((1 + np.count_nonzero(null >= observed - 1e-9)) / (1 + draws))


def bh_q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of ``p`` (monotone, at most 1)."""
    p = np.asarray(p, dtype=float)
    if not len(p):
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(q)
    out[order] = q
    return out
