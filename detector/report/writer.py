"""Reports: ``flags.csv``, ``members.csv``, ``pairs.csv``, the outlet graph, ``report.html`` and
``manifest.json``, written atomically.

CSV conventions (so a spreadsheet opens them right): UTF-8 with BOM (Excel then shows Cyrillic
and Chinese), RFC 4180 quoting and CRLF line ends, ISO-8601 UTC timestamps, fixed column order,
and no text cell that a spreadsheet would run as a formula (see :mod:`detector.report.safety`).
Each CSV has a Parquet twin with the same rows unaltered, for programs. Every row that stands for
an article carries the feed's own ``id``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from detector.faults import checkpoint
from detector.io import atomic_writer, file_sha256, write_json
from detector.report.columns import (
    FLAG_COLUMNS,
    MEMBER_COLUMNS,
    PAIR_COLUMNS,
    THEME_COLUMNS,
    THEME_DAILY_COLUMNS,
    THEME_MEMBER_COLUMNS,
    VERDICT_COLUMNS,
    WATCHED_COLUMN,
)
from detector.report.html import write_html_report
from detector.report.safety import spreadsheet_cells
from detector.report.theme_html import STYLE as THEME_STYLE
from detector.report.theme_html import ThemeReport, daily_volumes, themes_section
from detector.scoring.amplification import EDGE_COLUMNS, write_graphml
from detector.times import iso_utc


def timestamp_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c.endswith(("_published_at", "_seen")) or c == "published_at"]


def write_csv(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """Spreadsheet-safe CSV (see module doc), atomically."""
    out = frame.reindex(columns=columns).copy()
    for column in timestamp_columns(columns):
        out[column] = out[column].map(iso_utc)
    with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as handle:
        spreadsheet_cells(out).to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def write_table(frame: pd.DataFrame, path: Path, columns: list[str]) -> Path:
    """``path`` (a CSV, :func:`write_csv`) and its Parquet twin beside it with the values
    unaltered (text as the feed had it, UTC timestamps, numbers); returns the twin's path."""
    write_csv(frame, path, columns)
    twin, out = path.with_suffix(".parquet"), frame.reindex(columns=columns)
    for column in timestamp_columns(columns):
        out[column] = pd.to_datetime(out[column], utc=True).dt.as_unit("us")
    with atomic_writer(twin, "wb") as handle:
        out.to_parquet(handle, index=False)
    return twin


def write_reports(
    out_dir: Path,
    flags: pd.DataFrame,
    members: pd.DataFrame,
    manifest: dict[str, Any],
    *,
    pairs: pd.DataFrame | None = None,
    outlets: pd.DataFrame | None = None,
    themes: ThemeReport | None = None,
) -> dict[str, str]:
    """Write every report into ``out_dir``; returns ``{name: path}``.

    Each file is replaced atomically, and the set is marked complete by the manifest: the old one
    is removed first and the new one, with the other files' checksums, is written last. A crash
    in between leaves no manifest.json, never one that vouches for half-written reports.
    ``report.html`` comes after the CSVs and the outlet graph, so it can link to them. Each CSV
    ``<name>`` has its Parquet twin under ``<name>_parquet``. With ``themes`` (the theme stage
    ran), ``themes.csv``, ``theme_members.csv`` and ``theme_daily.csv`` are written too and the
    page gets its "Shared themes" section; without, stale ones of an earlier run are removed.
    """
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    extra = [
        c for c in [WATCHED_COLUMN, *VERDICT_COLUMNS] if c in flags.columns
    ]  # runs before verdicts lack them
    tables = {"flags": (flags, FLAG_COLUMNS + extra), "members": (members, MEMBER_COLUMNS)}
    tables |= {"pairs": (pairs, PAIR_COLUMNS)} if pairs is not None else {}
    tables |= {"outlets": (outlets, EDGE_COLUMNS)} if outlets is not None else {}
    tables |= theme_tables(out_dir, themes)
    paths: dict[str, Path] = {}
    for name, (frame, columns) in tables.items():
        paths[name] = out_dir / f"{name}.csv"
        paths[f"{name}_parquet"] = write_table(frame, paths[name], columns)
        if name == "flags":
            checkpoint("report")
    if outlets is not None:
        paths["outlets_graph"] = out_dir / "outlets.graphml"
        write_graphml(outlets, paths["outlets_graph"])
    named = flags["theme_id"].dropna().astype(str).tolist() if "theme_id" in flags else []
    sections = [(THEME_STYLE, themes_section(themes, named))] if themes is not None else []
    paths["report"] = write_html_report(out_dir, flags, members, pairs, manifest, sections)
    manifest = {
        **manifest,
        "outputs": {k: str(p) for k, p in paths.items()},
        "outputs_sha256": {k: file_sha256(p) for k, p in paths.items()},
    }
    paths["manifest"] = manifest_path
    write_json(manifest, paths["manifest"])
    return {k: str(p) for k, p in paths.items()}


def theme_tables(out_dir: Path, themes: ThemeReport | None) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """The theme reports to write (name -> frame, columns); without themes, none, and the files an
    earlier run wrote into ``out_dir`` go (they would be read as this run's)."""
    names = ("themes", "theme_members", "theme_daily")
    if themes is None:
        for name in names:
            for suffix in (".csv", ".parquet"):
                (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
        return {}
    daily = themes.daily if themes.daily is not None else daily_volumes(themes.members)
    frames = (themes.themes, themes.members, daily)
    columns = (THEME_COLUMNS, THEME_MEMBER_COLUMNS, THEME_DAILY_COLUMNS)
    return {name: (frame, cols) for name, frame, cols in zip(names, frames, columns, strict=True)}
