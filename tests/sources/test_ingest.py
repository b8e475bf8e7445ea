from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from detector.errors import InputError
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
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


def test_gb18030_is_named_with_its_fix(reader: FeedReader, tmp_path: Path) -> None:
    path = tmp_path / "gb.csv"
    path.write_bytes("id,outlet,published_at,text\n1,Xinhua,2022-03-08,美国生物实验室\n".encode("gb18030"))
    with pytest.raises(InputError, match=r"gb.csv: not UTF-8 .*line 2; looks like GB18030.*iconv -f gb18030"):
        reader.read([str(path)])


def test_cp1251_is_recognised(reader: FeedReader, tmp_path: Path) -> None:
    path = tmp_path / "ru.csv"
    path.write_bytes("id,outlet,published_at,text\n1,TASS,2022-03-08,биолаборатории\n".encode("cp1251"))
    with pytest.raises(InputError, match=r"looks like cp1251"):
        reader.read([str(path)])


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("garbage.csv", bytes(range(256)) * 4, r"garbage.csv: not UTF-8"),
        ("nul.csv", b"id,outlet,published_at,text\n\x00\x01\x02", r"nul.csv, row 1, field 'id': contains"),
        ("garbage.parquet", b"PAR1 not really", r"garbage.parquet: not a readable Parquet file"),
        ("empty.csv", b"", r"empty.csv: file is empty"),
        ("blank.jsonl", b"\n  \n", r"blank.jsonl: file is empty"),
        ("header.csv", b"id,outlet,published_at,text\r\n", r"header.csv: has a header but no rows"),
        ("ragged.csv", b'id,outlet,published_at,text\n1,TASS,2022-03-08,a,b,c\n', r"not a well-formed CSV"),
    ],
)  # fmt: skip
def test_unreadable_files_name_the_file_and_the_fix(
    reader: FeedReader, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        reader.read([str(path)])


def test_ten_megabyte_text_is_rejected_with_the_key_to_raise(reader: FeedReader, tmp_path: Path) -> None:
    rows = [ROWS[0], {**ROWS[1], "text": "Минобороны " * 1_000_000}]
    with pytest.raises(
        InputError, match=r"row 2, field 'text': text is 10,999,999 characters.*max_text_chars"
    ):
        reader.read([str(write(tmp_path, rows))])


@pytest.mark.parametrize(
    ("stamp", "message"),
    [("2999-01-01T00:00Z", "in the future"), ("1970-01-01", "before 1990"),
     ("0001-01-01T00:00+05:00", "not an ISO-8601"), ("2022-02-30", "not an ISO-8601")],
)  # fmt: skip
def test_impossible_timestamps(reader: FeedReader, tmp_path: Path, stamp: str, message: str) -> None:
    with pytest.raises(
        InputError, match=rf"row 1, field 'published_at': .*{message}.*saw '{re.escape(stamp)}'"
    ):
        reader.read([str(write(tmp_path, [{**ROWS[0], "published_at": stamp}]))])


def test_skip_mode_rejects_unreadable_files_whole_and_reads_the_rest(tmp_path: Path) -> None:
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"), on_bad_row="skip")
    good = write(tmp_path, ROWS)
    bad = tmp_path / "cp1251.csv"
    bad.write_bytes("id,outlet,published_at,text\n1,TASS,2022-03-08,Привет\n".encode("cp1251"))
    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text(
        '{"id": "j1", "outlet": "RT", "published_at": "2022-03-08", "text": "t"}\nnot json\n[1]\n'
    )
    result = reader.read([str(good), str(bad), str(jsonl)])
    assert list(result.articles["id"]) == ["j1", "a1", "a2", "a3"]  # ordered by time
    assert result.rejected[["source_file", "source_row"]].values.tolist() == [
        [str(bad), 0], [str(jsonl), 2], [str(jsonl), 3],
    ]  # fmt: skip
    assert result.counts() == {"rows_read": 6, "rows_rejected": 2, "files_read": 3,
                               "files_rejected": 1, "rejected_by_field": {"": 3}}  # fmt: skip


def test_exact_duplicates_and_json_objects_are_rejected_not_dropped(tmp_path: Path) -> None:
    reader = FeedReader(OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml"), on_bad_row="skip")
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps(ROWS[0]), json.dumps(ROWS[0]), json.dumps({**ROWS[2], "text": {"a": 1}})]
    path.write_text("\n".join(lines) + "\n")
    result = reader.read([str(path)])
    assert list(result.articles["id"]) == ["a1"]
    assert result.rejected["reason"].str.contains("exact duplicate of").tolist() == [True, False]
    assert "JSON object or array" in result.rejected["reason"].iloc[1]
