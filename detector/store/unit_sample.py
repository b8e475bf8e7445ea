"""The calibration sample kept with the store: a seeded sample of the units, vectors included.

``detector search`` and ``detector track`` fit their score tail on the ``size`` units of the scope
with the smallest seeded hash of their id (:func:`detector.store.units.sample_units`). Those
units lie all over the embedding cache, so reading their vectors reads every vector of it: at a
million articles 0.9 s warm and 2.3 GB of cache, on every search. This table holds every unit
whose seeded hash (``rank``) is below a threshold, with its vector, in ~2 KiB a row: a Bernoulli
sample, read in one short scan.

**Why the answer is the same.** The ``size`` smallest-rank units of a scope are all below the
threshold whenever the table holds at least ``size`` units of that scope; so when it does, it
holds exactly the units a direct read would pick, and :func:`scope_sample` answers from it; when
it does not (a narrow ``--since`` scope, a larger ``size``), the caller reads the cache directly.

**Only for large stores**: a scope of at most ``4 * keep`` units is read from the cache directly
(:func:`serves`), so a store of fewer units starts no sample.

**Bounded.** When the table outgrows ``4 * keep`` rows, the threshold is lowered so that
``2 * keep`` remain (a Bernoulli sample of a Bernoulli sample is one at the lower rate).

**In step with the units**, by :func:`refresh` (run by each daily run after the archive update,
and by search and track before they read it): units added since (ids above the last covered)
are sampled in; rows of units the store dropped (pruned, edited) are removed; a sample made for
another seed is rebuilt. Its state (seed, threshold, last id, and the units' count and digest it
covers) sits in ``store_meta`` and changes in the transaction that changes the rows, so a kill
leaves the old sample or the new one; :func:`scope_sample` answers only from the state
:func:`refresh` returned, and not once a unit has been added since.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from detector.store import units as unit_table
from detector.store.store import Store
from detector.store.vectors import cached_vectors

log = logging.getLogger(__name__)

KEEP = 50_000  # rows the table keeps at least (when the store has them): the default sample size
SEED = 0  # the seed of search's and track's calibration sample (``ArchiveScope.seed``)
BATCH = 50_000  # units sampled in per transaction
FULL = 2**64  # threshold above every rank: the table starts as every unit


def _key(split: str) -> str:
    return f"unit_sample:{split}"


def state(db: Store, split: str) -> dict[str, int] | None:
    raw = unit_table.meta(db, _key(split))
    return None if raw is None else dict(json.loads(raw))


def serves(scope_units: int, keep: int = KEEP) -> bool:
    """Whether a scope is read through the kept sample: one of over ``4 * keep`` units (below, a
    direct read of the cache is as short, and a small store keeps no copy of its vectors)."""
    return scope_units > 4 * keep


def refresh(
    db: Store, model_id: str, split: str, seed: int = SEED, keep: int = KEEP
) -> dict[str, int] | None:
    """Bring the sample of ``split`` up to the store's units (see the module doc) and return its
    state; a store too small to be :func:`serves`'d starts none (``None``)."""
    known = state(db, split)
    if known is None or known["seed"] != seed:
        units = unit_table.unit_state(db, split, unit_table.next_unit_id(db) - 1)[0]
        if not serves(units, keep):
            return None
        # A new sample starts at the rate that gives ~2 * keep rows of the units there are now.
        threshold = FULL if units <= 2 * keep else FULL * 2 * keep // units
        known = {"seed": seed, "threshold": threshold, "upto": -1, "count": 0, "digest": 0}
        with db.transaction() as con:
            con.execute("DELETE FROM unit_sample WHERE split = ?", [split])
            _record(con, split, known)
    count, digest = unit_table.unit_state(db, split, known["upto"])
    if (count, digest) != (known["count"], known["digest"]):
        with db.transaction() as con:  # units dropped (pruned, edited) below the last covered id
            con.execute(
                "DELETE FROM unit_sample s WHERE split = ? AND NOT EXISTS "
                "(SELECT 1 FROM units u WHERE u.unit_id = s.unit_id AND u.split = s.split)",
                [split],
            )
            _record(con, split, known | {"count": count, "digest": digest})
        known = known | {"count": count, "digest": digest}
    last = unit_table.next_unit_id(db) - 1
    while known["upto"] < last:  # thinned after every batch: the table never holds much more
        known = _thin(db, split, _sample_in(db, model_id, split, known, last), keep)
    return known


def _sample_in(db: Store, model_id: str, split: str, known: dict[str, int], last: int) -> dict[str, int]:
    """Sample in the next batch of units above the last covered id; returns the new state."""
    rows = db.con_.execute(
        "SELECT unit_id, published_at, hash(unit_id + ?) AS rank, text_hash FROM units "
        "WHERE split = ? AND unit_id > ? AND unit_id <= ? ORDER BY unit_id LIMIT ?",
        [known["seed"], split, known["upto"], last, BATCH],
    ).df()
    upto = int(rows["unit_id"].iloc[-1]) if len(rows) == BATCH else last
    ranks = rows["rank"].to_numpy(dtype=np.uint64)
    picked = rows if known["threshold"] >= FULL else rows[ranks < np.uint64(known["threshold"])]
    present, vectors = cached_vectors(db.con_, picked["text_hash"].to_numpy(), model_id)
    picked = picked[present]
    frame = pd.DataFrame(
        {
            "unit_id": picked["unit_id"].to_numpy(dtype=np.int64),
            "split": split,
            "published_at": picked["published_at"].to_numpy(),
            "rank": picked["rank"].to_numpy(dtype=np.uint64),
            "vector": [row.tobytes() for row in vectors],
        }
    )
    count, digest = unit_table.unit_state(db, split, upto)
    new = known | {"upto": upto, "count": count, "digest": digest}
    with db.transaction() as con:
        con.register("sampled", frame)
        con.execute("INSERT INTO unit_sample SELECT unit_id, split, published_at, rank, vector FROM sampled")
        con.unregister("sampled")
        _record(con, split, new)
    return new


def _thin(db: Store, split: str, known: dict[str, int], keep: int) -> dict[str, int]:
    """Lower the threshold so that ``2 * keep`` rows remain, once there are over ``4 * keep``."""
    rows = db.con_.execute("SELECT count(*) FROM unit_sample WHERE split = ?", [split]).fetchall()
    if not rows or int(rows[0][0]) <= 4 * keep:
        return known
    cut = db.con_.execute(
        "SELECT rank FROM unit_sample WHERE split = ? ORDER BY rank LIMIT 1 OFFSET ?", [split, 2 * keep]
    ).fetchall()
    threshold = int(cut[0][0])
    with db.transaction() as con:
        con.execute("DELETE FROM unit_sample WHERE split = ? AND rank >= ?", [split, threshold])
        _record(con, split, known | {"threshold": threshold})
    log.info("calibration sample of %s: thinned to %d rows", split, 2 * keep)
    return known | {"threshold": threshold}


def _record(con: duckdb.DuckDBPyConnection, split: str, value: dict[str, int]) -> None:
    con.execute(
        "INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [_key(split), json.dumps(value, sort_keys=True)]
    )


def scope_sample(
    db: Store, split: str, known: dict[str, int], since: datetime, until: datetime, size: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(unit ids, vectors)`` of the ``size`` smallest-rank units published in ``[since, until)``,
    by id, from the sample in state ``known`` (as :func:`refresh` just returned it), when it holds
    that many; else ``None`` (read the cache)."""
    if known["upto"] != unit_table.next_unit_id(db) - 1:  # a unit added since the refresh
        return None
    # The ids first, then their vectors: a sort that carries 2 KiB blobs costs 3x the two reads.
    found = db.con_.execute(
        "SELECT unit_id, vector FROM unit_sample WHERE split = ? AND unit_id IN (SELECT unit_id "
        "FROM unit_sample WHERE split = ? AND published_at >= ? AND published_at < ? "
        "ORDER BY rank, unit_id LIMIT ?) ORDER BY unit_id",
        [split, split, since, until, size],
    ).fetchnumpy()
    blobs = found["vector"]
    if len(blobs) < size:
        return None
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
    return np.asarray(found["unit_id"], dtype=np.int64), matrix
