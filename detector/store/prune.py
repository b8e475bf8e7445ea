"""Retention: ``detector prune --before DATE`` drops old articles, their units and vectors.

What goes: every article published before the cut, its archive units, the cached vectors no
remaining unit uses (its article text's and its passages'), and the cluster rows of those articles
in narratives that were never flagged. What stays: runs and their manifests, flags, the report rows
every ``detector show`` and ``detector report`` reads (they hold the members and evidence pairs as
the run wrote them, so a pruned narrative still shows in full), and the cluster rows of every
flagged narrative. A text that appears again later is embedded again: the vectors are a cache.

The deletion is one transaction (a kill leaves the store as it was, or pruned). DuckDB reuses the
freed blocks but does not give them back to the file system, so the file shrinks only by copying
it (:func:`compact`): ``COPY FROM DATABASE`` into a temporary file beside it, fsync, rename over
the store while the store's lock is held; a kill leaves the old file and a temporary one, which
the next compaction replaces.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from detector.faults import checkpoint
from detector.store.store import Store

log = logging.getLogger(__name__)

CHUNK = 50_000  # pruned articles whose article-text hashes are computed at a time


def prune(db: Store, before: datetime, article_hashes: Callable[[pd.DataFrame], list[str]]) -> dict[str, int]:
    """Drop what is older than ``before`` (naive UTC) in one transaction; ``article_hashes`` gives
    the cache keys of articles' own vectors (``title``, ``text`` columns). Returns counts."""
    counts: dict[str, int] = {}
    with db.transaction() as con:
        con.execute("CREATE TEMP TABLE doomed AS SELECT id FROM articles WHERE published_at < ?", [before])
        con.execute("CREATE TEMP TABLE doomed_hashes (text_hash VARCHAR)")
        con.execute(
            "INSERT INTO doomed_hashes SELECT text_hash FROM units "
            "SEMI JOIN doomed ON units.article_id = doomed.id"
        )
        offset = 0
        while True:
            frame = con.execute(
                "SELECT a.title, a.text FROM articles a SEMI JOIN doomed d ON d.id = a.id "
                "ORDER BY a.id LIMIT ? OFFSET ?",
                [CHUNK, offset],
            ).df()
            if frame.empty:
                break
            con.register("hashes", pd.DataFrame({"text_hash": article_hashes(frame)}))
            con.execute("INSERT INTO doomed_hashes SELECT text_hash FROM hashes")
            con.unregister("hashes")
            offset += CHUNK
        # a vector still used by a unit of a remaining article stays
        counts["vectors"] = _count(con.execute(
            "DELETE FROM embeddings WHERE text_hash IN (SELECT text_hash FROM doomed_hashes) AND text_hash "
            "NOT IN (SELECT text_hash FROM units ANTI JOIN doomed ON units.article_id = doomed.id)"
        ).fetchall())  # fmt: skip
        con.execute(  # the calibration sample's rows of these units (its state is then stale: refreshed)
            "DELETE FROM unit_sample WHERE unit_id IN (SELECT unit_id FROM units "
            "WHERE article_id IN (SELECT id FROM doomed))"
        )
        counts["units"] = _count(
            con.execute("DELETE FROM units WHERE article_id IN (SELECT id FROM doomed)").fetchall()
        )
        counts["cluster_rows"] = _count(con.execute(
            "DELETE FROM clusters WHERE article_id IN (SELECT id FROM doomed) "
            "AND narrative_id NOT IN (SELECT narrative_id FROM flags)"
        ).fetchall())  # fmt: skip
        counts["articles"] = _count(
            con.execute("DELETE FROM articles WHERE id IN (SELECT id FROM doomed)").fetchall()
        )
        con.execute("DROP TABLE doomed")
        con.execute("DROP TABLE doomed_hashes")
        checkpoint("pruning")
    log.info("prune before %s: %s", before, counts)
    return counts


def _count(rows: list[tuple[int, ...]]) -> int:
    return int(rows[0][0]) if rows else 0


def compact(db: Store) -> tuple[int, int]:
    """Rewrite the store into a fresh file of only its live data (see the module doc); returns the
    file's size before and after. ``db`` is closed afterwards (its lock is released on exit)."""
    path = db.path
    before = path.stat().st_size
    temp = path.with_name(f"{path.name}.compact{os.getpid()}")
    for stale in path.parent.glob(f"{path.name}.compact*"):
        stale.unlink()
    db.con_.execute("CHECKPOINT")
    name = db.con_.execute("SELECT current_database()").fetchall()[0][0]
    quoted = str(temp).replace("'", "''")
    db.con_.execute(f"ATTACH '{quoted}' AS compacted")
    db.con_.execute(f'COPY FROM DATABASE "{name}" TO compacted')
    db.con_.execute("DETACH compacted")
    db.con_.close()
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    checkpoint("compacting")
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    after = path.stat().st_size
    log.info("compacted %s: %d -> %d bytes", path, before, after)
    return before, after
