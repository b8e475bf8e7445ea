"""The store's tables, and the migrations that bring a store made by an older version up to them.

Tables added since (``themes``, ``theme_members``) are created by ``CREATE TABLE IF NOT EXISTS``
when an older store is next opened for writing: nothing in the older tables changes. Every
migration is idempotent (a no-op on a current store) and runs when a store is opened, so a
newcomer never runs a migration by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id VARCHAR PRIMARY KEY,       -- the feed's own id, verbatim
    outlet VARCHAR NOT NULL,
    bloc VARCHAR NOT NULL,
    language VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL,  -- UTC
    title VARCHAR,
    text VARCHAR,
    url VARCHAR,
    content_hash VARCHAR NOT NULL,
    source_file VARCHAR,
    source_row INTEGER
);
CREATE TABLE IF NOT EXISTS embeddings (
    text_hash VARCHAR NOT NULL,   -- sha256 of the exact text embedded
    model_id VARCHAR NOT NULL,
    vector BLOB NOT NULL,         -- float32, L2-normalised
    PRIMARY KEY (text_hash, model_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,      -- running | done | failed | interrupted
    method_hash VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    manifest JSON,
    note VARCHAR                  -- why a run failed or was interrupted
);
CREATE TABLE IF NOT EXISTS clusters (
    method_hash VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    label INTEGER NOT NULL,
    narrative_id VARCHAR NOT NULL,
    article_id VARCHAR NOT NULL,
    membership DOUBLE NOT NULL,
    -- label in the key: with passage units one transcript can be in several narratives
    PRIMARY KEY (method_hash, window_start, label, article_id)
);
CREATE TABLE IF NOT EXISTS flags (
    run_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    narrative_id VARCHAR NOT NULL,
    payload JSON NOT NULL,        -- the flags.csv row, column for column
    PRIMARY KEY (run_id, narrative_id)
);
-- The archive's units (detector.store.units): one row per passage of every stored article, as
-- one splitter configuration (split) cuts it; unit_id numbers them for the archive index.
CREATE TABLE IF NOT EXISTS units (
    unit_id BIGINT NOT NULL,      -- from store_meta 'next_unit_id', never reused
    split VARCHAR NOT NULL,       -- hash of the splitter settings and model
    article_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,  -- of the article text the unit was cut from
    passage_index INTEGER NOT NULL,
    published_at TIMESTAMP NOT NULL,
    text_hash VARCHAR NOT NULL    -- its embedding cache row
);
-- A seeded sample of the units with their vectors, for calibrating search and track
-- (detector/store/unit_sample.py): every unit whose rank is below a threshold.
CREATE TABLE IF NOT EXISTS unit_sample (
    unit_id BIGINT NOT NULL,
    split VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL,
    rank UBIGINT NOT NULL,        -- hash(unit_id + seed)
    vector BLOB NOT NULL          -- the unit's cached vector, float32
);
CREATE TABLE IF NOT EXISTS store_meta (
    key VARCHAR PRIMARY KEY,      -- store_id | next_unit_id | archive_trained:<split>
                                  -- | units_registered:<split> | unit_sample:<split>
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS report_rows (
    run_id VARCHAR NOT NULL,
    report VARCHAR NOT NULL,      -- flags | members | pairs ...
    frame BLOB NOT NULL,          -- the exact frame the report was written from, as Parquet
    PRIMARY KEY (run_id, report)
);
CREATE TABLE IF NOT EXISTS themes (   -- a run's themes (detector/store/themes.py)
    run_id VARCHAR NOT NULL,
    theme_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,        -- the row's place in themes.csv
    flagged BOOLEAN NOT NULL,
    q_value DOUBLE,               -- NULL when the period cannot support a timing null
    articles INTEGER NOT NULL,
    PRIMARY KEY (run_id, theme_id)
);
CREATE TABLE IF NOT EXISTS theme_members (
    run_id VARCHAR NOT NULL,
    theme_id VARCHAR NOT NULL,
    article_id VARCHAR NOT NULL,  -- the feed's own id
    bloc VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL,  -- UTC
    centrality DOUBLE
);
CREATE TABLE IF NOT EXISTS verdicts (  -- append-only: the latest row per target counts
    seq INTEGER PRIMARY KEY,      -- order of recording, 1, 2, ...
    kind VARCHAR NOT NULL,        -- narrative | theme
    target_id VARCHAR NOT NULL,   -- narrative_id or theme_id
    verdict VARCHAR NOT NULL,     -- confirmed | dismissed | unsure | '' (cleared)
    previous VARCHAR,             -- the verdict this row replaced (NULL: none before)
    note VARCHAR NOT NULL,
    analyst VARCHAR NOT NULL,     -- who (verdict_by)
    decided_at TIMESTAMP NOT NULL,  -- when the analyst decided (verdict_at), UTC
    recorded_at TIMESTAMP NOT NULL, -- when it was imported or carried, UTC
    source VARCHAR NOT NULL,      -- the file imported, or 'lineage'
    carried_from VARCHAR,         -- lineage: the narrative whose verdict this is
    run_id VARCHAR,               -- lineage: the run that carried it
    snapshot JSON                 -- evidence when decided: outlets, channel types, statements
);
CREATE TABLE IF NOT EXISTS first_flagged (
    narrative_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL       -- the first run that flagged it (flags.csv `new`)
);
"""


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All statements inside or none (rolled back on any exception)."""
    try:
        # BEGIN inside the try: a Ctrl-C landing just after it must still roll back, or the
        # connection stays in a transaction and marking the run interrupted fails.
        con.execute("BEGIN TRANSACTION")
        yield con
    except BaseException:
        with suppress(duckdb.Error):  # the interrupt came before BEGIN took effect: none to undo
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def create_or_migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create the tables of a new store, or bring an older store's up to date (``path`` names it
    in the log)."""
    con.execute(SCHEMA)
    # Stores created before the note column existed get it here (a no-op afterwards).
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS note VARCHAR")
    widen_cluster_key(con, path)
    # Stores made before verdicts existed: their runs' flags were first flagged by the earliest
    # run that finished with them (a no-op afterwards, as finish_run records each run's).
    con.execute(
        "INSERT INTO first_flagged SELECT f.narrative_id, arg_min(f.run_id, r.finished_at) FROM flags f "
        "JOIN runs r USING (run_id) WHERE r.status = 'done' AND f.narrative_id NOT IN "
        "(SELECT narrative_id FROM first_flagged) GROUP BY f.narrative_id"
    )


def widen_cluster_key(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Stores made before an article could sit in two narratives of one window keyed clusters by
    (method, window, article); copy them into the current key (a no-op after)."""
    key = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'clusters' AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    if not key or "label" in key[0][0]:
        return
    create = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS clusters") :].split(";")[0]
    with transaction(con):
        con.execute("ALTER TABLE clusters RENAME TO clusters_old")
        con.execute(create)
        con.execute("INSERT INTO clusters SELECT * FROM clusters_old")
        con.execute("DROP TABLE clusters_old")
    log.info("store %s: clusters table re-keyed by (method, window, label, article)", path)
