"""Tracking watched narratives over a store: calibrated hits, per-bloc timelines, lead/lag.

Every article and passage in scope is scored against every watched narrative (best cosine over
its statements), corrected and calibrated per narrative against the scope's own background
(:mod:`detector.watch.calibrate`); articles whose p-value is at most ``alpha`` are hits, with
their best passage as the evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import numpy as np
import pandas as pd

from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageStage
from detector.index.archive import ArchiveIndex
from detector.params import Constraint, Interval, validate_params
from detector.sources.registry import OutletRegistry
from detector.store.store import Store
from detector.watch.archived import ArchiveScope, ScopeFacts
from detector.watch.calibrate import BACKGROUND, TailCalibrator
from detector.watch.timeline import DAILY_COLUMNS, SUMMARY_COLUMNS, LeadLag
from detector.watch.units import Units, best_per_article, unit_scores
from detector.watch.watchlist import Watchlist

log = logging.getLogger(__name__)

HIT_COLUMNS = [
    "watch_id", "watch_name", "rank", "id", "outlet", "bloc", "channel_type", "language", "published_at",
    "title", "url", "p_value", "score", "similarity", "statement", "passage_kind", "passage",
    "passage_start", "passage_end",
]  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Which hits are reported. Time bounds are naive UTC; empty tuples keep everything."""

    since: datetime | None = None
    until: datetime | None = None
    blocs: tuple[str, ...] = ()
    channel_types: tuple[str, ...] = ()

    def keep(self, hits: pd.DataFrame) -> pd.DataFrame:
        mask = pd.Series(True, index=hits.index)
        if self.blocs:
            mask &= hits["bloc"].isin(self.blocs)
        if self.channel_types:
            mask &= hits["channel_type"].isin(self.channel_types)
        return hits[mask]


@dataclass(frozen=True)
class TrackResult:
    """The report tables: ``hits`` (one row per narrative and article), ``summary`` (one row per
    narrative), ``daily`` (narrative, day, bloc, hits) and facts for the manifest."""

    hits: pd.DataFrame
    summary: pd.DataFrame
    daily: pd.DataFrame
    facts: dict[str, object]


class NarrativeTracker:
    """Scores a store against a watchlist. The parameters are those of ``[watch]`` (the last three
    come from ``[score]`` and ``[run]``, as for the discovered narratives).

    Parameters
    ----------
    alpha : an article hits a narrative when its p-value is at most this (see
        :mod:`detector.watch.calibrate`; about the share of background passages that hit).
    tail_share : share of the highest passage scores fitted by the generalised Pareto tail.
    background_correction : subtract each passage's mean cosine to the neutral statements.
    max_lag_days : largest lag of the cn-ru daily cross-correlation, either way.
    permutations : draws of the permutation tests (0 = off).
    null_span_hours : the first-appearance null shifts each outlet within ``± span / 2``.
    random_state : seeds the permutation tests.
    """

    parameter_section: ClassVar[str] = "watch"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "alpha": Interval(1e-12, 0.5),
        "tail_share": Interval(0.001, 0.5),
        "max_lag_days": Interval(1, 365),
        "permutations": Interval(0, 1_000_000),
        "null_span_hours": Interval(1.0, 24 * 3650),
        "random_state": Interval(0, 2**31 - 1),
    }

    def __init__(
        self,
        alpha: float = 0.002,
        tail_share: float = 0.05,
        background_correction: bool = True,
        max_lag_days: int = 7,
        permutations: int = 1000,
        null_span_hours: float = 720.0,
        random_state: int = 0,
    ) -> None:
        self.alpha = alpha
        self.tail_share = tail_share
        self.background_correction = background_correction
        self.max_lag_days = max_lag_days
        self.permutations = permutations
        self.null_span_hours = null_span_hours
        self.random_state = random_state
        validate_params(self)

    def calibrator(self) -> TailCalibrator:
        """A fresh calibrator (it learns one tail per narrative of the scope it is fitted on)."""
        return TailCalibrator(self.alpha, self.tail_share, self.background_correction)

    def lead_lag(self) -> LeadLag:
        return LeadLag(self.permutations, self.null_span_hours, self.max_lag_days, self.random_state)

    def score_units(
        self,
        store: Store,
        embedding: EmbeddingStage,
        watchlist: Watchlist,
        units: Units,
        calibrator: TailCalibrator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(corrected, raw, best statement)`` per unit and narrative."""
        pairs = watchlist.statements()
        owners = {n.id: k for k, n in enumerate(watchlist.narratives)}
        owner = np.array([owners[nid] for nid, _ in pairs])
        vectors, _ = embedding.embed_texts(store, [s for _, s in pairs] + list(BACKGROUND))
        statements, background = vectors[: len(pairs)], vectors[len(pairs) :]
        sims = units.vectors @ statements.T
        raw = unit_scores(units.vectors, statements, owner, len(watchlist))
        best_statement = np.zeros(raw.shape, dtype=np.int64)
        for k in range(len(watchlist)):
            cols = np.flatnonzero(owner == k)
            best_statement[:, k] = cols[sims[:, cols].argmax(axis=1)]
        corrected = calibrator.corrected(raw, units.vectors @ background.T)
        return corrected, raw, best_statement

    def track(
        self,
        store: Store,
        stage: PassageStage,
        registry: OutletRegistry,
        watchlist: Watchlist,
        filters: Filters | None = None,
        archive: ArchiveIndex | None = None,
    ) -> TrackResult:
        """Hits and summaries of every watched narrative over the store's articles in
        ``[since, until)``, which are also the background the scores are calibrated against (a
        sample of it; the hits come through the store's ``archive`` index,
        :mod:`detector.watch.archived`)."""
        filters = filters or Filters()
        calibrator = self.calibrator()
        scope = ArchiveScope(store, stage, registry, archive or ArchiveIndex(), filters.since, filters.until)
        ids, corrected, facts = scope.calibrated(calibrator, stage.embedding, watchlist)
        units = scope.units(
            stage.embedding, scope.candidates(stage.embedding, watchlist, calibrator, (ids, corrected))
        )
        return self.track_units(store, stage.embedding, watchlist, units, filters, calibrator, facts)

    def track_units(
        self,
        store: Store,
        embedding: EmbeddingStage,
        watchlist: Watchlist,
        units: Units,
        filters: Filters,
        fitted: TailCalibrator | None = None,
        scope: ScopeFacts | None = None,
    ) -> TrackResult:
        """The tracking of :meth:`track` over loaded ``units``, calibrated on them, or by ``fitted``
        (then ``units`` hold the candidates and ``scope`` describes the scope they came from)."""
        calibrator, lead_lag = fitted or self.calibrator(), self.lead_lag()
        corrected, raw, best_statement = self.score_units(store, embedding, watchlist, units, calibrator)
        if fitted is None:
            calibrator.fit(corrected)
        unit_p = calibrator.unit_p_values(corrected)
        article_pos = units.passages["article_pos"].to_numpy()
        n_articles = len(units.articles)
        best, rows = best_per_article(corrected, article_pos, n_articles)
        statements = [s for _, s in watchlist.statements()]
        hit_frames, summaries, dailies = [], [], []
        days = _days(units.articles) if scope is None else _span(scope.first, scope.last)
        for k, narrative in enumerate(watchlist.narratives):
            has = rows[:, k] >= 0
            p = np.ones(n_articles)
            p[has] = unit_p[rows[has, k], k]
            chosen = np.flatnonzero(has & (p <= self.alpha))
            hits = self._hit_rows(units, narrative.id, narrative.name, chosen, rows[chosen, k], k,
                                  p[chosen], best[chosen, k], raw, best_statement, statements)  # fmt: skip
            hits = filters.keep(hits)
            hit_frames.append(hits)
            summaries.append(lead_lag.summarise(narrative.id, narrative.name, hits, days))
            dailies.append(lead_lag.daily_rows(narrative.id, hits, days))
        hits = pd.concat(hit_frames, ignore_index=True) if hit_frames else pd.DataFrame(columns=HIT_COLUMNS)
        facts: dict[str, object] = {
            "articles_in_scope": n_articles if scope is None else scope.articles,
            "passages_in_scope": len(units.passages) if scope is None else scope.units,
            "narratives": len(watchlist),
            "hits": len(hits),
            "alpha": self.alpha,
            "tail_share": self.tail_share,
            "background_correction": self.background_correction,
            "tail_fit": {
                n.id: dict(zip(("threshold", "shape", "scale"), (round(v, 5) for v in fit), strict=True))
                for n, fit in zip(watchlist.narratives, calibrator.tail_, strict=True)
            },
        }
        log.info(
            "track: %d hits of %d narratives over %s articles",
            len(hits),
            len(watchlist),
            facts["articles_in_scope"],
        )
        summary = pd.DataFrame(summaries).reindex(columns=SUMMARY_COLUMNS)
        daily = pd.concat(dailies, ignore_index=True) if dailies else pd.DataFrame(columns=DAILY_COLUMNS)
        return TrackResult(hits, summary, daily, facts)

    @staticmethod
    def _hit_rows(
        units: Units,
        watch_id: str,
        name: str,
        chosen: np.ndarray,
        unit_rows: np.ndarray,
        k: int,
        p: np.ndarray,
        score: np.ndarray,
        raw: np.ndarray,
        best_statement: np.ndarray,
        statements: list[str],
    ) -> pd.DataFrame:
        articles = units.articles.iloc[chosen]
        passages = units.passages.iloc[unit_rows]
        frame = pd.DataFrame(
            {
                "watch_id": watch_id,
                "watch_name": name,
                "id": articles["id"].to_numpy(),
                "outlet": articles["outlet"].to_numpy(),
                "bloc": articles["bloc"].to_numpy(),
                "channel_type": articles["channel_type"].to_numpy(),
                "language": articles["language"].to_numpy(),
                "published_at": articles["published_at"].to_numpy(),
                "title": articles["title"].to_numpy(),
                "url": articles["url"].to_numpy(),
                "p_value": [float(f"{v:.3g}") for v in p],
                "score": np.round(score, 4),
                "similarity": np.round(raw[unit_rows, k], 4),
                "statement": [statements[j] for j in best_statement[unit_rows, k]],
                "passage_kind": passages["kind"].to_numpy(),
                "passage": passages["text"].to_numpy(),
                "passage_start": passages["start"].to_numpy(),
                "passage_end": passages["end"].to_numpy(),
            }
        )
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
        frame = frame.sort_values(["published_at", "id"], kind="stable").reset_index(drop=True)
        # rank by strength (1 = strongest), rows in time order so a reader follows the spread
        frame.insert(2, "rank", frame["score"].rank(ascending=False, method="first").astype(int))
        return frame[HIT_COLUMNS]


def _days(articles: pd.DataFrame) -> pd.DatetimeIndex:
    when = pd.to_datetime(articles["published_at"], utc=True)
    if when.empty:
        return pd.DatetimeIndex([], tz="UTC")
    return _span(when.min(), when.max())


def _span(first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DatetimeIndex:
    """Every day from ``first`` to ``last`` (UTC; naive stamps are UTC)."""
    if first is None or last is None:
        return pd.DatetimeIndex([], tz="UTC")
    first = first.tz_localize("UTC") if first.tzinfo is None else first
    last = last.tz_localize("UTC") if last.tzinfo is None else last
    return pd.date_range(first.floor("D"), last.floor("D"), freq="D")
