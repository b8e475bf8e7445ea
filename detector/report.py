"""Reports: ``flags.csv``, ``members.csv``, ``pairs.csv``, the outlet graph, ``report.html`` and
``manifest.json``, written atomically.

CSV conventions (so a spreadsheet opens them right): UTF-8 with BOM (Excel then shows Cyrillic
and Chinese), RFC 4180 quoting and CRLF line ends, ISO-8601 UTC timestamps, fixed column order.
Every row that stands for an article carries the feed's own ``id``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from detector.amplification import EDGE_COLUMNS, write_graphml
from detector.faults import checkpoint

FLAG_COLUMNS = [
    "rank", "narrative_id", "label", "p_value", "score", "direction", "lag_hours", "leader_outlet",
    "best_similarity", "mean_top_similarity", "best_pair_lag_hours",
    "best_cn_id", "best_cn_outlet", "best_cn_published_at", "best_cn_title", "best_cn_url",
    "best_ru_id", "best_ru_outlet", "best_ru_published_at", "best_ru_title", "best_ru_url",
    "first_cn_id", "first_cn_outlet", "first_cn_published_at", "first_cn_title", "first_cn_url",
    "first_ru_id", "first_ru_outlet", "first_ru_published_at", "first_ru_title", "first_ru_url",
    "n_articles", "n_cn", "n_ru", "outlets_cn", "outlets_ru", "languages",
    "control_coverage", "control_share", "control_outlets", "burstiness", "path", "channel_path",
    "language_path", "first_seen", "last_seen",
]  # fmt: skip
WATCHED_COLUMN = "watched"  # watched narratives a flag's members hit; only in runs with [watch] watchlist
MEMBER_COLUMNS = [
    "narrative_id", "id", "outlet", "bloc", "language", "channel_type", "published_at", "title", "url",
    "similarity_to_centre", "membership", "rescued", "passage", "passage_start", "passage_end",
]  # fmt: skip
PAIR_COLUMNS = [
    "narrative_id", "pair_rank", "link_type", "similarity", "lag_hours",
    "cn_id", "cn_outlet", "cn_language", "cn_channel_type", "cn_published_at", "cn_title", "cn_url",
    "ru_id", "ru_outlet", "ru_language", "ru_channel_type", "ru_published_at", "ru_title", "ru_url",
    "cn_passage", "cn_passage_start", "cn_passage_end", "ru_passage", "ru_passage_start", "ru_passage_end",
]  # fmt: skip


@contextmanager
def atomic_writer(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def iso_utc(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return str(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_csv(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """Spreadsheet-safe CSV (see module doc), atomically."""
    out = frame.reindex(columns=columns).copy()
    for column in columns:
        if column.endswith(("_published_at", "_seen")) or column == "published_at":
            out[column] = out[column].map(iso_utc)
    with atomic_writer(path, "w", encoding="utf-8-sig", newline="") as handle:
        out.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def write_json(data: dict[str, Any], path: Path) -> None:
    with atomic_writer(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str, ensure_ascii=False)
        handle.write("\n")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    # Imported here: html_report imports this module, and matplotlib loads only when needed.
    from detector.html_report import write_html_report

    manifest_path = out_dir / "manifest.json"
    manifest_path.unlink(missing_ok=True)
    paths = {"flags": out_dir / "flags.csv", "members": out_dir / "members.csv"}
    watched = [WATCHED_COLUMN] if WATCHED_COLUMN in flags.columns else []
    write_csv(flags, paths["flags"], FLAG_COLUMNS + watched)
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
