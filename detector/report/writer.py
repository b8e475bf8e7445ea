"""Reports: ``flags.csv``, ``members.csv``, ``pairs.csv``, the outlet graph, ``report.html`` and
``manifest.json``, written atomically.

CSV conventions (so a spreadsheet opens them right): UTF-8 with BOM (Excel then shows Cyrillic
and Chinese), RFC 4180 quoting and CRLF line ends, ISO-8601 UTC timestamps, fixed column order.
Every row that stands for an article carries the feed's own ``id``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from detector.faults import checkpoint
from detector.io import atomic_writer, file_sha256, write_json
from detector.report.columns import FLAG_COLUMNS, MEMBER_COLUMNS, PAIR_COLUMNS
from detector.report.html import write_html_report
from detector.scoring.amplification import EDGE_COLUMNS, write_graphml
from detector.times import iso_utc


def write_csv(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """Spreadsheet-safe CSV (see module doc), atomically."""
    out = frame.reindex(columns=columns).copy()
    for column in columns:
        if column.endswith(("_published_at", "_seen")) or column == "published_at":
            out[column] = out[column].map(iso_utc)
    with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as handle:
        out.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


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
    ``report.html`` comes after the CSVs and the outlet graph, so it can link to them.
    """
    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    paths = {"flags": out_dir / "flags.csv", "members": out_dir / "members.csv"}
    write_csv(flags, paths["flags"], FLAG_COLUMNS)
    checkpoint("report")
    write_csv(members, paths["members"], MEMBER_COLUMNS)
    if pairs is not None:
        paths["pairs"] = out_dir / "pairs.csv"
        write_csv(pairs, paths["pairs"], PAIR_COLUMNS)
    if outlets is not None:
        paths["outlets"] = out_dir / "outlets.csv"
        paths["outlets_graph"] = out_dir / "outlets.graphml"
        write_csv(outlets, paths["outlets"], EDGE_COLUMNS)
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
