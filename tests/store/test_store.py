from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.errors import NotFoundError, StoreBusyError
from detector.report.writer import write_csv
from detector.sources.ingest import content_hash
from detector.store.store import Store


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


def test_report_frames_round_trip_to_identical_csvs(tmp_path: Path) -> None:
    flags = pd.DataFrame(
        {"narrative_id": ["N1", "N2"], "score": [0.8765, 0.5], "best_similarity": [0.8765, np.nan],
         "first_seen": pd.to_datetime(["2022-03-08T10:00Z", "2022-03-09T11:30Z"], utc=True),
         "best_cn_title": ['美国生物实验室，"引号"', None]}
    )  # fmt: skip
    members = articles().assign(narrative_id="N1", similarity_to_centre=[0.91, 0.77])
    with Store(tmp_path / "s.duckdb") as db:
        db.put_report_frames("run-1", {"flags": flags, "members": members, "empty": pd.DataFrame()})
        back = db.report_frames("run-1")
    assert sorted(back) == ["empty", "flags", "members"]
    for name, frame in {"flags": flags, "members": members}.items():
        write_csv(frame, tmp_path / f"a-{name}.csv", list(frame.columns))
        write_csv(back[name], tmp_path / f"b-{name}.csv", list(frame.columns))
        assert (tmp_path / f"a-{name}.csv").read_bytes() == (tmp_path / f"b-{name}.csv").read_bytes()


def test_unknown_run_names_the_finished_ones(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as db:
        db.start_run("run-a", "m", "model", pd.Timestamp("2022-01-01").to_pydatetime())
        db.finish_run(
            "run-a", pd.DataFrame(columns=["narrative_id"]), {"run_id": "run-a"},
            pd.Timestamp("2022-01-01T01:00").to_pydatetime(),
        )  # fmt: skip
        assert db.run_manifest("run-a") == {"run_id": "run-a"}
        with pytest.raises(NotFoundError, match=r"run-b has not finished .* Finished runs: run-a\."):
            db.run_manifest("run-b")


def test_a_run_left_running_by_a_crash_is_marked_interrupted_and_superseded(tmp_path: Path) -> None:
    started = pd.Timestamp("2022-01-01").to_pydatetime()
    with Store(tmp_path / "s.duckdb") as db:
        db.start_run("run-dead", "m", "model", started)
        db._run_id = None  # what a SIGKILL amounts to: the row stays 'running', nothing cleans up
    with Store(tmp_path / "s.duckdb") as db:
        assert db.start_run("run-new", "m", "model", started) == ["run-dead"]
        db.finish_run("run-new", pd.DataFrame({"narrative_id": ["N1"]}), {"k": 1}, started)
        runs = db.runs().set_index("run_id")
    assert runs["status"].to_dict() == {"run-dead": "interrupted", "run-new": "done"}
    assert runs.loc["run-dead", "note"].startswith("process died; superseded by run run-new")


def _run_that_raises(path: Path) -> None:
    with Store(path) as db:
        db.start_run("run-x", "m", "model", pd.Timestamp("2022-01-01").to_pydatetime())
        raise RuntimeError("boom")


def test_an_exception_marks_the_run_failed_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _run_that_raises(tmp_path / "s.duckdb")
    with Store(tmp_path / "s.duckdb") as db:
        assert db.runs()[["status", "note"]].values.tolist() == [["failed", "RuntimeError: boom"]]


def test_a_lock_file_left_by_a_killed_holder_is_reported(tmp_path: Path, caplog) -> None:
    (tmp_path / "s.duckdb.lock").write_text("run run-dead (process 1234)")
    with caplog.at_level("WARNING"), Store(tmp_path / "s.duckdb"):
        pass
    assert "the last holder (run run-dead (process 1234)) ended without releasing it" in caplog.text
    assert (tmp_path / "s.duckdb.lock").read_text() == ""


def test_a_store_keyed_before_multi_narrative_articles_is_re_keyed_keeping_its_rows(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE clusters (method_hash VARCHAR NOT NULL, window_start TIMESTAMP NOT NULL, "
        "window_end TIMESTAMP NOT NULL, label INTEGER NOT NULL, narrative_id VARCHAR NOT NULL, "
        "article_id VARCHAR NOT NULL, membership DOUBLE NOT NULL, "
        "PRIMARY KEY (method_hash, window_start, article_id))"
    )
    con.execute("INSERT INTO clusters VALUES ('m', '2022-03-16', '2022-03-19', 0, 'N1', 'T', 0.4)")
    con.close()
    with Store(path) as store:
        # The same transcript in a second narrative of the same window is now allowed.
        row = pd.DataFrame(
            {"window_start": [pd.Timestamp("2022-03-16")], "window_end": [pd.Timestamp("2022-03-19")],
             "label": [1], "narrative_id": ["N2"], "article_id": ["T"], "membership": [0.3]}
        )  # fmt: skip
        with store.transaction() as con2:
            con2.register("incoming", row.assign(method_hash="m"))
            con2.execute("INSERT INTO clusters SELECT method_hash, window_start, window_end, label, "
                         "narrative_id, article_id, membership FROM incoming")  # fmt: skip
        window = store.clusters_of_window("m", pd.Timestamp("2022-03-16").to_pydatetime())
    assert sorted(window["narrative_id"]) == ["N1", "N2"]


def test_replacing_clusters_clears_the_windows_that_now_have_none(tmp_path: Path) -> None:
    """A re-run in which a window formed no narrative must not leave that window's old rows."""
    from detector.narratives.cluster import CLUSTER_COLUMNS

    day1, day2 = pd.Timestamp("2022-03-16"), pd.Timestamp("2022-03-17")
    ends = [day1 + pd.Timedelta(days=3), day2 + pd.Timedelta(days=3)]
    rows = pd.DataFrame(
        {"window_start": [day1, day2], "window_end": ends,
         "label": [0, 0], "narrative_id": ["N1", "N2"], "article_id": ["x1", "x2"], "membership": [0.4, 0.5]}
    )  # fmt: skip
    with Store(tmp_path / "s.duckdb") as db:
        db.replace_clusters("m", rows, [day1.to_pydatetime(), day2.to_pydatetime()])
        assert db.count("clusters") == 2
        db.replace_clusters("m", pd.DataFrame(columns=CLUSTER_COLUMNS), [day2.to_pydatetime()])
        assert db.clusters_of_window("m", day2.to_pydatetime()).empty
        assert db.clusters_of_window("m", day1.to_pydatetime())["narrative_id"].tolist() == ["N1"]
        db.replace_clusters("other-method", pd.DataFrame(columns=CLUSTER_COLUMNS), [day1.to_pydatetime()])
        assert db.count("clusters") == 1


def test_an_edit_to_language_or_url_counts_as_an_update(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as db:
        db.upsert_articles(articles())
        assert db.upsert_articles(articles().assign(language=["ru", "zh"])) == {
            "new": 0,
            "updated": 1,
            "unchanged": 1,
        }
        assert db.upsert_articles(articles().assign(language=["ru", "zh"], url=["u", ""]))["updated"] == 1
