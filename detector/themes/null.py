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


def null_note(span_hours: float, guard_hours: float, n_offsets: int) -> str:
    """Why a theme's q is empty or rough; ``""`` when the null had its full draws."""
    if n_offsets == 0:
        days = span_hours / HOURS_PER_DAY
        need = 2 * guard_hours / HOURS_PER_DAY
        return (
            f"period {days:.0f} days: no timing null has power (it needs more than {need:.0f} days: "
            "twice the discovery window plus the lag)"
        )
    return ""


def outlet_shift_p(
    hours: np.ndarray,
    outlets: np.ndarray,
    is_cn: np.ndarray,
    lag_hours: float,
    span_hours: float,
    draws: int,
    rng: np.random.Generator,
) -> float:
    """p-value of a theme's score (distinct cn-ru outlet pairs within ``lag_hours``, see
    :func:`detector.themes.sync.outlet_pairs_within`) when each outlet's members are shifted
    together by an independent uniform offset on the period's circle: every outlet keeps its
    own rate and burst shape, only the outlets' alignment is random (+1 so it is never 0)."""
    names, outlet_of = np.unique(outlets, return_inverse=True)
    cn, ru = np.flatnonzero(is_cn), np.flatnonzero(~is_cn)
    pair_of = outlet_of[cn][:, None] * len(names) + outlet_of[ru][None, :]
    gap = (hours[cn][:, None] - hours[ru][None, :]).ravel()
    pairs, pair_index = np.unique(pair_of.ravel(), return_inverse=True)

    def score(delta: np.ndarray) -> np.ndarray:  # delta: (draws, member pairs) extra gap
        d = np.abs(gap[None, :] + delta) % span_hours
        close = np.minimum(d, span_hours - d) <= lag_hours
        per_pair = np.zeros((len(delta), len(pairs)), dtype=bool)
        rows = np.repeat(np.arange(len(delta)), close.shape[1])
        per_pair[rows[close.ravel()], np.tile(pair_index, len(delta))[close.ravel()]] = True
        counts: np.ndarray = per_pair.sum(axis=1)
        return counts

    observed = score(np.zeros((1, len(gap))))[0]
    shifts = rng.uniform(0, span_hours, size=(draws, len(names)))
    delta = (shifts[:, outlet_of[cn]][:, :, None] - shifts[:, outlet_of[ru]][:, None, :]).reshape(draws, -1)
    null = score(delta)
    return float((1 + np.count_nonzero(null >= observed)) / (1 + draws))


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
