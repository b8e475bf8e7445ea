"""The formats users send, read alike: real rows of the sample written compressed, as TSV, with
semicolons, in UTF-16/32, as an Excel workbook, as a folder; and the limits of hostile input
(#22): the decompression cap, JSONL line and depth limits, field sizes, NUL bytes, NFKC and
look-alike outlet names."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import zstandard

from detector.errors import InputError
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
from tests.conftest import ROOT, SAMPLE_FEED

REGISTRY = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """30 real rows of the sample (Russian, Chinese and English text with commas and quotes)."""
    return pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).iloc[:30]


@pytest.fixture(scope="module")
def expected(rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("plain") / "feed.csv"
    rows.to_csv(path, index=False)
    return FeedReader(REGISTRY).read([str(path)]).articles


def same(articles: pd.DataFrame, expected: pd.DataFrame) -> None:
    columns = ["id", "outlet", "bloc", "language", "published_at", "title", "text", "url", "content_hash"]
    pd.testing.assert_frame_equal(articles[columns], expected[columns])


def csv_bytes(rows: pd.DataFrame, sep: str = ",") -> bytes:
    return rows.to_csv(index=False, sep=sep, lineterminator="\r\n").encode("utf-8")


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_compressed_feeds_read_like_the_plain_one(
    rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"feed.csv{suffix}"
    path.write_bytes(COMPRESS[suffix](csv_bytes(rows)))
    result = FeedReader(REGISTRY).read([str(path)])
    same(result.articles, expected)
    kinds = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
    assert result.sources[0]["compression"] == kinds[suffix]


def test_gzip_without_the_extension_is_still_read(
    rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "feed.csv"
    path.write_bytes(gzip.compress(csv_bytes(rows)))
    same(FeedReader(REGISTRY).read([str(path)]).articles, expected)


@pytest.mark.parametrize(("name", "sep"), [("feed.tsv", "\t"), ("feed.csv", ";"), ("feed.txt", "\t"),
                                           ("feed.csv", "|")])  # fmt: skip
def test_delimiters_are_sniffed_and_recorded(
    rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path, name: str, sep: str
) -> None:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, sep))
    result = FeedReader(REGISTRY).read([str(path)])
    same(result.articles, expected)
    assert result.sources[0] == {"format": "csv", "delimiter": sep, "encoding": "utf-8"}


@pytest.mark.parametrize(
    ("encoding", "recorded"),
    [("utf-16", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-32", "utf-32-le"), ("utf-8-sig", "utf-8")],
)
def test_unicode_text_with_a_byte_order_mark_is_read(
    rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path, encoding: str, recorded: str
) -> None:
    """Excel's "Unicode text" is UTF-16 (LE) with a BOM, tab-separated, named .txt."""
    path = tmp_path / "feed.txt"
    text = rows.to_csv(index=False, sep="\t", lineterminator="\r\n")
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    result = FeedReader(REGISTRY).read([str(path)])
    same(result.articles, expected)
    assert result.sources[0]["delimiter"] == "\t"
    assert result.sources[0]["encoding"] == recorded


def workbook(rows: pd.DataFrame, path: Path, sheets: tuple[str, ...] = ("feed",)) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    for number, name in enumerate(sheets):
        sheet = first if number == 0 else book.create_sheet()
        sheet.title = name
        data = rows if name != "notes" else pd.DataFrame({"note": ["not the feed"]})
        sheet.append(list(data.columns))
        for record in data.itertuples(index=False):
            sheet.append(list(record))
    book.save(path)


def test_excel_workbook_first_sheet_or_the_named_one(
    rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "feed.xlsx"
    workbook(rows, path)
    result = FeedReader(REGISTRY).read([str(path)])
    same(result.articles, expected)
    assert result.sources[0] == {"format": "xlsx", "sheet": "feed"}
    other = tmp_path / "two.xlsx"
    workbook(rows, other, ("notes", "feed"))
    same(FeedReader(REGISTRY, sheet="feed").read([str(other)]).articles, expected)
    same(FeedReader(REGISTRY, sheet="2").read([str(other)]).articles, expected)
    with pytest.raises(InputError, match=r"two.xlsx: has no sheet 'x'; its sheets are \['notes', 'feed'\]"):
        FeedReader(REGISTRY, sheet="x").read([str(other)])
    with pytest.raises(InputError, match=r"two.xlsx: missing required column"):
        FeedReader(REGISTRY).read([str(other)])


def test_a_folder_means_its_feed_files(rows: pd.DataFrame, expected: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(csv_bytes(rows.iloc[:10]))
    (tmp_path / "b.jsonl.gz").write_bytes(
        gzip.compress(rows.iloc[10:].to_json(orient="records", lines=True, force_ascii=False).encode())
    )
    (tmp_path / "README.md").write_text("not a feed")
    (tmp_path / ".~lock.a.csv#").write_text("LibreOffice lock")
    result = FeedReader(REGISTRY).read([str(tmp_path)])
    assert result.files == (str(tmp_path / "a.csv"), str(tmp_path / "b.jsonl.gz"))
    same(result.articles, expected)


def test_decompressed_size_is_capped_with_the_setting_named(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"id,outlet,published_at,text\n" + b"0" * (3 * 2**20)))
    assert path.stat().st_size < 10_000
    with pytest.raises(InputError, match=r"bomb.csv.gz: decompresses \(gzip\) to more than 1 MiB.*"
                       r"\[ingest\] max_file_mb"):  # fmt: skip
        FeedReader(REGISTRY, max_file_mb=1).read([str(path)])
    workbook_path = tmp_path / "big.xlsx"
    workbook(pd.DataFrame({"id": ["1"], "outlet": ["TASS"], "published_at": ["2024-11-27"],
                           "text": ["x" * 30_000]}).iloc[[0] * 60], workbook_path)  # fmt: skip
    with pytest.raises(InputError, match=r"big.xlsx: holds \d+ MiB once unzipped, over the cap of 1 MiB"):
        FeedReader(REGISTRY, max_file_mb=1).read([str(workbook_path)])


def test_jsonl_lines_too_long_or_too_deep_are_bad_rows_not_parsed(rows: pd.DataFrame, tmp_path: Path) -> None:
    records = rows.iloc[:3].to_dict("records")
    deep = 5_000  # beyond Python's recursion limit: must not be recursed into
    nested = json.dumps(records[1])[:-1] + ', "meta": ' + "[" * deep + '"x"' + "]" * deep + "}"
    limit = len(nested) + 100
    long_text = records[2]["text"] * (limit // max(len(records[2]["text"]), 1) + 1)
    lines = [json.dumps(records[0], ensure_ascii=False), nested,
             json.dumps({**records[2], "text": long_text}, ensure_ascii=False)]  # fmt: skip
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = FeedReader(REGISTRY, on_bad_row="skip", max_line_chars=limit).read([str(path)])
    assert list(result.articles["id"]) == [records[0]["id"]]
    reasons = dict(zip(result.rejected["source_row"], result.rejected["reason"], strict=True))
    assert "row 2: JSON nested more than 20 levels deep; not read" in reasons[2]
    assert "[ingest] max_json_depth" in reasons[2]
    assert "row 3: line is" in reasons[3]
    assert "[ingest] max_line_chars" in reasons[3]


def test_oversized_field_and_nul_byte_are_row_errors(rows: pd.DataFrame, tmp_path: Path) -> None:
    bad = rows.iloc[:4].copy()
    bad.iloc[1, bad.columns.get_loc("url")] = "https://t.me/" + "a" * 20_000
    bad.iloc[2, bad.columns.get_loc("text")] = bad.iloc[2]["text"][:10] + "\x00" + bad.iloc[2]["text"][10:]
    path = tmp_path / "feed.csv"
    path.write_bytes(csv_bytes(bad))
    with pytest.raises(InputError, match=r"row 2, field 'url': url is 20,013 characters.*max_field_chars"):
        FeedReader(REGISTRY).read([str(path)])
    result = FeedReader(REGISTRY, on_bad_row="skip").read([str(path)])
    assert list(result.rejected["source_row"]) == [2, 3]
    reason = result.rejected["reason"].iloc[1]
    assert "row 3, field 'text': contains a NUL byte (U+0000) at character 11" in reason
    assert len(result.articles) == 2


def test_outlets_compare_after_nfkc_and_look_alikes_are_warned(rows: pd.DataFrame, tmp_path: Path) -> None:
    feed = rows.iloc[:3][["id", "published_at", "title", "text"]].copy()
    feed["outlet"] = ["\uff34\uff21\uff33\uff33", "R\u0422", "Global\u00a0Times "]  # ＴＡＳＳ, RТ, NBSP
    feed["bloc"] = ["", "ru", ""]  # the look-alike brings its own bloc: it would pass as an outlet
    path = tmp_path / "feed.csv"
    path.write_bytes(csv_bytes(feed))
    result = FeedReader(REGISTRY).read([str(path)])
    by_id = result.articles.set_index("id")
    assert by_id.loc[feed["id"].iloc[0], ["outlet", "bloc"]].tolist() == ["TASS", "ru"]
    assert by_id.loc[feed["id"].iloc[2], ["outlet", "bloc"]].tolist() == ["Global Times", "cn"]
    warned = result.warnings[["source_row", "id", "field"]].to_numpy().tolist()
    assert warned == [[2, feed["id"].iloc[1], "outlet"]]
    assert (
        "mixes Latin and Cyrillic letters ('Т' U+0422 Cyrillic): it looks like registry outlet 'RT'"
        in (result.warnings["warning"].iloc[0])
    )


def test_ids_that_differ_only_in_width_are_duplicates(rows: pd.DataFrame, tmp_path: Path) -> None:
    feed = rows.iloc[:2].copy()
    feed.iloc[1, feed.columns.get_loc("id")] = "\uff21" + "1"  # Ａ1
    feed.iloc[0, feed.columns.get_loc("id")] = "A1"
    path = tmp_path / "feed.csv"
    path.write_bytes(csv_bytes(feed))
    with pytest.raises(InputError, match=r"row 2, field 'id': id already used with different content"):
        FeedReader(REGISTRY).read([str(path)])
