"""The store's readers and its writer side by side, on a real DuckDB file."""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from detector.errors import StoreBusyError
from detector.store.reader import StoreReader
from detector.store.store import Store


def test_a_run_waits_for_a_reader_and_a_reader_never_waits(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as db:
        db.start_run("run-a", "m", "model", datetime(2024, 11, 27))
        db.finish_run("run-a", pd.DataFrame(), {"run_id": "run-a"}, datetime(2024, 11, 27, 1))
    reader = StoreReader(path).__enter__()  # as `detector show` holds it, for one second
    threading.Timer(1.0, reader.__exit__, (None, None, None)).start()
    with Store(path) as db:  # waits for the reader instead of failing
        assert db.finished_runs() == ["run-a"]
        db.start_run("run-b", "m", "model", datetime(2024, 11, 28))
        with StoreReader(path) as snapshot:  # a run holds it: the reader reads a copy
            assert snapshot.finished_runs() == ["run-a"]
            assert snapshot.con_.execute("SELECT count(*) FROM runs").fetchone() == (2,)
        db.finish_run("run-b", pd.DataFrame(), {"run_id": "run-b"}, datetime(2024, 11, 28, 1))


def test_a_writer_is_refused_at_once_when_another_writer_holds_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as db:
        db.start_run("run-a", "m", "model", datetime(2024, 11, 27))
        with pytest.raises(StoreBusyError, match="in use by run run-a"), Store(path):
            pass
        with open(db.lock_path, encoding="utf-8") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the writer's lock is exclusive


def test_ctrl_c_that_duckdb_wrapped_in_its_own_error_is_still_ctrl_c(tmp_path: Path) -> None:
    """DuckDB turns a KeyboardInterrupt raised in Python code it calls (a pandas scan, a UDF) into
    one of its errors: the store hands it on as Ctrl-C and marks the run interrupted."""

    def interrupted(value: int) -> int:
        raise KeyboardInterrupt

    path = tmp_path / "s.duckdb"

    def run() -> None:
        with Store(path) as db:
            db.start_run("run-a", "m", "model", datetime(2024, 11, 27))
            db.con_.create_function("interrupted", interrupted)
            db.con_.execute("SELECT interrupted(1)").fetchall()

    with pytest.raises(KeyboardInterrupt):
        run()
    with Store(path) as db:
        assert db.runs()[["status", "note"]].to_numpy().tolist() == [
            ["interrupted", "interrupted by SIGINT (Ctrl-C)"]
        ]


def test_ctrl_c_during_a_query_is_ctrl_c(tmp_path: Path) -> None:
    """A SIGINT while DuckDB runs a query surfaces as ``RuntimeError: Query interrupted``."""
    path = tmp_path / "s.duckdb"

    def run() -> None:
        with Store(path) as db:
            db.start_run("run-a", "m", "model", datetime(2024, 11, 27))
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
            db.con_.execute("SELECT sum(i * i) FROM range(10000000000) t(i)").fetchall()

    with pytest.raises(KeyboardInterrupt):
        run()
    with Store(path) as db:
        assert db.runs()["status"].tolist() == ["interrupted"]
