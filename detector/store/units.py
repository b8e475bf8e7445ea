"""The archive's units: every stored article's passages, numbered, with their embedding rows.

The daily run splits its articles into passages and caches their vectors, but keeps no record of
which cache row belongs to which article. The archive index (:mod:`detector.index.archive`) needs
one: a unit is a passage of a stored article as one splitter configuration cut it (``split``, a
hash of the splitter settings and the model), numbered by ``unit_id`` from a counter in
``store_meta`` that only grows, so an id is never reused for another passage (an index that still
holds a deleted id can be told from one that holds a current one).

All writes are one transaction each: a kill leaves the units of a batch of articles either all
there or all absent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from detector.store.store import Store
from detector.store.vectors import cached_vectors

UNIT_COLUMNS = [
    "unit_id",
    "split",
    "article_id",
    "content_hash",
    "passage_index",
    "published_at",
    "text_hash",
]


def meta(db: Store, key: str) -> str | None:
    row = _one(db, "SELECT value FROM store_meta WHERE key = ?", [key])
    return None if row is None else str(row[0])


def set_meta(db: Store, key: str, value: str) -> None:
    with db.transaction() as con:
        con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, value])


def store_id(db: Store) -> str:
    """The store's identity: a random id given on first use, kept with the store (a copy keeps it)."""
    known = meta(db, "store_id")
    if known is not None:
        return known
    new = uuid.uuid4().hex
    set_meta(db, "store_id", new)
    return new


def articles_without_units(
    db: Store, split: str, limit: int, after: tuple[datetime, str] | None = None
) -> pd.DataFrame:
    """Up to ``limit`` stored articles after ``after`` (``(published_at, id)``, naive UTC), oldest
    first, with no units for ``split`` at their current content: new articles, and edited ones
    (whose old units :func:`replace_units` drops). An article with no text has no units, hence
    the cursor: it would be found again on every call."""
    since, last = after or (datetime(1, 1, 1), "")
    frame = db.con_.execute(
        "SELECT a.* FROM articles a ANTI JOIN (SELECT DISTINCT article_id, content_hash FROM units "
        "WHERE split = ?) u ON u.article_id = a.id AND u.content_hash = a.content_hash "
        "WHERE (a.published_at, a.id) > (?, ?) ORDER BY a.published_at, a.id LIMIT ?",
        [split, since, last, limit],
    ).df()
    frame["published_at"] = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC")
    return frame


def registration_state(db: Store, split: str) -> str:
    """What the units of ``split`` were registered against: the articles' count and a digest of
    their ``(id, content_hash)``, and the units' count. An article added, edited or dropped, or a
    unit dropped, changes it; reading it scans two columns (10 ms at 100k articles), where finding
    the articles without units is an anti-join (80 ms at 100k, and growing with the store)."""
    articles = _one(
        db,
        "SELECT count(*), coalesce(sum(hash(id, content_hash))::HUGEINT % 18446744073709551616, 0) "
        "FROM articles",
        [],
    )
    units = _one(db, "SELECT count(*) FROM units WHERE split = ?", [split])
    return f"{articles[0] if articles else 0}:{articles[1] if articles else 0}:{units[0] if units else 0}"


def replace_units(
    db: Store, split: str, articles: pd.DataFrame, passages: pd.DataFrame, hashes: list[str]
) -> int:
    """Make ``passages`` (of ``articles``, with their cache ``hashes``) the units of those articles
    for ``split``, numbered from the store's counter; an article's earlier units go. One
    transaction. Returns how many units were added."""
    first = int(meta(db, "next_unit_id") or 0)
    rows = articles.iloc[passages["article_pos"].to_numpy()]
    frame = pd.DataFrame(
        {
            "unit_id": np.arange(first, first + len(passages), dtype=np.int64),
            "split": split,
            "article_id": rows["id"].to_numpy(),
            "content_hash": rows["content_hash"].to_numpy(),
            "passage_index": passages["index"].to_numpy(dtype=np.int32),
            "published_at": pd.to_datetime(rows["published_at"]).dt.tz_convert(None).to_numpy(),
            "text_hash": hashes,
        }
    )
    with db.transaction() as con:
        con.register("incoming_articles", articles[["id"]])
        con.execute(
            "DELETE FROM units WHERE split = ? AND article_id IN (SELECT id FROM incoming_articles)", [split]
        )
        con.unregister("incoming_articles")
        con.register("incoming_units", frame)
        con.execute(f"INSERT INTO units SELECT {', '.join(UNIT_COLUMNS)} FROM incoming_units")
        con.unregister("incoming_units")
        con.execute("INSERT OR REPLACE INTO store_meta VALUES ('next_unit_id', ?)", [str(first + len(frame))])
    return len(frame)


def unit_state(db: Store, split: str, upto: int) -> tuple[int, int]:
    """``(count, digest)`` of the units of ``split`` with ``unit_id <= upto``: the digest is a sum
    of hashes of (id, cache row), so a unit added, dropped or re-pointed below ``upto`` changes it."""
    row = _one(
        db,
        "SELECT count(*), coalesce(sum(hash(unit_id, text_hash))::HUGEINT % 18446744073709551616, 0) "
        "FROM units WHERE split = ? AND unit_id <= ?",
        [split, upto],
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


def next_unit_id(db: Store) -> int:
    return int(meta(db, "next_unit_id") or 0)


def sample_upto(db: Store, model_id: str, split: str, upto: int, size: int, seed: int) -> np.ndarray:
    """Vectors of a seeded sample of ``size`` units of ``split`` with ``unit_id <= upto``."""
    rows = db.con_.execute(
        "SELECT unit_id, text_hash FROM units WHERE split = ? AND unit_id <= ? "
        "ORDER BY hash(unit_id + ?), unit_id LIMIT ?",
        [split, upto, seed, size],
    ).df()
    return _with_vectors(db, model_id, rows.sort_values("unit_id"))[1]


def live_ids(db: Store, split: str, upto: int) -> np.ndarray:
    """Ids of the units of ``split`` with ``unit_id <= upto``."""
    rows = db.con_.execute(
        "SELECT unit_id FROM units WHERE split = ? AND unit_id <= ? ORDER BY unit_id", [split, upto]
    ).fetchnumpy()
    return np.asarray(rows["unit_id"], dtype=np.int64)


def unit_vectors(
    db: Store, model_id: str, split: str, lo: int, hi: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(unit ids, vectors)`` of up to ``limit`` units of ``split`` with ``lo <= unit_id < hi``, by id."""
    rows = db.con_.execute(
        "SELECT unit_id, text_hash FROM units WHERE split = ? AND unit_id >= ? AND unit_id < ? "
        "ORDER BY unit_id LIMIT ?",
        [split, lo, hi, limit],
    ).df()
    return _with_vectors(db, model_id, rows)


def vectors_of(db: Store, model_id: str, unit_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(unit ids, vectors)`` of the given units that still exist, by id."""
    rows = db.con_.execute(
        "SELECT unit_id, text_hash FROM units WHERE unit_id IN (SELECT unnest(?::BIGINT[])) ORDER BY unit_id",
        [_ints(unit_ids)],
    ).df()
    return _with_vectors(db, model_id, rows)


def sample_units(
    db: Store, model_id: str, split: str, since: datetime, until: datetime, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """A seeded sample of ``size`` units of ``split`` published in ``[since, until)`` (all of them
    when there are fewer): ``(unit ids, vectors, units in scope)``. The sample is the units with the
    smallest seeded hash of their id, so it is the same on every call for the same store."""
    total = scope_count(db, split, since, until)
    rows = db.con_.execute(
        "SELECT unit_id, text_hash FROM units WHERE split = ? AND published_at >= ? "
        "AND published_at < ? ORDER BY hash(unit_id + ?), unit_id LIMIT ?",
        [split, since, until, seed, size],
    ).df()
    ids, vectors = _with_vectors(db, model_id, rows.sort_values("unit_id"))
    return ids, vectors, total


def scope_count(db: Store, split: str, since: datetime, until: datetime) -> int:
    """How many units of ``split`` were published in ``[since, until)``."""
    row = _one(
        db,
        "SELECT count(*) FROM units WHERE split = ? AND published_at >= ? AND published_at < ?",
        [split, since, until],
    )
    return int(row[0]) if row else 0


def units_in_scope(db: Store, split: str, since: datetime, until: datetime) -> np.ndarray:
    """Ids of the units of ``split`` published in ``[since, until)``."""
    rows = db.con_.execute(
        "SELECT unit_id FROM units WHERE split = ? AND published_at >= ? AND published_at < ? "
        "ORDER BY unit_id",
        [split, since, until],
    ).fetchnumpy()
    return np.asarray(rows["unit_id"], dtype=np.int64)


def unit_rows(db: Store, unit_ids: np.ndarray) -> pd.DataFrame:
    """``unit_id, article_id, passage_index`` of the given units."""
    return db.con_.execute(
        "SELECT unit_id, article_id, passage_index FROM units "
        "WHERE unit_id IN (SELECT unnest(?::BIGINT[])) ORDER BY unit_id",
        [_ints(unit_ids)],
    ).df()


def articles_by_id(db: Store, ids: list[str]) -> pd.DataFrame:
    """The stored articles with these ids, in time order."""
    frame = db.con_.execute(
        "SELECT * FROM articles WHERE id IN (SELECT unnest(?::VARCHAR[])) ORDER BY published_at, id", [ids]
    ).df()
    frame["published_at"] = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC")
    return frame


def _ints(values: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(values, dtype=np.int64)]


def _one(db: Store, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The first row of ``sql``, its result fully read (DuckDB refuses other work on a connection
    with a result left open)."""
    rows = db.con_.execute(sql, params).fetchall()
    return rows[0] if rows else None


def _with_vectors(db: Store, model_id: str, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(unit ids, vectors)`` of the ``unit_id, text_hash`` rows (in their order) whose cache row
    exists (:func:`detector.store.vectors.cached_vectors`)."""
    present, vectors = cached_vectors(db.con_, rows["text_hash"].to_numpy(), model_id)
    return rows["unit_id"].to_numpy(dtype=np.int64)[present], vectors
