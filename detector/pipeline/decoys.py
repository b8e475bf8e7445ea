"""The decoy half of a run: the same clustering and scoring on time-shifted data, for the q-values.

The pool is the run's scope plus the stored articles of up to ``[score] null_span_hours`` before
it (already embedded by earlier runs), so a daily run that covers a few windows still has a span
long enough for valid shifts (:mod:`detector.scoring.decoys`). Each decoy shifts the pool's ru articles,
clusters every window of the shifted pool exactly as the real run clusters its own (no stored
lineage: a decoy has no history) and scores every narrative with the real scorer; only the
candidates' evidence and timing p-values are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from detector.embed.passages import PassageMatcher
from detector.narratives.cluster import CLUSTER_COLUMNS, WindowClusterer
from detector.parallel import Mapper, serial_map
from detector.pipeline.stages import Scope, Stages
from detector.scoring.decoys import Shift, decoy_shifts, opportunity, shifted_seconds
from detector.scoring.score import SyncScorer
from detector.store.store import Store
from detector.times import epoch_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecoyRuns:
    """Every decoy's candidates (``decoy`` = its index), the opportunities, and the shifts used."""

    candidates: pd.DataFrame
    real_opportunity: int
    decoy_opportunity: int
    shifts: list[Shift]
    pool_articles: int

    def summary(self) -> dict[str, object]:
        return {
            "decoys": len(self.shifts),
            "shift_hours": [s.hours for s in self.shifts],
            "period_hours": self.shifts[0].period_hours if self.shifts else None,
            "pool_articles": self.pool_articles,
            "decoy_candidates": len(self.candidates),
            "real_opportunity": self.real_opportunity,
            "decoy_opportunity": self.decoy_opportunity,
        }


def matching_lag_hours(clusterer: WindowClusterer, scorer: SyncScorer) -> float:
    """How far apart two articles can be and still be matched: window length or scorer lag."""
    return float(max(clusterer.window_hours, scorer.max_lag_hours))


def run_decoys(stages: Stages, scope: Scope, db: Store, mapper: Mapper = serial_map) -> DecoyRuns:
    """Cluster and score ``[score] decoys`` time-shifted copies of the run's pool.

    The scope's passages are the run's own (``None`` in article mode); only the history the pool
    adds is split and looked up again.
    """
    lag = matching_lag_hours(stages.clusterer, stages.scorer)
    articles = scope.articles
    real_opportunity = opportunity(epoch_seconds(articles["published_at"]), articles["bloc"].to_numpy(), lag)
    # Off, or no cn–ru pair within the lag to calibrate (the run's warnings say why).
    if not stages.scorer.decoys or not real_opportunity:
        return DecoyRuns(pd.DataFrame(), real_opportunity, 0, [], 0)
    history = decoy_history(db, stages.scorer, articles)
    pool = decoy_pool(stages, scope, db, history)
    seconds = epoch_seconds(pool.articles["published_at"])
    span_hours = float(seconds.max() - seconds.min()) / 3600 if len(pool.articles) else 0.0
    shifts = decoy_shifts(span_hours, lag, stages.scorer.decoys)
    if not shifts:
        log.warning(
            "no decoys: the articles span %.0f h, no more than the matching lag (%.0f h); "
            "q-values are unknown and the timing p-value alone decides",
            span_hours, lag,
        )  # fmt: skip
        return DecoyRuns(pd.DataFrame(), real_opportunity, 0, [], len(pool.articles))
    frames, decoy_opportunity = [], 0
    for number, shift in enumerate(shifts):
        candidates, seen = score_decoy(stages, pool, shift, lag, mapper)
        decoy_opportunity += seen
        if not candidates.empty:
            frames.append(candidates[["narrative_id", "evidence", "p_value"]].assign(decoy=number))
        log.info("decoy %d (ru shifted %.0f h): %d candidates", number, shift.hours, len(candidates))
    if decoy_opportunity < real_opportunity:
        log.warning(
            "the decoys saw %.2f runs' worth of chance pairs (a short pool): q-values are rough",
            decoy_opportunity / max(real_opportunity, 1),
        )
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["evidence", "p_value"])
    return DecoyRuns(found, real_opportunity, decoy_opportunity, shifts, len(pool.articles))


def score_decoy(
    stages: Stages, pool: Scope, shift: Shift, lag: float, mapper: Mapper = serial_map
) -> tuple[pd.DataFrame, int]:
    """One decoy: the pool with its ru articles shifted by ``shift``, clustered window by window
    exactly as the real run clusters (no stored lineage: a decoy has no history) and scored by
    the real scorer; its candidates and its opportunity (cn–ru pairs within ``lag``).

    Pairs at ``[links] republication_similarity`` or more (near-verbatim copies, translations
    included) do not count: a copy is a real link whatever its lag (a republication a week
    later), so it cannot stand for a chance match.
    """
    blocs = pool.articles["bloc"].to_numpy()
    moved = shifted_seconds(epoch_seconds(pool.articles["published_at"]), blocs == "ru", shift)
    order = np.lexsort((pool.articles["id"].to_numpy(), moved))  # time order, ties by feed id
    articles = pool.articles.iloc[order].reset_index(drop=True)
    articles["published_at"] = pd.to_datetime(moved[order], unit="s", utc=True)
    shifted = Scope(articles, pool.vectors[order])  # the pool's passages still match by article id
    clusterer = stages.clusterer
    clusters, _ = clusterer.run(
        articles, shifted.vectors, clusterer.windows(articles["published_at"]),
        lambda _w: pd.DataFrame(columns=CLUSTER_COLUMNS), pool.units(order), mapper,
    )  # fmt: skip
    narratives = shifted.narratives(clusters)
    candidates, _ = stages.scorer.score_all(
        narratives, articles, shifted.vectors, *pool.control(), pool.passages, mapper,
        stages.links.republication_similarity,
    )  # fmt: skip
    return candidates, opportunity(moved, blocs, lag)


def decoy_history(db: Store, scorer: SyncScorer, articles: pd.DataFrame) -> pd.DataFrame:
    """The stored articles of up to ``null_span_hours`` before ``articles`` (those the pool adds)."""
    if articles.empty:
        return articles
    first = articles["published_at"].min()
    start = (first - timedelta(hours=scorer.null_span_hours)).tz_convert(None).to_pydatetime()
    return db.articles_between(start, first.tz_convert(None).to_pydatetime())


def decoy_pool(stages: Stages, scope: Scope, db: Store, history: pd.DataFrame) -> Scope:
    """The scope with ``history`` before it: the history's vectors from the cache and, in passage
    mode, its passages split here (history rows first, as in the pool); the scope's passages as
    the run split and embedded them."""
    if history.empty:
        return scope
    articles = pd.concat([history, scope.articles], ignore_index=True)
    vectors = np.vstack([stages.embedding.vectors(db, history), scope.vectors])
    if scope.passages is None:
        return Scope(articles, vectors)
    older = stages.splitter.passages(history)
    older_vectors = stages.embedding.embed_texts(db, older["text"].tolist())[0]
    recent = scope.passages.passages.assign(article_pos=scope.passages.passages["article_pos"] + len(history))
    passages = PassageMatcher(
        pd.concat([older, recent], ignore_index=True), np.vstack([older_vectors, scope.passages.vectors])
    )
    return Scope(articles, vectors, passages)
