"""Reading one feed file (CSV, JSONL or Parquet) into a table of strings, before validation.

File-level problems (encoding, binary data, malformed CSV, missing columns, no rows) raise
:class:`~detector.errors.InputError` naming the file and the fix; JSONL lines that are not JSON
objects come back as row-level problems. Validating the rows is :mod:`detector.sources.ingest`'s job.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa

from detector.errors import InputError

REQUIRED = ("id", "outlet", "published_at", "text")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def read_table(file: str) -> tuple[pd.DataFrame, list[InputError]]:
    """Read one CSV / JSONL / Parquet file as strings.

    Returns the rows, indexed by their 1-based row number (the line number for JSONL), and the
    JSONL lines that are not JSON objects (row-level problems). File-level problems raise
    :class:`InputError`.
    """
    suffix = Path(file).suffix.lower()
    bad_lines: list[InputError] = []
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(file)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(file, f"not a readable Parquet file ({_first_line(exc)})",
                             "pass the file as exported, or export it again") from None  # fmt: skip
        frame.index = pd.RangeIndex(1, len(frame) + 1)
    else:
        text = _decode(file, Path(file).read_bytes())
        if "\x00" in text:
            raise InputError(file, "contains NUL bytes (binary data, or UTF-16?)",
                             "pass a UTF-8 text feed, or save it as .parquet")  # fmt: skip
        if not text.strip():
            raise InputError(file, "file is empty", "pass a feed with a header and rows")
        if suffix in JSONL_SUFFIXES:
            frame, bad_lines = _read_jsonl(file, text)
        else:
            frame = _read_csv(file, text)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing and not (frame.empty and bad_lines):
        raise InputError(
            file, f"missing required column(s) {missing}; found {[str(c) for c in frame.columns]}",
            f"add the columns; required are {list(REQUIRED)}",
        )  # fmt: skip
    if frame.empty and not bad_lines:
        raise InputError(file, "has a header but no rows", "pass a feed with at least one row")
    return frame, bad_lines


def _read_csv(file: str, text: str) -> pd.DataFrame:
    # header=None: with a header, pandas silently turns surplus leading fields into an index
    # (shifting every column); without one, a row longer than the first line is an error.
    try:
        table = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(file, f"not a well-formed CSV ({_first_line(exc)})",
                         "quote fields that contain commas, quotes or line breaks (RFC 4180), "
                         "or export the feed as JSONL") from None  # fmt: skip
    header = [str(name).strip() for name in table.iloc[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(file, f"the header repeats column(s) {repeated}", "name each column once")
    frame = table.iloc[1:].set_axis(header, axis=1)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _decode(file: str, raw: bytes) -> str:
    """UTF-8 (with or without BOM), or an error that names the likely encoding and the fix."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            file, f"not UTF-8 (bad byte at offset {exc.start}, line {line}; {_guess_encoding(raw)})",
            "re-encode the file as UTF-8, e.g. iconv -f cp1251 -t utf-8 (Cyrillic) "
            "or iconv -f gb18030 -t utf-8 (Chinese)",
        ) from None  # fmt: skip


def _guess_encoding(raw: bytes) -> str:
    """A hint for the error message only; the fix is always to re-encode to UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "it starts with a UTF-16 byte-order mark"
    high = bytes(b for b in raw if b >= 0x80)
    # Russian text in cp1251 is mostly lower-case letters (bytes E0-FF); GB18030 lead and trail
    # bytes spread evenly over 81-FE, so about half of them land there.
    if high and sum(b >= 0xE0 for b in high) / len(high) > 0.7:
        return "looks like cp1251 (Windows Cyrillic)"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return "binary data or an unknown encoding"
    return "looks like GB18030/GBK (Chinese)"


def _read_jsonl(file: str, text: str) -> tuple[pd.DataFrame, list[InputError]]:
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    bad: list[InputError] = []
    # Split on "\n" only: str.splitlines() also splits on U+2028, U+0085 ..., which JSON writers
    # leave unescaped inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            problem = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            bad.append(InputError(file, f"line is not JSON ({problem})",
                                  "write one JSON object per line", row=number))  # fmt: skip
            continue
        if not isinstance(record, dict):
            bad.append(InputError(file, "line is not a JSON object", "write one object per line",
                                  row=number, seen=line))  # fmt: skip
            continue
        records.append(record)
        numbers.append(number)
    return pd.DataFrame.from_records(records, index=numbers), bad


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
