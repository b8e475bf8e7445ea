from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.errors import StoreBusyError
from detector.ingest import content_hash
from detector.store import Store


def articles(title: str = "t") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["x1", "x2"], "outlet": ["TASS", "CGTN"], "bloc": ["ru", "cn"],
            "language": ["ru", "en"],
            "published_at": pd.to_datetime(["2022-03-08T10:00Z", "2022-03-09T10:00Z"], utc=True),
            "title": [title, "b"], "text": ["", ""], "url": ["", ""],
            "content_hash": [content_hash(title, ""), content_hash("b", "")],
            "source_file": ["f", "f"], "source_row": [1, 2],
        }
    )  # fmt: skip


def test_reingesting_is_a_noop_and_edits_update(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as db:
        assert db.upsert_articles(articles()) == {"new": 2, "updated": 0, "unchanged": 0}
        assert db.upsert_articles(articles()) == {"new": 0, "updated": 0, "unchanged": 2}
        assert db.upsert_articles(articles("edited")) == {"new": 0, "updated": 1, "unchanged": 1}
        assert db.count("articles") == 2
        got = db.articles_between(pd.Timestamp("2022-03-08"), pd.Timestamp("2022-03-09"))
        assert list(got["id"]) == ["x1"]
        assert got.loc[0, "title"] == "edited"


def test_embedding_cache_round_trip(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    with Store(tmp_path / "s.duckdb") as db:
        db.put_embeddings(["h1", "h2", "h3"], vectors, "m")
        db.put_embeddings(["h1"], vectors[:1] * 0, "m")  # already cached: ignored
        assert db.cached_hashes(["h1", "h3", "zz"], "m") == {"h1", "h3"}
        assert db.cached_hashes(["h1"], "other-model") == set()
        np.testing.assert_array_equal(db.get_embeddings(["h3", "h1"], "m"), vectors[[2, 0]])


def _hold(path: str, ready, release) -> None:  # runs in a child process
    with Store(path) as db:
        db.start_run("run-abc", "m", "model", pd.Timestamp("2022-01-01").to_pydatetime())
        ready.set()
        release.wait(10)


def test_second_writer_gets_a_clear_busy_error(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(str(tmp_path / "s.duckdb"), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(StoreBusyError, match=r"in use by run run-abc"), Store(tmp_path / "s.duckdb"):
            pass
    finally:
        release.set()
        child.join(10)
    with Store(tmp_path / "s.duckdb") as db:  # released: usable again
        assert db.count("runs") == 1
