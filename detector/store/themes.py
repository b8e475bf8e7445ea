"""The store's theme tables: each run's themes and their members, keyed by run id.

Two uses. The next daily run names its themes after the latest earlier run's
(:func:`latest_theme_members` feeds :class:`detector.themes.lineage.ThemeLineage`),
which needs the members as rows it can query; and ``detector report --run`` / ``detector show``
re-read a run's theme reports exactly, which needs the frames the CSVs were written from. So
``themes`` and ``theme_members`` hold the queryable columns, and the exact frames (``themes``,
``theme_members``, ``theme_daily``) go beside the run's other report frames in ``report_rows``
as Parquet, as :meth:`detector.store.store.Store.put_report_frames` keeps those.

A store made before these tables existed gets them when it is next opened for writing; read
only (``show``, ``report``), such a store simply has no themes.
"""

from __future__ import annotations

import io

import duckdb
import pandas as pd

from detector.store.schema import transaction

# The report frames a theme stage stores; put_report_frames leaves them to save_themes.
THEME_FRAMES = ("themes", "theme_members", "theme_daily")
MEMBER_FIELDS = ["theme_id", "id", "bloc", "published_at", "centrality"]


def save_themes(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    themes: pd.DataFrame,
    theme_members: pd.DataFrame,
    theme_daily: pd.DataFrame | None = None,
) -> None:
    """Make ``themes`` (one row per theme, ranked in frame order) and ``theme_members`` the
    run's themes, replacing any an earlier attempt of the run stored (one transaction).
    The frames carry the columns of ``docs/reports.md`` "themes.csv" / "theme_members.csv"."""
    ranked = pd.DataFrame({
        "run_id": run_id,
        "theme_id": themes["theme_id"].astype(str),
        "rank": range(1, len(themes) + 1),
        "flagged": themes["flagged"].astype(bool),
        "q_value": pd.to_numeric(themes["q_value"], errors="coerce"),
        "articles": themes["articles"].astype(int),
    })  # fmt: skip
    members = pd.DataFrame({
        "run_id": run_id,
        "theme_id": theme_members["theme_id"].astype(str),
        "article_id": theme_members["id"].astype(str),
        "bloc": theme_members["bloc"].astype(str),
        "published_at": pd.to_datetime(theme_members["published_at"], utc=True).dt.tz_localize(None),
        "centrality": pd.to_numeric(theme_members["centrality"], errors="coerce"),
    })  # fmt: skip
    frames = {"themes": themes, "theme_members": theme_members}
    frames |= {"theme_daily": theme_daily} if theme_daily is not None else {}
    blobs = []
    for name, frame in frames.items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        blobs.append((run_id, name, buffer.getvalue()))
    with transaction(con):
        clear_themes(con, run_id)
        con.register("incoming_themes", ranked)
        con.register("incoming_members", members)
        con.execute("INSERT INTO themes SELECT * FROM incoming_themes")
        con.execute("INSERT INTO theme_members SELECT * FROM incoming_members")
        con.unregister("incoming_themes")
        con.unregister("incoming_members")
        con.executemany("INSERT INTO report_rows VALUES (?, ?, ?)", blobs)


def latest_theme_members(con: duckdb.DuckDBPyConnection, before_run_id: str | None = None) -> pd.DataFrame:
    """``theme_id, id, bloc, published_at, centrality`` rows of the newest finished run that
    stored themes (started before ``before_run_id`` when given, never that run itself);
    empty when there is none."""
    if not has_theme_tables(con):
        return pd.DataFrame(columns=MEMBER_FIELDS)
    before = "AND r.started_at < (SELECT started_at FROM runs WHERE run_id = ?) AND r.run_id <> ?"
    found = con.execute(
        "SELECT r.run_id FROM runs r WHERE r.status = 'done' AND EXISTS "
        f"(SELECT 1 FROM themes t WHERE t.run_id = r.run_id) {before if before_run_id else ''} "
        "ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1",
        [before_run_id, before_run_id] if before_run_id else [],
    ).fetchone()
    if found is None:
        return pd.DataFrame(columns=MEMBER_FIELDS)
    frame = con.execute(
        "SELECT theme_id, article_id AS id, bloc, published_at, centrality FROM theme_members "
        "WHERE run_id = ? ORDER BY theme_id, published_at, article_id",
        [found[0]],
    ).df()
    frame["published_at"] = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC")
    return frame


def theme_runs(con: duckdb.DuckDBPyConnection, theme_id: str) -> list[str]:
    """Finished runs that hold ``theme_id``, newest first."""
    if not has_theme_tables(con):
        return []
    rows = con.execute(
        "SELECT r.run_id FROM runs r JOIN themes t USING (run_id) WHERE t.theme_id = ? "
        "AND r.status = 'done' ORDER BY r.finished_at DESC, r.run_id",
        [theme_id],
    ).fetchall()
    return [r[0] for r in rows]


def has_theme_tables(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('themes', 'theme_members')"
    ).fetchone()
    return row is not None and row[0] == 2


def clear_themes(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Remove what a run stored of its themes (inside the caller's transaction)."""
    con.execute("DELETE FROM themes WHERE run_id = ?", [run_id])
    con.execute("DELETE FROM theme_members WHERE run_id = ?", [run_id])
    con.execute(
        "DELETE FROM report_rows WHERE run_id = ? AND report IN (SELECT unnest(?))",
        [run_id, list(THEME_FRAMES)],
    )
