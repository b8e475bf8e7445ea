"""Synchronisation scoring: which narratives appear in both the ``cn`` and the ``ru`` bloc close
enough in time and meaning to flag, with the evidence an analyst needs.

A narrative is flagged when its best cross-bloc pair of articles (published within
``max_lag_hours`` of each other) is at least as similar as the threshold for that pair's
languages, and each bloc has at least ``min_outlets_per_bloc`` outlets in it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from detector.config import language_pair
from detector.times import epoch_seconds

log = logging.getLogger(__name__)

HOUR = 3600.0


class SyncScorer:
    """Scores narratives that have members in both blocs.

    Parameters
    ----------
    max_lag_hours : the best pair's two articles must be at most this far apart.
    min_similarity : cosine threshold for the best cross-bloc pair.
    min_similarity_by_language_pair : per-pair overrides keyed ``"en-ru"``, ``"ru-zh"`` ...
        (cross-lingual pairs score lower than same-language ones for the same meaning).
    min_outlets_per_bloc : distinct outlets each bloc must contribute.
    """

    def __init__(
        self,
        max_lag_hours: float = 72.0,
        min_similarity: float = 0.5,
        min_similarity_by_language_pair: dict[str, float] | None = None,
        min_outlets_per_bloc: int = 1,
    ) -> None:
        self.max_lag_hours = max_lag_hours
        self.min_similarity = min_similarity
        self.min_similarity_by_language_pair = min_similarity_by_language_pair or {}
        self.min_outlets_per_bloc = min_outlets_per_bloc

    def threshold(self, lang_a: str, lang_b: str) -> float:
        key = language_pair(lang_a, lang_b)
        return float(self.min_similarity_by_language_pair.get(key, self.min_similarity))

    def score(self, narrative_id: str, members: pd.DataFrame, vectors: np.ndarray) -> dict[str, Any] | None:
        """A flag row for one narrative, or ``None`` when it does not qualify.

        ``members`` are the narrative's articles (``id, outlet, bloc, language, published_at,
        title, url``) and ``vectors`` their embeddings in the same order.
        """
        cn = np.flatnonzero(members["bloc"].to_numpy() == "cn")
        ru = np.flatnonzero(members["bloc"].to_numpy() == "ru")
        if not len(cn) or not len(ru):
            return None
        outlets = members.groupby("bloc")["outlet"].nunique()
        if min(outlets.get("cn", 0), outlets.get("ru", 0)) < self.min_outlets_per_bloc:
            return None
        seconds = epoch_seconds(members["published_at"])
        sims = vectors[cn] @ vectors[ru].T
        lags = (seconds[ru][None, :] - seconds[cn][:, None]) / HOUR
        languages = members["language"].to_numpy()
        thresholds = np.array([[self.threshold(languages[i], languages[j]) for j in ru] for i in cn])
        ok = (np.abs(lags) <= self.max_lag_hours) & (sims >= thresholds)
        if not ok.any():
            return None
        margin = np.where(ok, sims - thresholds, -np.inf)
        bi, bj = np.unravel_index(int(np.argmax(margin)), margin.shape)
        best_cn, best_ru = members.iloc[cn[bi]], members.iloc[ru[bj]]
        first_cn = members.iloc[cn[np.argmin(seconds[cn])]]
        first_ru = members.iloc[ru[np.argmin(seconds[ru])]]
        lag = (first_ru["published_at"] - first_cn["published_at"]).total_seconds() / HOUR
        control = members[members["bloc"] == "control"]
        return {
            "narrative_id": narrative_id,
            "score": round(float(sims[bi, bj]), 4),
            "direction": "cn->ru" if lag > 0 else "ru->cn" if lag < 0 else "same time",
            "lag_hours": round(lag, 2),
            "best_similarity": round(float(sims[bi, bj]), 4),
            "best_cn_id": best_cn["id"],
            "best_cn_outlet": best_cn["outlet"],
            "best_cn_published_at": best_cn["published_at"],
            "best_cn_title": _headline(best_cn),
            "best_ru_id": best_ru["id"],
            "best_ru_outlet": best_ru["outlet"],
            "best_ru_published_at": best_ru["published_at"],
            "best_ru_title": _headline(best_ru),
            "best_pair_lag_hours": round(float(lags[bi, bj]), 2),
            "first_cn_id": first_cn["id"],
            "first_cn_outlet": first_cn["outlet"],
            "first_cn_published_at": first_cn["published_at"],
            "first_ru_id": first_ru["id"],
            "first_ru_outlet": first_ru["outlet"],
            "first_ru_published_at": first_ru["published_at"],
            "n_articles": len(members),
            "n_cn": len(cn),
            "n_ru": len(ru),
            "n_control": len(control),
            "outlets_cn": int(outlets.get("cn", 0)),
            "outlets_ru": int(outlets.get("ru", 0)),
            "first_seen": members["published_at"].min(),
            "last_seen": members["published_at"].max(),
        }

    def score_all(
        self, narratives: list[tuple[str, list[int]]], articles: pd.DataFrame, vectors: np.ndarray
    ) -> pd.DataFrame:
        """Flag rows for ``(narrative_id, article row positions)``, most significant first."""
        rows = []
        for nid, positions in narratives:
            row = self.score(nid, articles.iloc[positions].reset_index(drop=True), vectors[positions])
            if row is not None:
                rows.append(row)
        flags = pd.DataFrame(rows)
        if flags.empty:
            return flags
        return flags.sort_values(["score", "narrative_id"], ascending=[False, True], kind="stable")


def _headline(article: pd.Series) -> str:
    title = str(article.get("title") or "").strip()
    return title or " ".join(str(article.get("text") or "").split())[:160]
