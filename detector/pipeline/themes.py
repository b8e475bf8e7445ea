"""The theme step of a run, and of ``detector themes``: read a bounded period from the store, run
the theme stage, name its themes (lineage), keep them in the store.

The period a daily run reads is ``[themes] period_days`` (28) ending at the end of its last
window, or the run's own windows when they span more: history comes from the store, but never
more of it than the period, so the step's cost does not grow with the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from detector.embed.embedding import EmbeddingStage
from detector.errors import ResourceError
from detector.limits import GIB, MemoryGuard
from detector.narratives.cluster import Window
from detector.pipeline.stages import Stages
from detector.report.columns import THEME_COLUMNS, THEME_DAILY_COLUMNS, THEME_MEMBER_COLUMNS
from detector.report.theme_html import ThemeReport
from detector.store.store import Store
from detector.themes.lineage import ThemeLineage
from detector.themes.scope import ThemeScope
from detector.verdicts.history import narrative_verdicts
from detector.verdicts.rules import theme_columns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThemeRun:
    """A theme step's reports and what the manifest says of it."""

    report: ThemeReport
    summary: dict[str, Any] = field(default_factory=dict)


def theme_period(first: datetime, last: datetime, period_days: int) -> tuple[datetime, datetime]:
    """``[start, end)`` the step reads for a run whose windows span ``[first, last)`` (naive UTC)."""
    return min(first, last - timedelta(days=period_days)), last


def theme_scope(db: Store, embedding: EmbeddingStage, start: datetime, end: datetime) -> ThemeScope:
    """The period's articles from the store, with vectors from its embedding cache (embedding only
    what it lacks: none after a run, whose texts it cached). Discovery's units are the cn and ru
    articles whole: passages as units measured worse (campaigns_2024: 2 of 3 campaigns grouped,
    against 9 of 11 with articles; docs/evaluation.md "Themes"), so a long transcript joins a
    theme by its article vector."""
    articles = db.articles_between(start, end)
    if not articles.empty:  # the null shifts over days that hold data, not over an empty store
        stamps = articles["published_at"].dt.tz_localize(None)
        start = max(start, stamps.min().floor("D").to_pydatetime())
        end = min(end, (stamps.max().floor("D") + pd.Timedelta(days=1)).to_pydatetime())
    texts = embedding.texts(articles)
    vectors = embedding.embed_texts(db, texts)[0]
    matched = np.flatnonzero((articles["bloc"] != "control").to_numpy())
    units = pd.DataFrame({
        "article_pos": matched, "kind": "whole", "start": 0, "end": 0, "text": [texts[i] for i in matched],
    })  # fmt: skip
    aware = (pd.Timestamp(start, tz="UTC").to_pydatetime(), pd.Timestamp(end, tz="UTC").to_pydatetime())
    return ThemeScope(articles, vectors, units, vectors[matched], *aware)


def name_themes(db: Store, run_id: str | None, frames: Any) -> tuple[ThemeReport, dict[str, Any]]:
    """The stage's frames with ``theme_id`` s continuing the store's latest earlier run's, and
    each theme's current verdict (a verdict follows the stable id, as a narrative's does)."""
    themes, members, daily = frames.themes, frames.members, frames.daily
    previous = db.latest_theme_members(run_id)
    lineage = ThemeLineage()
    names = lineage.assign(previous[["theme_id", "id"]], members[["key", "id", "published_at"]])
    for frame in (themes, members, daily):
        frame.insert(0, "theme_id", frame.pop("key").map(names))
    # Same q and size: the id decides, so the order never depends on provisional keys.
    themes = themes.sort_values(["q_value", "articles", "theme_id"], ascending=[True, False, True])
    themes = theme_columns(themes, narrative_verdicts(db, kind="theme"))  # docs/review.md
    members = members.sort_values(["theme_id", "published_at", "id"], kind="stable")
    daily = daily.sort_values(["theme_id", "day", "bloc"], kind="stable")
    report = ThemeReport(
        themes[THEME_COLUMNS].reset_index(drop=True),
        members[THEME_MEMBER_COLUMNS].reset_index(drop=True),
        daily[THEME_DAILY_COLUMNS].reset_index(drop=True),
    )
    return report, {"lineage": lineage.events_.as_dict()}


def check_theme_memory(guard: MemoryGuard, n_units: int) -> None:
    """Refuse, before the work, a period whose dendrogram would not fit: Ward over the whole period
    holds the n(n-1)/2 pairwise distances twice (ours, and scipy's working copy), 8 bytes each
    (10,000 cn and ru articles: 0.8 GB; 30,000: 7.2 GB)."""
    need = 8 * n_units * (n_units - 1)
    budget = guard.budget()
    if budget is not None and need > budget:
        raise ResourceError(
            f"the theme stage needs an estimated {need / GIB:.1f} GiB for the {n_units:,} cn and ru "
            f"articles of its period but the budget is {budget / GIB:.1f} GiB. Fix: lower [themes] "
            "period_days, set [themes] enabled = false, or raise [limits] max_memory_gb on a machine "
            "with more memory."
        )


def run_themes(stages: Stages, db: Store, period: tuple[datetime, datetime], run_id: str | None) -> ThemeRun:
    """Run the theme stage over ``period`` (naive UTC) and keep its themes under ``run_id``."""
    scope = theme_scope(db, stages.embedding, *period)
    log.info("themes: %d articles, %d units over %s .. %s", len(scope.articles), len(scope.units), *period)
    check_theme_memory(stages.guard, len(scope.units))
    result = stages.themes.run(scope)
    report, named = name_themes(db, run_id, result)
    if run_id is not None:
        db.save_themes(run_id, report.themes, report.members, report.daily)
    summary = result.summary | named
    summary["flagged_per_1000_articles"] = round(1000 * summary["flagged"] / max(1, len(scope.articles)), 3)
    return ThemeRun(report, summary)


def daily_themes(stages: Stages, db: Store, windows: list[Window], run_id: str) -> ThemeRun | None:
    """A daily run's theme step over the period its windows imply; ``None`` when ``[themes]
    enabled = false``."""
    if not stages.with_themes:
        return None
    bounds = (windows[0].start.replace(tzinfo=None), windows[-1].end.replace(tzinfo=None))
    return run_themes(stages, db, theme_period(*bounds, stages.themes.period_days), run_id)
