"""q-values from decoy scores: the share of flags at a score or better that is expected to be chance.

For a score cut ``t``: the expected number of chance candidates at ``t`` or better is the decoy
candidates at ``t`` or better, scaled by the real run's opportunity over all decoys' opportunity
(:mod:`detector.decoys`); the estimated false-discovery rate is that over the real candidates at
``t`` or better. A candidate's q-value is the smallest estimated FDR of any cut that keeps it,
which makes it monotone in the score (Storey 2002, "A direct approach to false discovery rates";
Benjamini & Hochberg 1995 for the step-up idea), and flagging by ``q <= target_fdr`` keeps the
expected share of chance flags at ``target_fdr``.

Like Elias & Gygi, the estimate is the plain decoy count, not the "+1" of knockoff+ (Barber &
Candès 2015): with the one decoy a week-long fresh store allows, +1 alone sets the q-value of any
run with fewer than about ten candidates above 0.1, so a lone translation could never be flagged.
How many decoy draws the estimate rests on is :attr:`NullEstimate.draws` (summed decoy
opportunity over the real run's); the pipeline warns below one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NullEstimate:
    """What the decoys say about a run's candidates (one ``q_value`` per real candidate)."""

    q_values: np.ndarray
    expected_false: np.ndarray  # per real candidate: chance candidates expected at its score or better
    decoy_scores: np.ndarray
    scale: float  # real opportunity / summed decoy opportunity

    @property
    def draws(self) -> float:
        """How many real runs' worth of chance the decoys saw (summed decoy over real opportunity)."""
        return 1 / self.scale if self.scale > 0 else 0.0

    def resolution(self, q_values: np.ndarray) -> float | None:
        """The q-value the flags at 0 would have if one decoy scored with the weakest of them:
        below it the decoys cannot resolve a q-value (``None`` when no flag is at 0)."""
        at_zero = int(np.sum(np.asarray(q_values) == 0))
        return round(min(1.0, self.scale / at_zero), 4) if at_zero and self.scale > 0 else None

    def expected_at(self, scores: np.ndarray) -> np.ndarray:
        """Chance candidates expected at each of ``scores`` or better: the decoys there, scaled."""
        return at_or_above(self.decoy_scores, scores) * self.scale


def at_or_above(ranked: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """How many of the ascending ``ranked`` are at least each of ``scores``."""
    return len(ranked) - np.searchsorted(ranked, scores, side="left")


def estimate_null(
    scores: np.ndarray, decoy_scores: np.ndarray, real_opportunity: int, decoy_opportunity: int
) -> NullEstimate:
    """q-values of real candidates with ``scores``, against all decoy runs' candidate scores."""
    scores = np.asarray(scores, dtype=float)
    decoys = np.sort(np.asarray(decoy_scores, dtype=float))
    scale = real_opportunity / decoy_opportunity if decoy_opportunity > 0 else float("nan")
    if not len(scores):
        return NullEstimate(np.array([]), np.array([]), decoys, scale)
    expected = at_or_above(decoys, scores) * scale
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    # Real candidates at a score or better (ties count together, as the cut keeps them all).
    real_at = np.searchsorted(-ranked, -ranked, side="right")
    fdr = np.minimum(1.0, expected[order] / real_at)
    q_sorted = np.minimum.accumulate(fdr[::-1])[::-1]  # min over every cut at or below the score
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return NullEstimate(q, expected, decoys, scale)
