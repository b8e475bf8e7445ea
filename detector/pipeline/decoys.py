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

from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageMatcher, PassageStage
from detector.narratives.cluster import CLUSTER_COLUMNS, WindowClusterer, iter_narratives
from detector.parallel import Mapper, serial_map
from detector.scoring.decoys import Shift, decoy_shifts, opportunity, shifted_seconds
from detector.scoring.score import SyncScorer
from detector.store.store import Store
from detector.times import epoch_seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecoyResult:
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


def run_decoys(
    db: Store,
    clusterer: WindowClusterer,
    scorer: SyncScorer,
    embedding: EmbeddingStage,
    passage_stage: PassageStage | None,
    scope: pd.DataFrame,
    scope_vectors: np.ndarray,
    scope_passages: PassageMatcher | None,
    copy_similarity: float,
    mapper: Mapper = serial_map,
) -> DecoyResult:
    """Cluster and score ``scorer.decoys`` time-shifted copies of the run's pool.

    ``scope_passages`` are the run's own passages (``None`` in article mode); only the history
    the pool adds is split and looked up again.

    Pairs at ``copy_similarity`` or more (``[links] republication_similarity``: near-verbatim
    copies, translations included) do not count in a decoy: a copy is a real link whatever its
    lag (a republication a week later), so it cannot stand for a chance match.
    """
    lag = matching_lag_hours(clusterer, scorer)
    real_opportunity = opportunity(epoch_seconds(scope["published_at"]), scope["bloc"].to_numpy(), lag)
    # Off, or no cn–ru pair within the lag to calibrate (the run's warnings say why).
    if not scorer.decoys or not real_opportunity:
        return DecoyResult(pd.DataFrame(), real_opportunity, 0, [], 0)
    history = decoy_history(db, scorer, scope)
    pool = pd.concat([history, scope], ignore_index=True) if len(history) else scope
    vectors = np.vstack([embedding.vectors(db, history), scope_vectors]) if len(history) else scope_vectors
    seconds = epoch_seconds(pool["published_at"])
    span_hours = float(seconds.max() - seconds.min()) / 3600 if len(pool) else 0.0
    shifts = decoy_shifts(span_hours, lag, scorer.decoys)
    if not shifts:
        log.warning(
            "no decoys: the articles span %.0f h, no more than the matching lag (%.0f h); "
            "q-values are unknown and the timing p-value alone decides",
            span_hours, lag,
        )  # fmt: skip
        return DecoyResult(pd.DataFrame(), real_opportunity, 0, [], len(pool))
    matcher = pool_passages(db, embedding, passage_stage, scope_passages, history)
    units = None if matcher is None else (matcher.vectors, matcher.passages["article_pos"].to_numpy())
    is_ru = (pool["bloc"] == "ru").to_numpy()
    is_control = (pool["bloc"] == "control").to_numpy()
    control, control_vectors = pool[is_control].reset_index(drop=True), vectors[is_control]
    frames, decoy_opportunity = [], 0
    for number, shift in enumerate(shifts):
        moved = shifted_seconds(seconds, is_ru, shift)
        order = np.lexsort((pool["id"].to_numpy(), moved))  # time order, ties by feed id
        articles = pool.iloc[order].reset_index(drop=True)
        articles["published_at"] = pd.to_datetime(moved[order], unit="s", utc=True)
        decoy_opportunity += opportunity(moved, pool["bloc"].to_numpy(), lag)
        decoy_units = None
        if units is not None:
            position = np.empty(len(order), dtype=np.int64)
            position[order] = np.arange(len(order))
            decoy_units = (units[0], position[units[1]])
        windows = clusterer.windows(articles["published_at"])
        clusters, _ = clusterer.run(
            articles, vectors[order], windows, lambda _w: pd.DataFrame(columns=CLUSTER_COLUMNS),
            decoy_units, mapper,
        )  # fmt: skip
        row_of = pd.Series(np.arange(len(articles)), index=articles["id"])
        narratives = [
            (nid, row_of.loc[ids].tolist())
            for nid, ids in iter_narratives(clusters[["narrative_id", "article_id"]])
        ]
        candidates, _ = scorer.score_all(
            narratives, articles, vectors[order], control, control_vectors, matcher, mapper, copy_similarity
        )
        if not candidates.empty:
            frames.append(candidates[["narrative_id", "evidence", "p_value"]].assign(decoy=number))
        log.info("decoy %d (ru shifted %.0f h): %d candidates", number, shift.hours, len(candidates))
    if decoy_opportunity < real_opportunity:
        log.warning(
            "the decoys saw %.2f runs' worth of chance pairs (a short pool): q-values are rough",
            decoy_opportunity / max(real_opportunity, 1),
        )
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["evidence", "p_value"])
    return DecoyResult(found, real_opportunity, decoy_opportunity, shifts, len(pool))


def decoy_history(db: Store, scorer: SyncScorer, scope: pd.DataFrame) -> pd.DataFrame:
    """The stored articles of up to ``null_span_hours`` before the scope (those the pool adds)."""
    if scope.empty:
        return scope
    first = scope["published_at"].min()
    start = (first - timedelta(hours=scorer.null_span_hours)).tz_convert(None).to_pydatetime()
    return db.articles_between(start, first.tz_convert(None).to_pydatetime())


def pool_passages(
    db: Store,
    embedding: EmbeddingStage,
    stage: PassageStage | None,
    scope_passages: PassageMatcher | None,
    history: pd.DataFrame,
) -> PassageMatcher | None:
    """The pool's passages (history rows first, as in the pool): the scope's as the run split and
    embedded them, and the history's split here, their vectors from the cache."""
    if stage is None or scope_passages is None:
        return None
    if history.empty:
        return scope_passages
    older = stage.passages(history)
    older_vectors = embedding.embed_texts(db, older["text"].tolist())[0]
    scope_rows = scope_passages.passages.assign(
        article_pos=scope_passages.passages["article_pos"] + len(history)
    )
    return PassageMatcher(
        pd.concat([older, scope_rows], ignore_index=True), np.vstack([older_vectors, scope_passages.vectors])
    )
