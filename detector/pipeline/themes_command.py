"""``detector themes``: the theme step on its own, over a period of a store, written into a folder
(the daily run's step is :func:`detector.pipeline.themes.daily_themes`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from detector.config import Config
from detector.errors import ConfigError, NotFoundError
from detector.io import file_sha256, write_json
from detector.pipeline.manifest import environment
from detector.pipeline.stages import Stages
from detector.pipeline.themes import ThemeRun, run_themes
from detector.report.columns import THEME_COLUMNS, THEME_DAILY_COLUMNS, THEME_MEMBER_COLUMNS
from detector.report.theme_html import ThemeReport
from detector.report.writer import write_table
from detector.store.store import Store


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
    if until <= since:
        raise ConfigError(
            f"--until {until:%Y-%m-%d} is not after --since {since:%Y-%m-%d}. Fix: give a later --until."
        )
    stages = Stages.from_config(config)
    with Store(store) as db:
        if not db.scope_size(since, until)[0]:
            raise NotFoundError(
                f"store {store} holds no article published in [{since:%Y-%m-%d}, {until:%Y-%m-%d}). "
                "Fix: ingest feeds of those days (detector ingest) or pick dates the store covers."
            )
        found = run_themes(stages, db, (since, until), None)
    manifest = {
        "command": "themes",
        "store": str(store),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "config": config.to_dict(),
        "seed": config.run.seed,
        "model_id": stages.embedding.model_id,
        "themes": found.summary,
        "environment": environment(),
    }
    write_theme_reports(out_dir, found.report, manifest)
    return found
