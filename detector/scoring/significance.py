"""Permutation test: is the cn and ru coverage of a narrative this close in time by chance?

Statistic: the absolute lag between the first ``cn`` and the first ``ru`` appearance. Null model:
each outlet's articles in the narrative keep their spacing but the outlet as a whole is shifted by
an independent uniform offset within ``± span/2`` (a month by default), i.e. "had every outlet
covered this story at a random time of the month". The p-value is the share of draws whose lag
is at most the observed one, with the +1 correction so it is never 0 (Phipson & Smyth 2010).

Why per-outlet shifts and not per-article shuffles: articles of one outlet on one story come in
bursts (a headline, a follow-up, a commentary); shuffling them one by one would make any burst
look significant.
"""

from __future__ import annotations

import hashlib

import numpy as np


def narrative_seed(seed: int, narrative_id: str) -> int:
    """A per-narrative seed, so a p-value does not depend on which other narratives were scored."""
    digest = hashlib.sha256(f"{seed}\x1f{narrative_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def lag_p_value(
    outlet_first_hours: np.ndarray,
    outlet_is_cn: np.ndarray,
    observed_lag_hours: float,
    span_hours: float,
    draws: int,
    rng: np.random.Generator,
) -> float:
    """p-value of ``|first cn − first ru| <= observed`` under independent outlet shifts.

    ``outlet_first_hours`` is each outlet's first appearance in the narrative (hours, any origin);
    ``outlet_is_cn`` marks cn outlets (the others are ru).
    """
    shifts = rng.uniform(-span_hours / 2, span_hours / 2, size=(draws, len(outlet_first_hours)))
    shifted = outlet_first_hours[None, :] + shifts
    first_cn = np.where(outlet_is_cn[None, :], shifted, np.inf).min(axis=1)
    first_ru = np.where(~outlet_is_cn[None, :], shifted, np.inf).min(axis=1)
    as_close = np.count_nonzero(np.abs(first_cn - first_ru) <= abs(observed_lag_hours))
    return (1 + as_close) / (1 + draws)
