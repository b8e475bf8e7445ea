"""The store's theme tables (detector/store/themes.py) on a real DuckDB file, with real sample rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from detector.store.reader import StoreReader
from detector.store.schema import SCHEMA
from detector.store.store import Store
from tests.conftest import SAMPLE_FEED

FEED = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).sort_values(["published_at", "id"])


def theme_frames(ids: dict[str, slice]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A themes frame and its members, from real articles of the sample (contract columns the store uses)."""
    parts = []
    for tid, rows in ids.items():
        part = FEED.iloc[rows][["id", "outlet", "bloc", "language", "published_at", "title", "url"]]
        parts.append(part.assign(theme_id=tid, centrality=0.5))
    members = pd.concat(parts, ignore_index=True)
    members["published_at"] = pd.to_datetime(members["published_at"], utc=True)
    themes = pd.DataFrame({
        "theme_id": list(ids), "flagged": [True] * len(ids),
        "q_value": [0.01] + [float("nan")] * (len(ids) - 1),
        "null_note": [""] * len(ids), "articles": members.groupby("theme_id", sort=False).size().to_list(),
    })  # fmt: skip
    return themes, members


def run(db: Store, run_id: str, day: int, themes: pd.DataFrame | None, members: pd.DataFrame | None) -> None:
    db.start_run(run_id, "m", "model", datetime(2024, 11, day))
    if themes is not None and members is not None:
        db.save_themes(run_id, themes, members)
    db.finish_run(run_id, pd.DataFrame(), {"run_id": run_id}, datetime(2024, 11, day, 1))


def test_latest_members_come_from_the_newest_finished_run_with_themes(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    day1 = theme_frames({"T1": slice(0, 5), "T2": slice(5, 8)})
    day2 = theme_frames({"T1": slice(2, 9)})
    with Store(path) as db:
        assert db.latest_theme_members().empty
        run(db, "run-1", 27, *day1)
        run(db, "run-2", 28, *day2)
        run(db, "run-3", 29, None, None)  # themes off: not a lineage source
        latest = db.latest_theme_members()
        assert list(latest.columns) == ["theme_id", "id", "bloc", "published_at", "centrality"]
        assert sorted(latest["id"]) == sorted(day2[1]["id"])
        assert str(latest["published_at"].dt.tz) == "UTC"
        assert sorted(db.latest_theme_members(before_run_id="run-2")["id"]) == sorted(day1[1]["id"])
        assert db.latest_theme_members(before_run_id="run-1").empty
        assert db.theme_runs("T1") == ["run-2", "run-1"]
        assert db.theme_runs("T2") == ["run-1"]
        # A run still running (it is saving its own themes) is never its own lineage source.
        db.start_run("run-4", "m", "model", datetime(2024, 11, 30))
        db.save_themes("run-4", *theme_frames({"T9": slice(20, 25)}))
        assert set(db.latest_theme_members()["theme_id"]) == {"T1"}
    with StoreReader(path) as reader:
        frames = reader.report_frames("run-1")
        pd.testing.assert_frame_equal(frames["themes"], day1[0])
        pd.testing.assert_frame_equal(frames["theme_members"], day1[1])


def test_a_repeated_run_replaces_its_themes_and_report_frames_keep_them(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as db:
        run(db, "run-1", 27, *theme_frames({"T1": slice(0, 5), "T2": slice(5, 8)}))
        run(db, "run-1", 27, *theme_frames({"T3": slice(0, 4)}))
        db.put_report_frames("run-1", {"flags": pd.DataFrame({"narrative_id": ["N1"]})})
        assert db.con_.execute("SELECT DISTINCT theme_id FROM themes").fetchall() == [("T3",)]
        assert db.count("theme_members") == 4
        assert set(db.report_frames("run-1")) == {"flags", "themes", "theme_members"}
        run(db, "run-1", 27, None, None)  # the same run again without themes: none left over
        assert db.count("themes") == 0
        assert set(db.report_frames("run-1")) == {"flags"}


def test_a_store_made_before_the_theme_tables_still_works(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(SCHEMA[: SCHEMA.index("CREATE TABLE IF NOT EXISTS themes")])
    con.execute(
        "INSERT INTO runs VALUES ('run-0', '2024-11-26', '2024-11-26 01:00', 'done', 'm', 'x', '{}', NULL)"
    )
    con.close()
    with StoreReader(path) as reader:  # read-only: no tables are created, and none are needed
        assert reader.latest_theme_members().empty
        assert reader.theme_runs("T1") == []
        assert reader.finished_runs() == ["run-0"]
    with Store(path) as db:  # opened for writing: the tables appear, older rows untouched
        assert db.count("themes") == 0
        assert db.finished_runs() == ["run-0"]
        run(db, "run-1", 27, *theme_frames({"T1": slice(0, 5)}))
        assert len(db.latest_theme_members()) == 5
