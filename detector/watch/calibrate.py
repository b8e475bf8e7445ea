"""Calibrating watched-narrative scores against the store's own background.

No fixed cosine means the same thing across stores, languages and narratives (a statement in
English scores higher with English items than with Chinese ones; a vague statement scores high
with everything), so a hit is decided by how far a score stands out from *this* narrative's
scores over *this* store:

1. **Background correction.** A unit's raw score (best cosine over the narrative's statements)
   minus its mean cosine to a fixed bank of 40 neutral news statements (:data:`BACKGROUND`): a
   hubness correction in the spirit of CSLS. Items that are close to everything (short generic
   headlines, the language the statements are written in) lose their head start. The bank is
   fixed, so one narrative's p-values do not depend on which other narratives are watched.
2. **Empirical null with a fitted tail.** Almost every unit in a store is unrelated to any one
   narrative, so the narrative's corrected scores over all units *are* its null distribution.
   Hits live in the far tail, beyond where empirical ranks resolve, so the tail is modelled
   (peaks over threshold): the exceedances above the ``1 - tail_share`` quantile are fitted with
   a generalised Pareto distribution, giving a unit's tail p-value ``tail_share * sf(excess)``.
3. **An article is as strong as its best passage.** Its p-value is its best unit's, with no
   correction for how many passages it has. Measured on campaigns_2022 at alpha 0.002 (equal
   recall of the injected items in all three): a Šidák correction over the ``m`` passages gave
   2.08 off-target hits per 1,000 articles, over ``sqrt(m)`` effective tests 2.20, none 2.85;
   but any correction loses the biolabs paragraph of the Kremlin's 2022-03-16 transcript
   (p 0.001 uncorrected, 87 passages), and finding such paragraphs is why passages exist. The
   null is fitted over passages, most of which belong to long documents, so ``alpha`` is a rate
   per passage.
4. **The cut.** An article is a hit when its p-value is at most ``alpha``; ``alpha`` is then the
   expected share of background passages that hit (``alpha = 0.002``: measured 2.9 and 3.3
   off-target hits per 1,000 articles and narrative on the 2022 and 2024 campaign feeds).
   Chosen on campaigns_2024, reported on campaigns_2022 (docs/watchlists.md).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import stats

from detector.errors import ConfigError

log = logging.getLogger(__name__)

# Generic news of the kinds that fill the feeds (economy, weather, sport, protocol, science,
# crime, culture), then neutral reports of the war and its diplomacy (talks, aid, refugees,
# sanctions votes): the topic most watched narratives share, stated without any claim. Written
# by us for this purpose; English only: the correction is the same for every narrative, so a
# language offset it leaves is absorbed by step 2. The topical half was added after measuring it
# on campaigns_2024 (recall at alpha 0.002: 0.107 -> 0.115, at 0.005: 0.221 -> 0.262, off-target
# unchanged) and reported on campaigns_2022 (docs/watchlists.md).
BACKGROUND = (
    "The central bank raised interest rates to fight inflation.",
    "The president met the visiting prime minister to discuss trade and investment.",
    "Heavy rain and floods forced thousands of people to leave their homes.",
    "The national football team won the championship final.",
    "A new high-speed railway line opened to passengers.",
    "The government announced support measures for small businesses and farmers.",
    "Scientists launched a satellite into orbit.",
    "The stock market fell sharply amid fears of a recession.",
    "Officials reported new cases of infection and tightened quarantine rules.",
    "The two countries signed an agreement on energy cooperation.",
    "Troops carried out a military operation and shelled several towns.",
    "The foreign ministry spokesperson answered questions at a regular press conference.",
    "Parliament passed a law on taxes and the budget.",
    "Police detained suspects after an attack in the city centre.",
    "The film festival opened with a premiere attended by famous actors.",
    "Prices of gas and oil rose on world markets.",
    "Leaders held talks by telephone and exchanged greetings.",
    "The university hosted an international conference on technology and innovation.",
    "Negotiations between the delegations ended without an agreement.",
    "Schools and hospitals received new equipment under a regional programme.",
    "Farmers harvested a record grain crop this year.",
    "The United Nations Security Council held an emergency meeting.",
    "An earthquake damaged buildings in the mountain region.",
    "The company reported record profits and plans to expand production.",
    "Russian and Ukrainian delegations held another round of peace talks.",
    "The United States announced a new package of military aid to Ukraine.",
    "Refugees from Ukraine crossed the border into Poland.",
    "The European Union agreed on new sanctions against Russia.",
    "Russian forces shelled the city and civilians were killed.",
    "The Kremlin spokesman commented on the course of the special military operation.",
    "NATO foreign ministers met in Brussels.",
    "The price of wheat rose because of the war in Ukraine.",
    "The Ukrainian president addressed the parliament by video link.",
    "Russia's defence ministry reported on the situation at the front.",
    "China called for a ceasefire and dialogue between Russia and Ukraine.",
    "The International Atomic Energy Agency discussed the safety of Ukrainian nuclear plants.",
    "Humanitarian corridors were opened to evacuate civilians.",
    "The United Nations General Assembly voted on a resolution about Ukraine.",
    "Gas supplies from Russia to Europe were reduced.",
    "The G7 leaders discussed support for Ukraine.",
)
# Fewer units than this cannot support a tail fit; a clear error beats a meaningless p-value.
MIN_UNITS = 200


class TailCalibrator:
    """Per-narrative p-values from the store's own score distribution (see the module doc).

    Parameters
    ----------
    alpha : an article hits a narrative when its p-value is at most this.
    tail_share : share of the highest units whose excess is fitted by the generalised Pareto.
    background_correction : subtract each unit's mean cosine to :data:`BACKGROUND` first.
    """

    def __init__(
        self, alpha: float = 0.002, tail_share: float = 0.05, background_correction: bool = True
    ) -> None:
        self.alpha = alpha
        self.tail_share = tail_share
        self.background_correction = background_correction

    def corrected(self, scores: np.ndarray, background: np.ndarray) -> np.ndarray:
        """``scores`` (units x narratives) minus each unit's mean background cosine (step 1)."""
        if not self.background_correction:
            return scores.astype(np.float64)
        corrected: np.ndarray = scores.astype(np.float64) - background.mean(axis=1, keepdims=True)
        return corrected

    def fit(self, corrected: np.ndarray) -> list[tuple[float, float, float]]:
        """Per narrative (column): ``(threshold, shape, scale)`` of the tail fit (step 2)."""
        if len(corrected) < MIN_UNITS:
            raise ConfigError(
                f"only {len(corrected)} passages in scope; calibration needs at least {MIN_UNITS}. "
                "Fix: widen --since/--until, or track over a larger store."
            )
        params = []
        for column in corrected.T:
            threshold = float(np.quantile(column, 1.0 - self.tail_share))
            excess = column[column > threshold] - threshold
            shape, _, scale = stats.genpareto.fit(excess, floc=0.0)
            params.append((threshold, float(shape), float(scale)))
        self.tail_ = params
        return params

    def unit_p_values(self, corrected: np.ndarray) -> np.ndarray:
        """Tail p-value of every unit and narrative (1 below the tail threshold)."""
        out = np.ones(corrected.shape, dtype=np.float64)
        for k, (threshold, shape, scale) in enumerate(self.tail_):
            above = corrected[:, k] > threshold
            excess = corrected[above, k] - threshold
            out[above, k] = self.tail_share * stats.genpareto.sf(excess, shape, 0.0, scale)
        return out
