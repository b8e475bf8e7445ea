"""Scoring a scope of the store through the archive index, without loading the scope.

``detector search`` and ``detector track`` calibrate a narrative's scores against its scores over
the whole scope (:mod:`detector.watch.calibrate`); over a year's store that is millions of
passages. Here:

1. **Calibration from a sample.** The tail is fitted on a seeded sample of ``sample_size``
   units of the scope (:func:`detector.store.units.sample_units`: the same sample on every call).
   A scope of at most ``sample_size`` units is sampled whole, so its p-values are those of an
   exact full-scope fit; above, a fit on 50,000 units puts ~2,500 exceedances in the tail.
2. **Candidates from the index.** A unit's corrected score for a narrative is
   ``max_j u·s_j - u·b`` (``s_j`` its statements, ``b`` the mean background statement), i.e. the
   best inner product with a query ``s_j - b``; so the archive index (:mod:`detector.index.archive`)
   ranks units by the corrected score itself. A small scope needs no index: its sample is all of it.
3. **Exact re-scoring.** Candidates are re-scored from the store's float32 vectors. For
   ``track`` a narrative's hits are every unit past its cut, so the index is asked for twice as
   many candidates until fewer than half of them are past the cut (a margin for the codes' error).

The result is a :class:`~detector.watch.units.Units` of the candidate articles and their
candidate passages, which the search and the tracker score exactly as they score a loaded scope.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from scipy import stats

from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageStage
from detector.index.archive import ArchiveIndex, split_key
from detector.sources.registry import OutletRegistry
from detector.store import unit_sample
from detector.store import units as unit_table
from detector.store.store import Store
from detector.watch.calibrate import BACKGROUND, TailCalibrator
from detector.watch.units import FAR_FUTURE, FAR_PAST, Units, unit_scores
from detector.watch.watchlist import Watchlist

log = logging.getLogger(__name__)

SAMPLE_SIZE = 50_000  # units the tail is fitted on (all of a smaller scope)


@dataclass(frozen=True)
class ScopeFacts:
    """What the tracker reports of a scope it did not load: its size and its first and last day."""

    articles: int
    units: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None


@dataclass
class ArchiveScope:
    """The units of ``store`` published in ``[since, until)`` (naive UTC), scored through ``archive``."""

    store: Store
    stage: PassageStage
    registry: OutletRegistry
    archive: ArchiveIndex
    since: datetime | None = None
    until: datetime | None = None
    sample_size: int = SAMPLE_SIZE
    seed: int = unit_sample.SEED
    texts_: tuple[list[str], np.ndarray] | None = field(default=None, init=False, repr=False)

    def queries(
        self, embedding: EmbeddingStage, watchlist: Watchlist, correct: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(statement vectors, background vectors, query vectors, owner)``: a query per statement,
        ``s_j - mean(background)`` when the correction is on."""
        pairs = watchlist.statements()
        owners = {n.id: k for k, n in enumerate(watchlist.narratives)}
        owner = np.array([owners[nid] for nid, _ in pairs])
        texts = [s for _, s in pairs] + list(BACKGROUND)
        # Looked up once per scope: each lookup scans the cache's hash column (60 ms at 1M articles).
        if self.texts_ is None or self.texts_[0] != texts:
            self.texts_ = (texts, embedding.embed_texts(self.store, texts)[0])
        vectors = self.texts_[1]
        statements, background = vectors[: len(pairs)], vectors[len(pairs) :]
        queries = statements - background.mean(axis=0) if correct else statements
        return statements, background, queries, owner

    def calibrated(
        self, calibrator: TailCalibrator, embedding: EmbeddingStage, watchlist: Watchlist
    ) -> tuple[np.ndarray, np.ndarray, ScopeFacts]:
        """Fit ``calibrator`` on the scope's sample; returns the sample's unit ids, its corrected
        scores and the scope's facts."""
        self.archive.sync(self.store, self.stage)
        statements, background, _, owner = self.queries(
            embedding, watchlist, calibrator.background_correction
        )
        since, until = self.since or FAR_PAST, self.until or FAR_FUTURE
        ids, vectors, total = self._sample(embedding.model_id, since, until)
        vectors = vectors if len(ids) else np.zeros((0, statements.shape[1]), dtype=np.float32)
        raw = unit_scores(vectors, statements, owner, len(watchlist))
        corrected = calibrator.corrected(raw, vectors @ background.T)
        calibrator.fit(corrected)
        self.total_ = total
        # Only dates are read: Store.scope_size would also read every text of the scope.
        rows = self.store.con_.execute(
            "SELECT count(*), min(published_at), max(published_at) FROM articles "
            "WHERE published_at >= ? AND published_at < ?",
            [since, until],
        ).fetchall()
        articles, low, high = rows[0] if rows else (0, None, None)
        first, last = (None, None) if low is None else (pd.Timestamp(low), pd.Timestamp(high))
        log.info("archive scope: %d units, tail fitted on %d", total, len(ids))
        return ids, corrected, ScopeFacts(articles, total, first, last)

    def _sample(self, model_id: str, since: datetime, until: datetime) -> tuple[np.ndarray, np.ndarray, int]:
        """The scope's calibration sample: ``(unit ids, vectors, units in scope)``. From the store's
        kept sample (:mod:`detector.store.unit_sample`, one short read) when it holds it, else
        from the cache (which reads every cached vector when the scope is the whole store)."""
        split = split_key(self.stage)
        total = unit_table.scope_count(self.store, split, since, until)
        keep = max(self.sample_size, unit_sample.KEEP)
        if unit_sample.serves(total, keep):
            known = unit_sample.refresh(self.store, model_id, split, self.seed, keep)
            if known is not None:
                kept = unit_sample.scope_sample(self.store, split, known, since, until, self.sample_size)
                if kept is not None:
                    return kept[0], kept[1], total
        return unit_table.sample_units(self.store, model_id, split, since, until, self.sample_size, self.seed)

    def candidates(
        self,
        embedding: EmbeddingStage,
        watchlist: Watchlist,
        calibrator: TailCalibrator,
        sample: tuple[np.ndarray, np.ndarray],
        top: int | None = None,
    ) -> np.ndarray:
        """Unit ids to re-score: per narrative its ``top`` best units (search), or every unit past
        its hit cut (track, ``top=None``)."""
        ids, corrected = sample
        cuts = hit_cuts(calibrator)
        if self.total_ <= len(ids):  # the sample is the scope: exact, no index needed
            if top is not None:
                best = np.argsort(-corrected, axis=0, kind="stable")[: candidate_count(top)]
                keep = np.unique(best.ravel())
            else:
                keep = np.flatnonzero((corrected >= cuts).any(axis=1))
            return ids[keep]
        _, _, queries, owner = self.queries(embedding, watchlist, calibrator.background_correction)
        subset = None
        if self.since is not None or self.until is not None:
            subset = unit_table.units_in_scope(
                self.store, split_key(self.stage), self.since or FAR_PAST, self.until or FAR_FUTURE
            )
        found = [
            self._retrieve(embedding, queries[owner == k], cuts[k], top, subset) for k in range(len(cuts))
        ]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def _retrieve(
        self,
        embedding: EmbeddingStage,
        queries: np.ndarray,
        cut: float,
        top: int | None,
        subset: np.ndarray | None,
    ) -> np.ndarray:
        k = candidate_count(top) if top is not None else 1024
        while True:
            ids = self.archive.search(queries, k, subset)
            ids = np.unique(ids[ids >= 0])
            if top is not None:
                return ids
            kept, vectors = unit_table.vectors_of(self.store, embedding.model_id, ids)
            scores = (vectors @ queries.T).max(axis=1) if len(kept) else np.zeros(0)
            past = int((scores >= cut).sum())
            if past < k // 2 or k >= self.total_:
                return kept[scores >= cut]
            k *= 2

    def units(self, embedding: EmbeddingStage, unit_ids: np.ndarray) -> Units:
        """The candidate units as :class:`Units`: their articles (with ``channel_type``), the
        passages re-split from them (same splitter, hence the same passage at each index) and
        the units' exact vectors."""
        rows = unit_table.unit_rows(self.store, unit_ids)
        articles = unit_table.articles_by_id(self.store, sorted(set(rows["article_id"])))
        articles = articles.reset_index(drop=True)
        articles["channel_type"] = articles["outlet"].map(self.registry.channel_type)
        passages = self.stage.passages(articles)
        wanted = rows.merge(
            passages, left_on=["article_id", "passage_index"], right_on=["article_id", "index"]
        )
        wanted = wanted.sort_values(["article_pos", "index"]).reset_index(drop=True)
        kept, vectors = unit_table.vectors_of(self.store, embedding.model_id, wanted["unit_id"].to_numpy())
        order = pd.Series(np.arange(len(kept)), index=kept).loc[wanted["unit_id"]].to_numpy()
        vectors = vectors[order] if len(kept) else np.zeros((0, 1), dtype=np.float32)
        return Units(articles, wanted.drop(columns=["unit_id", "passage_index"]), vectors)


def candidate_count(top: int) -> int:
    """Units re-scored for ``top`` articles: an article may hold several of the best units."""
    return max(256, 10 * top)


def hit_cuts(calibrator: TailCalibrator) -> np.ndarray:
    """Per narrative, the corrected score at which a unit's tail p-value reaches ``alpha``."""
    cuts = []
    for threshold, shape, scale in calibrator.tail_:
        share = calibrator.alpha / calibrator.tail_share
        cuts.append(
            threshold if share >= 1 else threshold + float(stats.genpareto.isf(share, shape, 0.0, scale))
        )
    # a hair below, so a unit exactly at the cut is not lost to rounding
    return np.nextafter(np.array(cuts, dtype=np.float64), -np.inf)
