"""How much a narrative's cross-bloc links say, added up over outlets.

Each pair of a cn and a ru outlet in a narrative contributes its best pair of articles within the
lag. How surprising that pair's similarity is comes from the run's own background: the cosines of
random cn–ru article pairs published within the lag of each other, per language pair (cross-lingual
pairs score lower than same-language ones for the same meaning, so one scale for all would favour
same-language pairs). A pair's p-value is its similarity's upper tail in that background; above
the background's 99th percentile, where a sample has too few points to tell a translation from a
loose topical match, the tail is extrapolated as an exponential fitted to the excesses over that
percentile (peaks over threshold with a generalised Pareto of shape 0; Coles 2001, ch. 4).

Outlet pairs are matched one to one (each outlet in at most one counted pair, most surprising
first), so ``k <= min(cn outlets, ru outlets)``: one Kremlin transcript matched by four Chinese
outlets is one confirmation, not four, while three outlets per bloc restating a claim are three.
Their p-values are combined with Fisher's method, ``-2 Σ ln p ~ χ²(2k)`` (Fisher 1932), and the
evidence is ``-log10`` of the combined p-value.

Why Fisher and not a sum of similarities: a sum grows with every outlet pair, so a broad topical
narrative of many outlets (a war, a summit season) outscores one exact translation. Fisher's
combination grows with *surprising* links and pays for unsurprising ones in degrees of freedom:
one translation at p ~ 0.001 gives 3; three outlets per bloc restating a claim at p ~ 0.01 each
give about 4.0; three links of a generic topic at p ~ 0.3 give about 0.5. Pairs are not
independent and a narrative is made of its best pairs, so the evidence is not itself a p-value:
the decoys (:mod:`detector.scoring.decoys`) turn it into an error rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from detector.sources.registry import language_pair
from detector.times import HOUR

MIN_LANGUAGE_PAIRS = 1000  # fewer background pairs than this for a language pair: use all pairs
TAIL_QUANTILE = 0.99  # above this quantile of the background the tail is extrapolated


class PairBackground:
    """Cosine of random cn–ru pairs within the lag, per language pair: the scale of surprise.

    Parameters
    ----------
    max_lag_hours : pairs are drawn among articles at most this far apart (the scorer's lag).
    samples : background pairs drawn.
    random_state : seed of the draw.
    """

    def __init__(self, max_lag_hours: float = 72.0, samples: int = 200_000, random_state: int = 0) -> None:
        self.max_lag_hours = max_lag_hours
        self.samples = samples
        self.random_state = random_state

    def fit(
        self, seconds: np.ndarray, blocs: np.ndarray, languages: np.ndarray, vectors: np.ndarray
    ) -> PairBackground:
        """Draw the background from one run's articles (int64 epoch ``seconds``, in any order)."""
        rng = np.random.default_rng(self.random_state)
        cn = np.flatnonzero(blocs == "cn")
        ru = np.flatnonzero(blocs == "ru")
        cn = cn[np.argsort(seconds[cn], kind="stable")]
        lag = int(self.max_lag_hours * HOUR)
        sims: dict[str, list[np.ndarray]] = {}
        if len(cn) and len(ru):
            pick = ru[rng.integers(0, len(ru), self.samples)]
            low = np.searchsorted(seconds[cn], seconds[pick] - lag, side="left")
            high = np.searchsorted(seconds[cn], seconds[pick] + lag, side="right")
            has = high > low
            pick, low, high = pick[has], low[has], high[has]
            partner = cn[low + (rng.random(len(pick)) * (high - low)).astype(np.int64)]
            cosine = paired_cosines(vectors, pick, partner)
            keys = np.array(
                [language_pair(a, b) for a, b in zip(languages[pick], languages[partner], strict=True)]
            )
            for key in np.unique(keys):
                sims.setdefault(key, []).append(cosine[keys == key])
        pooled = np.sort(np.concatenate([s for v in sims.values() for s in v])) if sims else np.array([])
        self.pooled_ = Tail.of(pooled)
        self.by_language_pair_ = {
            key: Tail.of(np.sort(np.concatenate(v)))
            for key, v in sims.items()
            if sum(map(len, v)) >= MIN_LANGUAGE_PAIRS
        }
        return self

    def tail(self, similarity: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Upper-tail p-value of each ``similarity`` in its language pair's background (the pooled
        background for a rare pair): empirical up to the 99th percentile, exponential beyond."""
        out = np.ones(len(similarity))
        for key in np.unique(pairs):
            rows = pairs == key
            out[rows] = self.by_language_pair_.get(str(key), self.pooled_).p_values(similarity[rows])
        return np.maximum(out, np.finfo(float).tiny)  # an exact copy far out in the tail is not p = 0


# Rows of a pair block: gathering all 200,000 pairs' vectors at once allocates two 400 MB arrays
# (512-d float32) whose first touch costs ~2 s of page faults; blocks of 4,096 cost 0.1 s, and a
# row's dot product is the same whatever block it sits in (tests/scoring/test_evidence_background.py).
PAIR_BLOCK = 4096


def paired_cosines(vectors: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``vectors[left[i]] · vectors[right[i]]`` for every ``i``, in blocks of ``PAIR_BLOCK`` pairs."""
    blocks = [
        np.einsum(
            "ij,ij->i", vectors[left[start : start + PAIR_BLOCK]], vectors[right[start : start + PAIR_BLOCK]]
        )
        for start in range(0, len(left), PAIR_BLOCK)
    ]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=vectors.dtype)


@dataclass(frozen=True)
class Tail:
    """One background's sorted cosines and its exponential tail beyond the 99th percentile (the
    cut and the mean excess over it), derived once when the background is fitted."""

    ref: np.ndarray
    cut: float
    scale: float

    @classmethod
    def of(cls, ref: np.ndarray) -> Tail:
        if not len(ref):
            return cls(ref, np.inf, 1e-3)
        cut = float(np.quantile(ref, TAIL_QUANTILE))
        excess = ref[ref > cut] - cut
        return cls(ref, cut, float(excess.mean()) if len(excess) else 1e-3)

    def p_values(self, values: np.ndarray) -> np.ndarray:
        if not len(self.ref):
            return np.ones(len(values))
        above = len(self.ref) - np.searchsorted(self.ref, values, side="left")
        empirical = (above + 1) / (len(self.ref) + 1)
        beyond = np.maximum(values, self.cut) - self.cut  # 0 where the empirical tail is used
        extrapolated = (1 - TAIL_QUANTILE) * np.exp(-beyond / max(self.scale, 1e-6))
        return np.where(values > self.cut, extrapolated, empirical)


def outlet_evidence(
    sims: np.ndarray,
    within: np.ndarray,
    cn_outlets: np.ndarray,
    ru_outlets: np.ndarray,
    pair_keys: np.ndarray,
    background: PairBackground,
) -> tuple[float, int]:
    """A narrative's evidence (``-log10`` of Fisher's combined p over its outlet pairs) and its
    cross-bloc edges (pairs within the lag whose p-value is at most 0.05).

    ``sims`` is the (cn x ru) similarity grid of its articles, ``within`` marks pairs within the
    lag, ``pair_keys`` the language pair of each cell. Per pair of outlets only its best pair
    counts, so one outlet repeating itself adds nothing, while every further outlet does.
    """
    i, j = np.nonzero(within)
    if not len(i):
        return 0.0, 0
    p = background.tail(sims[i, j], pair_keys[i, j])
    grid = pd.DataFrame({"cn": cn_outlets[i], "ru": ru_outlets[j], "p": p})
    best = grid.groupby(["cn", "ru"], sort=True)["p"].min().sort_values(kind="stable")
    used_cn: set[str] = set()
    used_ru: set[str] = set()
    counted = []
    for (cn, ru), value in best.items():
        if cn not in used_cn and ru not in used_ru:
            used_cn.add(cn)
            used_ru.add(ru)
            counted.append(value)
    statistic = -2.0 * float(np.log(np.array(counted)).sum())
    evidence = -float(chi2.logsf(statistic, 2 * len(counted))) / np.log(10)
    return round(evidence, 4), int(np.count_nonzero(p <= 0.05))
