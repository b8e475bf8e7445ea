from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from detector.errors import InputError
from detector.ingest import FeedReader
from detector.registry import OutletRegistry
from tests.conftest import ROOT

ROWS = [
    {"id": "a1", "outlet": "Global Times", "published_at": "2022-03-08T12:04:00Z",
     "title": "US urged to clarify biomilitary activities", "text": ""},
    {"id": "a2", "outlet": "TASS", "published_at": "2022-03-08 15:00",
     "title": "", "text": "Минобороны: США финансировали биолаборатории на Украине, \"цитата\", запятая"},
    {"id": "a3", "outlet": "Reuters", "published_at": "2022-03-09", "title": "Reuters story", "text": "x"},
]  # fmt: skip


@pytest.fixture(scope="module")
def reader() -> FeedReader:
    return FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"))


def write(tmp_path: Path, rows: list[dict], name: str = "feed.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["feed.csv", "feed.jsonl", "feed.parquet"])
def test_formats_read_alike_and_registry_fills_bloc_and_language(
    reader: FeedReader, tmp_path: Path, name: str
) -> None:
    articles = reader.read([str(write(tmp_path, ROWS, name))]).articles
    assert list(articles["id"]) == ["a1", "a2", "a3"]
    assert list(articles["bloc"]) == ["cn", "ru", "control"]
    assert list(articles["language"]) == ["en", "ru", "en"]
    assert "цитата" in articles.loc[1, "text"]
    assert str(articles["published_at"].dt.tz) == "UTC"


def test_naive_timestamps_take_the_default_zone(tmp_path: Path) -> None:
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"),
                        default_timezone="Europe/Moscow")  # fmt: skip
    articles = reader.read([str(write(tmp_path, ROWS[1:2]))]).articles
    assert articles.loc[0, "published_at"] == pd.Timestamp("2022-03-08T12:00:00Z")


def test_missing_column_names_file_and_fix(reader: FeedReader, tmp_path: Path) -> None:
    path = write(tmp_path, [{k: v for k, v in r.items() if k != "published_at"} for r in ROWS])
    with pytest.raises(InputError, match=r"feed.csv: missing required column\(s\) \['published_at'\]"):
        reader.read([str(path)])


def test_bad_timestamp_names_row_field_and_value(reader: FeedReader, tmp_path: Path) -> None:
    rows = [*ROWS[:2], {**ROWS[2], "published_at": "yesterday"}]
    with pytest.raises(InputError, match=r"row 3, field 'published_at'.*saw 'yesterday'.*Fix: write e.g."):
        reader.read([str(write(tmp_path, rows))])


def test_unknown_outlet_without_bloc_is_an_error(reader: FeedReader, tmp_path: Path) -> None:
    rows = [{**ROWS[0], "outlet": "Daily Planet"}]
    with pytest.raises(InputError, match=r"row 1, field 'outlet'.*add the outlet to configs/outlets.toml"):
        reader.read([str(write(tmp_path, rows))])


def test_skip_mode_sets_bad_rows_aside_with_reasons(tmp_path: Path) -> None:
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"), on_bad_row="skip")
    rows = [ROWS[0], {**ROWS[1], "text": "  ", "title": ""}, ROWS[2]]
    result = reader.read([str(write(tmp_path, rows))])
    assert list(result.articles["id"]) == ["a1", "a3"]
    assert result.rejected[["source_row", "id", "field"]].values.tolist() == [[2, "a2", "text"]]


def test_duplicate_id_with_other_content_is_an_error(reader: FeedReader, tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[0], "title": "changed"}]
    with pytest.raises(InputError, match=r"id already used with different content at .*row 1"):
        reader.read([str(write(tmp_path, rows))])


def test_wrong_encoding_says_how_to_reencode(reader: FeedReader, tmp_path: Path) -> None:
    path = tmp_path / "cp1251.csv"
    path.write_bytes("id,outlet,published_at,text\n1,TASS,2022-03-08,Привет\n".encode("cp1251"))
    with pytest.raises(InputError, match=r"not UTF-8.*iconv -f cp1251"):
        reader.read([str(path)])


def test_glob_that_matches_nothing_is_an_error(reader: FeedReader, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        reader.read([str(tmp_path / "*.csv")])
