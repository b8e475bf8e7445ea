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
    VERDICT_COLUMNS,
    WATCHED_COLUMN,
)
from detector.report.html import write_html_report
from detector.report.safety import spreadsheet_cells
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
) -> dict[str, str]:
    """Write every report into ``out_dir``; returns ``{name: path}``.

    Each file is replaced atomically, and the set is marked complete by the manifest: the old one
    is removed first and the new one, with the other files' checksums, is written last. A crash
    in between leaves no manifest.json, never one that vouches for half-written reports.
    ``report.html`` comes after the CSVs and the outlet graph, so it can link to them. Each CSV
    ``<name>`` has its Parquet twin under ``<name>_parquet``.
    """
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    extra = [
        c for c in [WATCHED_COLUMN, *VERDICT_COLUMNS] if c in flags.columns
    ]  # runs before verdicts lack them
    tables = {"flags": (flags, FLAG_COLUMNS + extra), "members": (members, MEMBER_COLUMNS)}
    tables |= {"pairs": (pairs, PAIR_COLUMNS)} if pairs is not None else {}
    tables |= {"outlets": (outlets, EDGE_COLUMNS)} if outlets is not None else {}
    paths: dict[str, Path] = {}
    for name, (frame, columns) in tables.items():
        paths[name] = out_dir / f"{name}.csv"
        paths[f"{name}_parquet"] = write_table(frame, paths[name], columns)
        if name == "flags":
            checkpoint("report")
    if outlets is not None:
        paths["outlets_graph"] = out_dir / "outlets.graphml"
        write_graphml(outlets, paths["outlets_graph"])
    paths["report"] = write_html_report(out_dir, flags, members, pairs, manifest)
    manifest = {
        **manifest,
        "outputs": {k: str(p) for k, p in paths.items()},
        "outputs_sha256": {k: file_sha256(p) for k, p in paths.items()},
    }
    paths["manifest"] = manifest_path
    write_json(manifest, paths["manifest"])
    return {k: str(p) for k, p in paths.items()}
