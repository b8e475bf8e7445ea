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
from pathlib import Path
from typing import Any

import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageStage
from detector.errors import ConfigError, NotFoundError
from detector.io import file_sha256, write_json
from detector.pipeline.manifest import environment
from detector.report.columns import THEME_COLUMNS, THEME_DAILY_COLUMNS, THEME_MEMBER_COLUMNS
from detector.report.theme_html import ThemeReport
from detector.report.writer import write_table
from detector.store.store import Store
from detector.themes.lineage import ThemeLineage
from detector.themes.scope import ThemeScope
from detector.themes.stage import ThemeStage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThemeRun:
    """A theme step's reports and what the manifest says of it."""

    report: ThemeReport
    summary: dict[str, Any] = field(default_factory=dict)


def theme_stage(config: Config) -> ThemeStage:
    """The ``[themes]`` stage (whether a daily run calls it is ``enabled``, read by the run)."""
    options = config.arguments("themes")
    del options["enabled"]
    return ThemeStage(**options, random_state=config.run.seed)


def theme_period(first: datetime, last: datetime, period_days: int) -> tuple[datetime, datetime]:
    """``[start, end)`` the step reads for a run whose windows span ``[first, last)`` (naive UTC)."""
    return min(first, last - timedelta(days=period_days)), last


def theme_scope(
    db: Store, embedding: EmbeddingStage, passages: PassageStage | None, start: datetime, end: datetime
) -> ThemeScope:
    """The period's articles and units from the store, with vectors from its embedding cache
    (embedding only what it lacks: none after a run, whose texts it cached)."""
    articles = db.articles_between(start, end)
    if not articles.empty:  # the null shifts over days that hold data, not over an empty store
        stamps = articles["published_at"].dt.tz_localize(None)
        start = max(start, stamps.min().floor("D").to_pydatetime())
        end = min(end, (stamps.max().floor("D") + pd.Timedelta(days=1)).to_pydatetime())
    vectors = embedding.embed_texts(db, embedding.texts(articles))[0]
    matched = articles[articles["bloc"] != "control"]
    if passages is not None:
        units = passages.passages(matched.reset_index(drop=True))
        units["article_pos"] = matched.index.to_numpy()[units["article_pos"].to_numpy()]
        unit_vectors = embedding.embed_texts(db, units["text"].tolist())[0]
    else:  # [passages] unit = "article": every article is one unit, its article vector
        units = pd.DataFrame({
            "article_pos": matched.index.to_numpy(), "kind": "whole", "start": 0, "end": 0,
            "text": [embedding.texts(articles)[i] for i in matched.index],
        })  # fmt: skip
        unit_vectors = vectors[matched.index.to_numpy()]
    aware = (pd.Timestamp(start, tz="UTC").to_pydatetime(), pd.Timestamp(end, tz="UTC").to_pydatetime())
    return ThemeScope(articles, vectors, units.reset_index(drop=True), unit_vectors, *aware)


def name_themes(db: Store, run_id: str | None, frames: Any) -> tuple[ThemeReport, dict[str, Any]]:
    """The stage's frames with ``theme_id`` s continuing the store's latest earlier run's."""
    themes, members, daily = frames.themes, frames.members, frames.daily
    previous = db.latest_theme_members(run_id)
    lineage = ThemeLineage()
    names = lineage.assign(previous[["theme_id", "id"]], members[["key", "id", "published_at"]])
    for frame in (themes, members, daily):
        frame.insert(0, "theme_id", frame.pop("key").map(names))
    # Same q and size: the id decides, so the order never depends on provisional keys.
    themes = themes.sort_values(["q_value", "articles", "theme_id"], ascending=[True, False, True])
    members = members.sort_values(["theme_id", "published_at", "id"], kind="stable")
    daily = daily.sort_values(["theme_id", "day", "bloc"], kind="stable")
    report = ThemeReport(
        themes[THEME_COLUMNS].reset_index(drop=True),
        members[THEME_MEMBER_COLUMNS].reset_index(drop=True),
        daily[THEME_DAILY_COLUMNS].reset_index(drop=True),
    )
    return report, {"lineage": lineage.events_.as_dict()}


def run_themes(
    stage: ThemeStage,
    db: Store,
    embedding: EmbeddingStage,
    passages: PassageStage | None,
    period: tuple[datetime, datetime],
    run_id: str | None,
) -> ThemeRun:
    """Run the theme stage over ``period`` (naive UTC) and keep its themes under ``run_id``."""
    scope = theme_scope(db, embedding, passages, *period)
    log.info("themes: %d articles, %d units over %s .. %s", len(scope.articles), len(scope.units), *period)
    result = stage.run(scope)
    report, named = name_themes(db, run_id, result)
    if run_id is not None:
        db.save_themes(run_id, report.themes, report.members, report.daily)
    summary = result.summary | named
    summary["flagged_per_1000_articles"] = round(1000 * summary["flagged"] / max(1, len(scope.articles)), 3)
    return ThemeRun(report, summary)


def write_theme_reports(out_dir: Path, report: ThemeReport, manifest: dict[str, Any]) -> dict[str, str]:
    """``themes.csv``, ``theme_members.csv``, ``theme_daily.csv`` (+ Parquet twins) and a
    manifest with their checksums, written last (so a manifest vouches only for whole files)."""
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    paths: dict[str, Path] = {}
    tables = {
        "themes": (report.themes, THEME_COLUMNS),
        "theme_members": (report.members, THEME_MEMBER_COLUMNS),
        "theme_daily": (report.daily, THEME_DAILY_COLUMNS),
    }
    for name, (frame, columns) in tables.items():
        paths[name] = out_dir / f"{name}.csv"
        paths[f"{name}_parquet"] = write_table(frame, paths[name], columns)
    manifest = manifest | {
        "outputs": {k: str(p) for k, p in paths.items()},
        "outputs_sha256": {k: file_sha256(p) for k, p in paths.items()},
    }
    write_json(manifest, manifest_path)
    return {k: str(p) for k, p in paths.items()} | {"manifest": str(manifest_path)}


def themes_between(config: Config, store: Path, since: datetime, until: datetime, out_dir: Path) -> ThemeRun:
    """``detector themes``: the themes of the store's articles in ``[since, until)`` (naive UTC),
    named after the store's latest run with themes, written into ``out_dir`` (the store's runs
    are left as they are)."""
    from detector.pipeline.daily import passage_stage

    if until <= since:
        raise ConfigError(
            f"--until {until:%Y-%m-%d} is not after --since {since:%Y-%m-%d}. Fix: give a later --until."
        )
    stage = theme_stage(config)
    embedding = EmbeddingStage(**config.arguments("embed"))
    with Store(store) as db:
        if not db.scope_size(since, until)[0]:
            raise NotFoundError(
                f"store {store} holds no article published in [{since:%Y-%m-%d}, {until:%Y-%m-%d}). "
                "Fix: ingest feeds of those days (detector ingest) or pick dates the store covers."
            )
        found = run_themes(stage, db, embedding, passage_stage(config, embedding), (since, until), None)
    manifest = {
        "command": "themes",
        "store": str(store),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "config": config.to_dict(),
        "seed": config.run.seed,
        "model_id": embedding.model_id,
        "themes": found.summary,
        "environment": environment(),
    }
    write_theme_reports(out_dir, found.report, manifest)
    return found


def daily_themes(
    config: Config,
    db: Store,
    embedding: EmbeddingStage,
    passages: PassageStage | None,
    windows: tuple[datetime, datetime],
    run_id: str,
) -> ThemeRun | None:
    """A daily run's theme step over the period its windows (``[first start, last end)``, naive
    UTC) imply; ``None`` when ``[themes] enabled = false``."""
    if not config.themes.enabled:
        return None
    period = theme_period(*windows, config.themes.period_days)
    return run_themes(theme_stage(config), db, embedding, passages, period, run_id)
