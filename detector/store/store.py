"""The store: one DuckDB file holding articles, the embedding cache, runs, clusters and flags.

Why DuckDB: one file, no server, transactional, fast columnar scans over a year of articles, and
pandas in and out without copies. Only one process may write the file at a time; a second one
gets :class:`~detector.errors.StoreBusyError` naming the run that holds it.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from detector.errors import NotFoundError, StoreBusyError, StoreDamagedError
from detector.store.health import NO_EXTENSIONS, check_file, check_size, translate
from detector.store.schema import create_or_migrate, transaction
from detector.store.themes import THEME_FRAMES, clear_themes, latest_theme_members, save_themes, theme_runs
from detector.store.vectors import cached_vectors

log = logging.getLogger(__name__)

NOTE_OF: dict[type[BaseException], str] = {KeyboardInterrupt: "interrupted by SIGINT (Ctrl-C)"}
READER_WAIT_S = 30.0  # how long a run waits for `show` / `report` to finish reading


class Store:
    """A DuckDB file. Use as a context manager; writes happen inside :meth:`transaction`.

    Parameters
    ----------
    path : file path; created with its schema on first use.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._run_id: str | None = None  # the run started and not yet finished by this process

    def __enter__(self) -> Store:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            check_file(self.path)  # not DuckDB at all: say what it is, not "in use"
            check_size(self.path)  # cut short: found without writing to it
        # DuckDB's own lock error does not say who holds the file, so a lock file beside it
        # records the holder (pid, then the run id once a run starts).
        self._lock = open(self.lock_path, "a+", encoding="utf-8")
        self._acquire()
        self._lock.seek(0)
        stale = self._lock.read().strip()
        if stale:
            # A clean exit empties the lock file; text left in it means its holder was killed.
            log.warning("store %s: the last holder (%s) ended without releasing it", self.path, stale)
        self._write_holder(f"process {os.getpid()}")
        try:
            self.con_ = duckdb.connect(str(self.path), config=NO_EXTENSIONS)
        except duckdb.Error as exc:
            self._release()
            raise (translate(self.path, exc) or exc) from None
        try:
            create_or_migrate(self.con_, self.path)
        except duckdb.Error as exc:
            self.con_.close()
            self._release()
            raise (translate(self.path, exc) or exc) from None
        return self

    def _acquire(self) -> None:
        """Take the writer's lock; wait up to :data:`READER_WAIT_S` for readers (``show``,
        ``report``: they hold it shared and write no holder), refuse at once if a writer has it."""
        deadline = time.monotonic() + READER_WAIT_S
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                self._lock.seek(0)
                holder = self._lock.read().strip()
                if holder or time.monotonic() > deadline:
                    self._lock.close()
                    raise StoreBusyError(
                        f"store {self.path} is in use by {holder or 'another process'}; wait for it "
                        "to finish, or point [store] path at another file."
                    ) from None
                time.sleep(0.2)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        domain = translate(self.path, exc) if exc is not None else None
        try:
            if exc is not None and self._run_id is not None and not isinstance(domain, StoreDamagedError):
                # An exception (not a kill) ended the run: say so in the runs table, with why.
                cause = domain if isinstance(domain, KeyboardInterrupt) else exc
                status = "interrupted" if isinstance(cause, KeyboardInterrupt) else "failed"
                try:
                    self.fail_run(self._run_id, cause, datetime.now(UTC).replace(tzinfo=None), status)
                except duckdb.Error as err:  # the original error matters more than this bookkeeping
                    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                    log.warning("could not mark run %s %s: %s", self._run_id, status, first)
        finally:
            self.con_.close()
            self._release()
        if domain is not None:
            raise domain from exc

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _write_holder(self, holder: str) -> None:
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(holder)
        self._lock.flush()

    def _release(self) -> None:
        self._write_holder("")
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return transaction(self.con_)

    # ---- articles ---------------------------------------------------------------------------
    def upsert_articles(self, articles: pd.DataFrame) -> dict[str, int]:
        """Insert new articles, update edited ones (new content hash), skip identical ones."""
        frame = articles.copy()
        frame["published_at"] = frame["published_at"].dt.tz_convert("UTC").dt.tz_localize(None)
        with self.transaction() as con:
            con.register("incoming", frame)
            changed = con.execute(
                "SELECT count(*) FROM incoming i JOIN articles a USING (id) "
                "WHERE a.content_hash <> i.content_hash OR a.published_at <> i.published_at "
                "OR a.outlet <> i.outlet OR a.bloc <> i.bloc OR a.language IS DISTINCT FROM i.language "
                "OR a.url IS DISTINCT FROM i.url"
            ).fetchone()
            known = con.execute("SELECT count(*) FROM incoming JOIN articles USING (id)").fetchone()
            con.execute(
                "INSERT INTO articles SELECT id, outlet, bloc, language, published_at, title, text, "
                "url, content_hash, source_file, source_row FROM incoming "
                "ON CONFLICT (id) DO UPDATE SET outlet = excluded.outlet, bloc = excluded.bloc, "
                "language = excluded.language, published_at = excluded.published_at, "
                "title = excluded.title, text = excluded.text, url = excluded.url, "
                "content_hash = excluded.content_hash"
            )
            con.unregister("incoming")
        n_known = int(known[0]) if known else 0
        n_changed = int(changed[0]) if changed else 0
        return {"new": len(frame) - n_known, "updated": n_changed, "unchanged": n_known - n_changed}

    def articles_between(self, start: datetime, end: datetime) -> pd.DataFrame:
        """Articles with ``start <= published_at < end`` (naive UTC bounds), ordered by time, id."""
        frame = self.con_.execute(
            "SELECT * FROM articles WHERE published_at >= ? AND published_at < ? ORDER BY published_at, id",
            [start, end],
        ).df()
        frame["published_at"] = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC")
        return frame

    def article_texts(self, ids: list[str]) -> pd.DataFrame:
        """``id, title, text`` of the stored articles among ``ids``."""
        self.con_.register("wanted", pd.DataFrame({"id": list(dict.fromkeys(ids))}, dtype=object))
        frame = self.con_.execute("SELECT a.id, a.title, a.text FROM articles a JOIN wanted USING (id)").df()
        self.con_.unregister("wanted")
        return frame

    def scope_size(self, start: datetime, end: datetime) -> tuple[int, int]:
        """``(articles, characters of title + text)`` with ``start <= published_at < end``."""
        row = self.con_.execute(
            "SELECT count(*), coalesce(sum(length(coalesce(title, '')) + length(coalesce(text, ''))), 0) "
            "FROM articles WHERE published_at >= ? AND published_at < ?",
            [start, end],
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def bloc_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """Articles per bloc with ``start <= published_at < end`` (naive UTC bounds)."""
        rows = self.con_.execute(
            "SELECT bloc, count(*) FROM articles WHERE published_at >= ? AND published_at < ? "
            "GROUP BY bloc ORDER BY bloc",
            [start, end],
        ).fetchall()
        return {str(bloc): int(n) for bloc, n in rows}

    def count(self, table: str) -> int:
        row = self.con_.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    # ---- embedding cache --------------------------------------------------------------------
    def cached_hashes(self, hashes: list[str], model_id: str) -> set[str]:
        if not hashes:
            return set()
        wanted = pd.DataFrame({"text_hash": list(set(hashes))})
        self.con_.register("wanted", wanted)
        rows = self.con_.execute(
            "SELECT e.text_hash FROM embeddings e JOIN wanted USING (text_hash) WHERE model_id = ?",
            [model_id],
        ).fetchall()
        self.con_.unregister("wanted")
        return {r[0] for r in rows}

    def put_embeddings(self, hashes: list[str], vectors: np.ndarray, model_id: str) -> None:
        frame = pd.DataFrame(
            {
                "text_hash": hashes,
                "model_id": model_id,
                "vector": [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors],
            }
        )
        with self.transaction() as con:
            con.register("batch", frame)
            con.execute("INSERT OR IGNORE INTO embeddings SELECT * FROM batch")
            con.unregister("batch")

    def put_embedding_tables(self, tables: Iterable[Any]) -> None:
        """Load Arrow tables of ``text_hash, model_id, vector`` rows (embedding shards) into the
        cache in one transaction: all of them or, after a crash, none."""
        with self.transaction() as con:
            for table in tables:
                con.register("shard", table)
                con.execute("INSERT OR IGNORE INTO embeddings SELECT text_hash, model_id, vector FROM shard")
                con.unregister("shard")

    def get_embeddings(self, hashes: list[str], model_id: str) -> np.ndarray:
        """Vectors in the order of ``hashes`` (which must all be cached)."""
        if not hashes:
            return np.zeros((0, 0), dtype=np.float32)
        present, vectors = cached_vectors(self.con_, hashes, model_id)
        if not present.all():
            raise KeyError(f"{int((~present).sum())} embeddings are not cached for {model_id}")
        return vectors

    # ---- runs, clusters, flags --------------------------------------------------------------
    def start_run(self, run_id: str, method_hash: str, model_id: str, started: datetime) -> list[str]:
        """Record ``run_id`` as running; returns the runs a crash had left 'running'.

        We hold the store's lock, so no other process can be running: any 'running' row was left
        by a process that died. Those rows are marked 'interrupted' (kept, for the record) before
        this run's row replaces an earlier attempt of the same run.
        """
        with self.transaction() as con:
            stale = [r[0] for r in con.execute(
                "SELECT run_id FROM runs WHERE status = 'running' ORDER BY started_at, run_id"
            ).fetchall()]  # fmt: skip
            for old in stale:
                log.warning("run %s was left 'running' by a crash; superseded by run %s", old, run_id)
            con.execute(
                "UPDATE runs SET status = 'interrupted', note = ? WHERE status = 'running'",
                [f"process died; superseded by run {run_id} started {started:%Y-%m-%dT%H:%M:%S}Z"],
            )
            con.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
            clear_themes(con, run_id)  # an earlier attempt's themes must not pass for this one's
            con.execute(
                "INSERT INTO runs VALUES (?, ?, NULL, 'running', ?, ?, NULL, NULL)",
                [run_id, started, method_hash, model_id],
            )
        self._write_holder(f"run {run_id} (process {os.getpid()})")
        self._run_id = run_id
        return stale

    def finish_run(
        self, run_id: str, flags: pd.DataFrame, manifest: dict[str, Any], finished: datetime
    ) -> None:
        """Store the run's flags and mark it done in one transaction: a crash leaves either the
        old flags and a 'running' row, or the new flags and a 'done' row."""
        rows = [
            (run_id, rank, str(rec["narrative_id"]), json.dumps(rec, default=str))
            for rank, rec in enumerate(flags.to_dict("records"), start=1)
        ]
        with self.transaction() as con:
            con.execute("DELETE FROM flags WHERE run_id = ?", [run_id])
            if rows:
                con.executemany("INSERT INTO flags VALUES (?, ?, ?, ?)", rows)
            con.execute(
                "INSERT INTO first_flagged SELECT narrative_id, run_id FROM flags WHERE run_id = ? "
                "ON CONFLICT DO NOTHING", [run_id]
            )  # fmt: skip
            con.execute(
                "UPDATE runs SET status = 'done', finished_at = ?, manifest = ?, note = NULL "
                "WHERE run_id = ?",
                [finished, json.dumps(manifest, default=str), run_id],
            )
        self._run_id = None

    def fail_run(self, run_id: str, error: BaseException, finished: datetime, status: str = "failed") -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE runs SET status = ?, finished_at = ?, note = ? WHERE run_id = ?",
                [status, finished, NOTE_OF.get(type(error), f"{type(error).__name__}: {error}"), run_id],
            )
        self._run_id = None

    def runs(self) -> pd.DataFrame:
        """Every recorded run, oldest first (``run_id, started_at, finished_at, status, note``)."""
        return self.con_.execute(
            "SELECT run_id, started_at, finished_at, status, method_hash, model_id, note FROM runs "
            "ORDER BY started_at, run_id"
        ).df()

    def replace_clusters(self, method_hash: str, frame: pd.DataFrame, window_starts: list[datetime]) -> None:
        """Make ``frame`` the cluster rows of the windows starting at ``window_starts`` (naive
        UTC; one transaction). Every window the run clustered is named, also those in which it
        found nothing: their rows from an earlier run must go too."""
        with self.transaction() as con:
            con.register("incoming", frame.assign(method_hash=method_hash))
            con.execute(
                "DELETE FROM clusters WHERE method_hash = ? AND (window_start IN "
                "(SELECT DISTINCT window_start FROM incoming) OR window_start IN (SELECT unnest(?)))",
                [method_hash, window_starts],
            )
            con.execute(
                "INSERT INTO clusters SELECT method_hash, window_start, window_end, label, "
                "narrative_id, article_id, membership FROM incoming"
            )
            con.unregister("incoming")

    def clusters_of_window(self, method_hash: str, window_start: datetime) -> pd.DataFrame:
        return self.con_.execute(
            "SELECT * FROM clusters WHERE method_hash = ? AND window_start = ? ORDER BY article_id",
            [method_hash, window_start],
        ).df()

    def narrative_members(self, method_hash: str, narrative_ids: list[str]) -> pd.DataFrame:
        """Articles of the given narratives across all stored windows, one row per
        (narrative, window, article), with ``narrative_id`` and ``membership``."""
        wanted = pd.DataFrame({"narrative_id": narrative_ids})
        self.con_.register("wanted", wanted)
        frame = self.con_.execute(
            "SELECT c.narrative_id, c.article_id, c.membership, a.* FROM clusters c "
            "JOIN wanted USING (narrative_id) JOIN articles a ON a.id = c.article_id "
            "WHERE c.method_hash = ? ORDER BY c.narrative_id, a.published_at, a.id",
            [method_hash],
        ).df()
        self.con_.unregister("wanted")
        frame["published_at"] = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC")
        return frame

    # ---- report frames ----------------------------------------------------------------------
    def put_report_frames(self, run_id: str, frames: dict[str, pd.DataFrame]) -> None:
        """Keep the frames a run's reports were written from, so ``detector report --run`` can
        write them again without recomputing. Parquet keeps dtypes (UTC timestamps, floats) exact,
        which is what makes the re-written CSVs byte-identical."""
        rows = []
        for name, frame in frames.items():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            rows.append((run_id, name, buffer.getvalue()))
        with self.transaction() as con:
            con.execute(
                "DELETE FROM report_rows WHERE run_id = ? AND report NOT IN (SELECT unnest(?))",
                [run_id, list(THEME_FRAMES)],
            )
            if rows:
                con.executemany("INSERT INTO report_rows VALUES (?, ?, ?)", rows)

    # ---- themes (detector/store/themes.py) --------------------------------------------------
    def save_themes(
        self,
        run_id: str,
        themes: pd.DataFrame,
        theme_members: pd.DataFrame,
        theme_daily: pd.DataFrame | None = None,
    ) -> None:
        """Keep a run's themes and their members (and daily volumes), replacing an earlier attempt's."""
        save_themes(self.con_, run_id, themes, theme_members, theme_daily)

    def latest_theme_members(self, before_run_id: str | None = None) -> pd.DataFrame:
        """The members of the newest finished run with themes (before ``before_run_id``)."""
        return latest_theme_members(self.con_, before_run_id)

    def theme_runs(self, theme_id: str) -> list[str]:
        """Finished runs that hold ``theme_id``, newest first."""
        return theme_runs(self.con_, theme_id)

    def report_frames(self, run_id: str) -> dict[str, pd.DataFrame]:
        """The frames :meth:`put_report_frames` kept for ``run_id``, by report name."""
        rows = self.con_.execute(
            "SELECT report, frame FROM report_rows WHERE run_id = ? ORDER BY report", [run_id]
        ).fetchall()
        return {name: pd.read_parquet(io.BytesIO(blob)) for name, blob in rows}

    def run_manifest(self, run_id: str) -> dict[str, Any]:
        """The manifest of a finished run; :class:`NotFoundError` names the runs there are."""
        row = self.con_.execute(
            "SELECT manifest FROM runs WHERE run_id = ? AND status = 'done'", [run_id]
        ).fetchone()
        if row is None or row[0] is None:
            known = ", ".join(self.finished_runs()) or "none"
            raise NotFoundError(
                f"run {run_id} has not finished in store {self.path}. Finished runs: {known}. Fix: pass "
                "--run one of them (the first word `detector run` printed), or --store the run's store."
            )
        manifest: dict[str, Any] = json.loads(row[0])
        return manifest

    def finished_runs(self) -> list[str]:
        """Ids of finished runs, newest first."""
        rows = self.con_.execute(
            "SELECT run_id FROM runs WHERE status = 'done' ORDER BY finished_at DESC, run_id"
        ).fetchall()
        return [r[0] for r in rows]
