"""A sweep of bad inputs and faults through the real command, one subprocess each: real rows of
the sample written in each broken form, unreadable files, read-only and full disks (a tmpfs in a
private mount namespace), damaged stores.

For every case: exit 2, exactly one ``Error:`` line (no traceback) naming the file, row and field
where there is one, and the fix; and nothing half-written: no report in ``--out``, the store
given is byte-identical and still opens with its articles, or no store is left behind at all.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import random
import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from detector.store.store import Store
from tests.conftest import ROOT, SAMPLE_FEED
from tests.reliability import harness

N_ROWS = 20
# Root ignores permission bits; without these two capabilities it obeys them like any user.
NO_DAC = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()


@dataclass
class Setup:
    """What one case runs: CLI arguments (after ``python -m detector``) and what must be intact."""

    args: list[str]
    out: Path | None = None  # must hold no file afterwards
    store: Path | None = None  # an existing store: byte-identical and usable afterwards
    no_store: Path | None = None  # a store path that must not exist afterwards
    prefix: tuple[str, ...] = ()
    untouched: list[Path] = field(default_factory=list)  # files that must be byte-identical


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path, pd.DataFrame, Path], Setup]  # (folder, rows, good store) -> Setup
    says: tuple[str, ...]  # substrings of the one line, beyond "Error:" and "Fix:"


def config(folder: Path, **ingest: object) -> Path:
    lines = ["[ingest]", f"registry = {json.dumps(str(ROOT / 'configs' / 'outlets.toml'))}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in ingest.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_args(folder: Path, feed: Path, store: Path, **ingest: object) -> list[str]:
    return ["run", "--config", str(config(folder, **ingest)), "--input", str(feed),
            "--out", str(folder / "out"), "--store", str(store)]  # fmt: skip


def feed_case(name: str, data: Callable[[pd.DataFrame], bytes], **ingest: object) -> Callable[..., Setup]:
    """A run on one file ``name`` holding ``data(rows)``, against a copy of the good store."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        feed = folder / name
        feed.write_bytes(data(rows))
        store = folder / "store.duckdb"
        shutil.copyfile(good, store)
        return Setup(run_args(folder, feed, store, **ingest), out=folder / "out", store=store)

    return make


def csv_text(rows: pd.DataFrame, sep: str = ",") -> str:
    return rows.to_csv(index=False, sep=sep, lineterminator="\r\n")


def with_nul(rows: pd.DataFrame) -> bytes:
    bad = rows.copy()
    bad.iloc[4, bad.columns.get_loc("text")] = "Срочно\x00" + bad.iloc[4]["text"]
    return csv_text(bad).encode()


def big_outlet(rows: pd.DataFrame) -> bytes:
    bad = rows.copy()
    bad.iloc[3, bad.columns.get_loc("outlet")] = "TASS " * 4000
    return csv_text(bad).encode()


def jsonl(rows: pd.DataFrame) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in rows.to_dict("records")]


def deep_jsonl(rows: pd.DataFrame) -> bytes:
    lines = jsonl(rows)
    lines[2] = lines[2][:-1] + ', "meta": ' + "[" * 50_000 + "]" * 50_000 + "}"
    return "\n".join(lines).encode()


def long_jsonl(rows: pd.DataFrame) -> bytes:
    lines = jsonl(rows)
    lines[1] = lines[1][:-1] + f', "extra": "{"x" * 5000}"}}'
    return "\n".join(lines).encode()


def zip_of(members: dict[str, bytes]) -> Callable[[pd.DataFrame], bytes]:
    def data(rows: pd.DataFrame) -> bytes:
        import io

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members.items():
                archive.writestr(name, content or csv_text(rows).encode())
        return buffer.getvalue()

    return data


def workbook_bytes(rows: pd.DataFrame, cells: int = 1) -> bytes:
    import io

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "feed"
    sheet.append(list(rows.columns))
    for _ in range(cells):
        for record in rows.itertuples(index=False):
            sheet.append(list(record))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sqlite_file(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE feed (id TEXT, outlet TEXT)")


def unreadable(on_bad_row: str) -> Callable[..., Setup]:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        feed = folder / "feed.csv"
        feed.write_text(csv_text(rows), encoding="utf-8")
        feed.chmod(0)
        store = folder / "store.duckdb"
        shutil.copyfile(good, store)
        return Setup(run_args(folder, feed, store, on_bad_row=on_bad_row), out=folder / "out", store=store,
                     prefix=NO_DAC)  # fmt: skip

    return make


def read_only_out(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
    feed = folder / "feed.csv"
    feed.write_text(csv_text(rows), encoding="utf-8")
    out = folder / "out"
    out.mkdir()
    out.chmod(0o555)
    return Setup(["run", "--config", str(config(folder)), "--input", str(feed), "--out", str(out)],
                 out=out, no_store=out / "detector.duckdb", prefix=NO_DAC)  # fmt: skip


def tmpfs_out(options: str) -> Callable[..., Setup]:
    """``--out`` on a tmpfs mounted with ``options`` in a private mount namespace."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        feed = folder / "feed.csv"
        feed.write_text(csv_text(rows), encoding="utf-8")
        disk = folder / "disk"
        disk.mkdir()
        script = f'mount -t tmpfs -o {options} tmpfs "$0" && exec "$@"'
        mount = ("unshare", "-rm", "sh", "-c", script, str(disk))
        args = ["run", "--config", str(config(folder)), "--input", str(feed), "--out", str(disk / "out")]
        return Setup(args, out=disk / "out", prefix=mount)  # the mount vanishes with the process

    return make


def not_a_model(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
    feed = folder / "feed.csv"
    feed.write_text(csv_text(rows), encoding="utf-8")
    model = folder / "model"
    model.mkdir()
    (model / "README.md").write_text("weights go here")
    cfg = folder / "model.toml"
    cfg.write_text(config(folder).read_text() + f'[embed]\nbackend = "sentence-transformers"\n'
                   f"model_path = {json.dumps(str(model))}\n", encoding="utf-8")  # fmt: skip
    store = folder / "new.duckdb"
    args = ["run", "--config", str(cfg), "--input", str(feed), "--out", str(folder / "out"),
            "--store", str(store)]  # fmt: skip
    return Setup(args, out=folder / "out", no_store=store)


def damaged_store(damage: Callable[[Path], None], command: str = "run") -> Callable[..., Setup]:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        feed = folder / "feed.csv"
        feed.write_text(csv_text(rows), encoding="utf-8")
        store = folder / "store.duckdb"
        shutil.copyfile(good, store)
        damage(store)
        if command == "run":
            args = run_args(folder, feed, store)
        else:
            args = ["show", "N20241127-x", "--store", str(store)]
        return Setup(args, out=folder / "out", untouched=[store])

    return make


def overwrite(offset: int, size: int, every: int = 0) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        noise = random.Random(offset).randbytes(size)
        with open(path, "r+b") as handle:
            end = path.stat().st_size
            for at in range(offset, end, every) if every else [offset]:
                handle.seek(at)
                handle.write(noise)

    return damage


def replace_with(content: bytes | None) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        if content is None:
            path.unlink()
            sqlite_file(path)
        else:
            path.write_bytes(content)

    return damage


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def missing_or_empty_folder(kind: str) -> Callable[..., Setup]:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        target = folder / ("feeds" if kind == "folder" else "nowhere.csv")
        if kind == "folder":
            target.mkdir()
            (target / "notes.txt.bak").write_text("x")
        elif kind == "fifo":
            target = folder / "pipe.csv"
            os.mkfifo(target)
        store = folder / "store.duckdb"
        shutil.copyfile(good, store)
        return Setup(run_args(folder, target, store), out=folder / "out", store=store)

    return make


def read_only_report(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
    out = folder / "out"
    out.mkdir()
    out.chmod(0o555)
    args = ["report", "--run", "run-x", "--out", str(out), "--store", str(good)]
    return Setup(args, out=out, prefix=NO_DAC, untouched=[good])


def sheet_number(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
    setup = feed_case("feed.csv", lambda r: csv_text(r).encode())(folder, rows, good)
    (folder / "config.toml").write_text((folder / "config.toml").read_text() + "sheet = 2\n")
    return setup


def read_only_store(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
    setup = feed_case("feed.csv", lambda r: csv_text(r).encode())(folder, rows, good)
    assert setup.store is not None
    setup.store.chmod(0o444)
    setup.prefix = NO_DAC
    return setup


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"
ODS = {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}

CASES = [
    Case(
        "cp1251",
        feed_case("feed.csv", lambda r: csv_text(r).encode("cp1251", "replace")),
        ("feed.csv: not UTF-8", "looks like cp1251", "iconv -f cp1251"),
    ),
    Case(
        "gb18030",
        feed_case("feed.csv", lambda r: csv_text(r).encode("gb18030")),
        ("feed.csv: not UTF-8", "GB18030", "iconv -f gb18030"),
    ),
    Case(
        "utf16-no-bom",
        feed_case("feed.txt", lambda r: csv_text(r, "\t").encode("utf-16-le")),
        ("feed.txt:", "UTF-16 without a byte-order mark"),
    ),
    Case(
        "utf16-bom-truncated",
        feed_case("feed.txt", lambda r: b"\xff\xfe" + csv_text(r, "\t").encode("utf-16-le")[:-1]),
        ("feed.txt: starts with a UTF-16-LE byte-order mark but is not valid",),
    ),
    Case(
        "one-nul-byte",
        feed_case("feed.csv", with_nul),
        ("feed.csv, row 5, field 'text': contains a NUL byte",),
    ),
    Case(
        "binary", feed_case("feed.csv", lambda r: random.Random(0).randbytes(4096)), ("feed.csv: not UTF-8",)
    ),
    Case(
        "xls-97",
        feed_case("feed.xls", lambda r: OLE),
        ("feed.xls: is an Excel 97-2003 workbook", "save it as .xlsx"),
    ),
    Case("pdf", feed_case("feed.csv", lambda r: PDF), ("feed.csv: is a PDF document, not a feed",)),
    Case(
        "zip-of-csvs",
        feed_case("feeds.zip", zip_of({"a.csv": b"", "b.csv": b""})),
        ("feeds.zip: is a ZIP archive holding 2 file(s) (a.csv, b.csv)", "unzip it"),
    ),
    Case("ods", feed_case("feed.ods", zip_of(ODS)), ("feed.ods: is an OpenDocument spreadsheet",)),
    Case(
        "html-error-page", feed_case("feed.csv", lambda r: HTML), ("feed.csv: is an HTML page, not a feed",)
    ),
    Case(
        "named-gz-not-gzip",
        feed_case("feed.csv.gz", lambda r: csv_text(r).encode()),
        ("feed.csv.gz: is named .gz but is not gzip-compressed",),
    ),
    Case(
        "truncated-gzip",
        feed_case("feed.csv.gz", lambda r: gzip.compress(csv_text(r).encode())[:-200]),
        ("feed.csv.gz: is a damaged or truncated gzip file",),
    ),
    Case(
        "gzip-bomb",
        feed_case("feed.csv.gz", lambda r: gzip.compress(b"0" * (3 << 20)), max_file_mb=1),
        ("feed.csv.gz: decompresses (gzip) to more than 1 MiB", "[ingest] max_file_mb"),
    ),
    Case(
        "bz2-bomb",
        feed_case("feed.jsonl.bz2", lambda r: bz2.compress(b" " * (3 << 20)), max_file_mb=1),
        ("feed.jsonl.bz2: decompresses (bz2) to more than 1 MiB", "[ingest] max_file_mb"),
    ),
    Case(
        "plain-over-cap",
        feed_case("feed.csv", lambda r: csv_text(r).encode() * 400, max_file_mb=1),
        ("feed.csv: is", "MiB, over the cap of 1 MiB", "[ingest] max_file_mb"),
    ),
    Case(
        "xlsx-over-cap",
        feed_case("feed.xlsx", lambda r: workbook_bytes(r, 40), max_file_mb=1),
        ("feed.xlsx: holds", "once unzipped, over the cap of 1 MiB"),
    ),
    Case(
        "json-array",
        feed_case("feed.json", lambda r: r.to_json(orient="records", force_ascii=False).encode()),
        ("feed.json: is one JSON array, not JSON Lines", "jq -c"),
    ),
    Case(
        "jsonl-too-deep",
        feed_case("feed.jsonl", deep_jsonl),
        ("feed.jsonl, row 3: JSON nested more than 20 levels deep", "[ingest] max_json_depth"),
    ),
    Case(
        "jsonl-line-too-long",
        feed_case("feed.jsonl", long_jsonl, max_line_chars=5000),
        ("feed.jsonl, row 2: line is", "over the limit of 5,000", "[ingest] max_line_chars"),
    ),
    Case(
        "field-too-long",
        feed_case("feed.csv", big_outlet),
        ("feed.csv, row 4, field 'outlet': outlet is 19,999 characters", "[ingest] max_field_chars"),
    ),
    Case(
        "no-such-sheet",
        feed_case("feed.xlsx", workbook_bytes, sheet="Sheet9"),
        ("feed.xlsx: has no sheet 'Sheet9'; its sheets are ['feed']", "--sheet"),
    ),
    Case(
        "xlsx-that-is-csv",
        feed_case("feed.xlsx", lambda r: csv_text(r).encode()),
        ("feed.xlsx: is named .xlsx but is not an Excel workbook",),
    ),
    Case(
        "header-only-tsv",
        feed_case("feed.tsv", lambda r: csv_text(r.iloc[:0], "\t").encode()),
        ("feed.tsv: has a header but no rows",),
    ),
    Case(
        "semicolon-wrong-columns",
        feed_case("feed.csv", lambda r: csv_text(r.rename(columns={"outlet": "source"}), ";").encode()),
        ("feed.csv: missing required column(s) ['outlet']",),
    ),
    Case(
        "folder-without-feeds", missing_or_empty_folder("folder"), ("feeds: is a folder without feed files",)
    ),
    Case("missing-file", missing_or_empty_folder("missing"), ("nowhere.csv: no such file",)),
    Case("fifo", missing_or_empty_folder("fifo"), ("pipe.csv: is not a regular file",)),
    Case("unreadable-input", unreadable("error"), ("feed.csv: cannot be read (Permission denied)", "chmod")),
    Case(
        "unreadable-input-skip",
        unreadable("skip"),
        ("no valid rows (1 rejected; the first:", "feed.csv: cannot be read (Permission denied)"),
    ),
    Case("read-only-out", read_only_out, ("(--out) cannot be written (Permission denied)",)),
    Case(
        "read-only-filesystem",
        tmpfs_out("ro,size=1m"),
        ("(--out) cannot be written (Read-only file system)",),
    ),
    Case("full-disk", tmpfs_out("size=512k"), ("(--out) has only", "MiB free", "free space")),
    Case(
        "model-path-not-a-model",
        not_a_model,
        ("[embed] model_path", "is a folder but not a sentence-transformers model", "README.md"),
    ),
    Case(
        "store-is-csv",
        damaged_store(replace_with(b"id,outlet,published_at,text\n")),
        ("store.duckdb is not a DuckDB database", "move it aside"),
    ),
    Case(
        "store-is-sqlite",
        damaged_store(replace_with(None)),
        ("store.duckdb is a SQLite database, not a DuckDB",),
    ),
    Case("store-empty-file", damaged_store(replace_with(b"")), ("store.duckdb is empty (0 bytes)",)),
    Case("store-truncated", damaged_store(truncate), ("store.duckdb is damaged", "restore", "move it aside")),
    Case(
        "store-corrupted-pages",
        damaged_store(overwrite(12288, 8, every=262144)),
        ("store.duckdb is damaged (Corrupt database file", "the feeds, which are the source"),
    ),
    Case(
        "store-file-header",
        damaged_store(overwrite(0, 64)),
        ("store.duckdb is not a DuckDB database: its header",),
    ),
    Case("store-db-headers", damaged_store(overwrite(4096, 8192)), ("store.duckdb is damaged",)),
    Case(
        "show-damaged-store",
        damaged_store(overwrite(12288, 8, every=262144), command="show"),
        ("store.duckdb is damaged",),
    ),
    Case("report-read-only-out", read_only_report, ("(--out) cannot be written (Permission denied)",)),
    Case("sheet-not-a-string", sheet_number, ("[ingest] sheet = 2 is not text", 'in quotes: "2"')),
    Case("store-read-only-file", read_only_store, ("store.duckdb cannot be written (Permission denied)",)),
]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).iloc[:N_ROWS]


@pytest.fixture(scope="module")
def good_store(rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real store holding the rows (``detector ingest``: no model needed)."""
    folder = tmp_path_factory.mktemp("good")
    feed = folder / "feed.csv"
    feed.write_text(csv_text(rows), encoding="utf-8")
    store = folder / "store.duckdb"
    args = ["ingest", "--config", str(config(folder)), "--input", str(feed), "--store", str(store)]
    done = harness.cli(args)
    assert done.returncode == 0, done.stderr
    return store


def test_the_sweep_has_at_least_30_distinct_cases() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_or_fault_is_one_line_and_leaves_nothing_half_written(
    case: Case, rows: pd.DataFrame, good_store: Path, tmp_path: Path
) -> None:
    setup = case.make(tmp_path, rows, good_store)
    kept = [*setup.untouched, *([setup.store] if setup.store else [])]
    before = {path: harness.sha256(path) for path in kept}
    outcome = harness.cli(setup.args, setup.prefix)
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("Error:")]
    assert outcome.returncode == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(errors) == 1, outcome.stderr
    assert "Fix:" in errors[0]
    for text in case.says:
        assert text in errors[0], errors[0]
    if setup.out is not None:
        left = [p.name for p in setup.out.iterdir()] if setup.out.is_dir() else []
        assert left == [], f"--out holds {left}"
    for path, digest in before.items():
        assert harness.sha256(path) == digest, f"{path.name} changed"
    if setup.store is not None:
        with Store(setup.store) as db:
            assert db.count("articles") == N_ROWS
    if setup.no_store is not None:
        assert not setup.no_store.exists(), "an empty store was left behind"
