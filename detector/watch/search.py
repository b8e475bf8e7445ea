"""``detector search "TEXT"``: the store's articles closest to a statement, in any language.

The statement is scored like a one-statement watched narrative (same passages, background
correction and tail calibration, :mod:`detector.watch.calibrate`), so each match carries a
p-value as well as its cosine, and the best passage as evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.embed.passages import PassageStage
from detector.errors import ConfigError
from detector.index.archive import ArchiveIndex
from detector.sources.registry import OutletRegistry
from detector.store.store import Store
from detector.watch.archived import ArchiveScope
from detector.watch.track import Filters, NarrativeTracker
from detector.watch.units import best_per_article
from detector.watch.watchlist import WatchedNarrative, Watchlist

SEARCH_COLUMNS = [
    "rank", "p_value", "similarity", "id", "published_at", "outlet", "bloc", "channel_type", "language",
    "title", "passage", "passage_start", "passage_end",
]  # fmt: skip


def search(
    store: Store,
    stage: PassageStage,
    registry: OutletRegistry,
    text: str,
    filters: Filters | None = None,
    top: int = 20,
    tracker: NarrativeTracker | None = None,
    archive: ArchiveIndex | None = None,
) -> pd.DataFrame:
    """The ``top`` articles most like ``text`` (after ``filters``), strongest first, found through
    the store's ``archive`` index (:mod:`detector.watch.archived`)."""
    if not text.strip():
        raise ConfigError(
            'search text is empty; pass a statement, e.g. detector search "US biolabs in Ukraine".'
        )
    filters = filters or Filters()
    tracker = tracker or NarrativeTracker()
    calibrator = tracker.calibrator()
    query = Watchlist((WatchedNarrative("query", "query", (text.strip(),)),), "command line")
    # The tail is fitted on a sample of the scope; only the best candidates are re-scored.
    scope = ArchiveScope(store, stage, registry, archive or ArchiveIndex(), filters.since, filters.until)
    sample = scope.calibrated(calibrator, stage.embedding, query)[:2]
    units = scope.units(stage.embedding, scope.candidates(stage.embedding, query, calibrator, sample, top))
    corrected, raw, _ = tracker.score_units(store, stage.embedding, query, units, calibrator)
    unit_p = calibrator.unit_p_values(corrected)[:, 0]
    article_pos = units.passages["article_pos"].to_numpy()
    best, rows = best_per_article(corrected, article_pos, len(units.articles))
    has = rows[:, 0] >= 0
    p = np.ones(len(units.articles))
    p[has] = unit_p[rows[has, 0]]
    frame = units.articles.assign(
        p_value=[float(f"{v:.3g}") for v in p],
        score=best[:, 0],
        similarity=np.where(has, raw[np.maximum(rows[:, 0], 0), 0], np.nan).round(4),
        unit=rows[:, 0],
    )
    frame = filters.keep(frame[has]).sort_values(["score", "id"], ascending=[False, True]).head(top)
    passages = units.passages.iloc[frame["unit"].to_numpy()]
    frame = frame.assign(
        passage=passages["text"].to_numpy(),
        passage_start=passages["start"].to_numpy(),
        passage_end=passages["end"].to_numpy(),
        rank=np.arange(1, len(frame) + 1),
    )
    return frame.reset_index(drop=True)[SEARCH_COLUMNS]
