"""The units a watchlist is matched against: articles split into passages (the same splitter and
embedding cache as the daily run; over the store, the candidates :mod:`detector.watch.archived`
finds), and their raw scores.

A unit's score for a narrative is its best cosine over the narrative's statements; an article's
is its best unit's, and that unit is the evidence (a paragraph of a long transcript can hit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FAR_PAST = datetime(1900, 1, 1)
FAR_FUTURE = datetime(2200, 1, 1)


@dataclass(frozen=True)
class Units:
    """Articles in scope (row order = ``article_pos``), their passages and passage vectors."""

    articles: pd.DataFrame
    passages: pd.DataFrame
    vectors: np.ndarray


def unit_scores(
    unit_vectors: np.ndarray, statement_vectors: np.ndarray, owner: np.ndarray, n: int
) -> np.ndarray:
    """``(units, n)`` matrix: per unit and narrative, the best cosine over the narrative's
    statements (``owner[j]`` is the narrative of statement ``j``)."""
    sims = unit_vectors @ statement_vectors.T
    out = np.full((len(unit_vectors), n), -np.inf, dtype=np.float32)
    for k in range(n):
        cols = owner == k
        if cols.any():
            out[:, k] = sims[:, cols].max(axis=1)
    return out


def best_per_article(
    scores: np.ndarray, article_pos: np.ndarray, n_articles: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per article and narrative: the best unit score and that unit's row (``-1`` for none)."""
    n = scores.shape[1]
    best = np.full((n_articles, n), -np.inf, dtype=np.float32)
    row = np.full((n_articles, n), -1, dtype=np.int64)
    if len(scores) == 0:
        return best, row
    # Sort units by (article, score) so the last unit of each article is its best.
    for k in range(n):
        order = np.lexsort((scores[:, k], article_pos))
        last = np.r_[np.flatnonzero(np.diff(article_pos[order])), len(order) - 1]
        winners = order[last]
        best[article_pos[winners], k] = scores[winners, k]
        row[article_pos[winners], k] = winners
    return best, row
