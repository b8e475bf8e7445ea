"""Reading one feed file (CSV/TSV, JSONL, Parquet or an Excel workbook, compressed or not) into
a table of strings, before validation.

File-level problems (unreadable, over the size cap, encoding, not a feed at all, malformed CSV,
missing columns, no rows) raise :class:`~detector.errors.InputError` naming the file and the fix;
JSONL lines that are not JSON objects (or too long, or nested too deeply) come back as row-level
problems. Opening, decompressing and decoding is :mod:`detector.sources.feed_open`'s job, workbooks
:mod:`detector.sources.feed_excel`'s, validating the rows :mod:`detector.sources.ingest`'s.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from detector.errors import InputError
from detector.sources.feed_excel import read_workbook
from detector.sources.feed_open import (
    decode,
    describe,
    not_a_feed,
    nul_density,
    read_bytes,
    sniff_head,
    split_name,
    too_large,
)

REQUIRED = ("id", "outlet", "published_at", "text")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
FEED_SUFFIXES = (*TEXT_SUFFIXES, *JSONL_SUFFIXES, ".parquet", *EXCEL_SUFFIXES)
DELIMITERS = (",", ";", "\t", "|")  # tried in this order; a tie goes to the earlier one
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def read_table(
    file: str, *, max_bytes: int, max_line_chars: int, max_json_depth: int, sheet: str
) -> tuple[pd.DataFrame, list[InputError], dict[str, str]]:
    """Read one feed file as strings.

    Returns the rows, indexed by their 1-based row number (the line number for JSONL), the JSONL
    lines that are bad (row-level problems), and how the file was read (format, compression,
    encoding, delimiter, sheet: recorded in the manifest). File-level problems raise
    :class:`InputError`.
    """
    suffix, compression = split_name(file)
    head = sniff_head(file)
    bad_lines: list[InputError] = []
    info: dict[str, str] = {}
    if compression is None and (head.startswith(b"PK\x03\x04") or suffix in EXCEL_SUFFIXES):
        if not head.startswith(b"PK\x03\x04"):
            raise InputError(file, f"is named {suffix} but is not an Excel workbook "
                             f"({describe(head) or 'not a ZIP container'})",
                             "save it from Excel as Excel Workbook (.xlsx), or name it for what "
                             "it is")  # fmt: skip
        frame, used = read_workbook(file, sheet, max_bytes)
        info = {"format": "xlsx", "sheet": used}
    elif suffix == ".parquet":
        raw, compression = read_bytes(file, max_bytes)
        frame = _read_parquet(file, raw, max_bytes)
        info = {"format": "parquet"}
    else:
        raw, compression = read_bytes(file, max_bytes)
        what = describe(raw[:1024])
        if what is not None:
            raise not_a_feed(file, what)
        text, encoding = decode(file, raw)
        info = {"encoding": encoding}
        dense = nul_density(text)
        if dense:
            raise InputError(file, dense, "pass a text feed in UTF-8 (or UTF-16 with a byte-order mark), "
                             "or save it as .parquet or .xlsx")  # fmt: skip
        if not text.strip():
            raise InputError(file, "file is empty", "pass a feed with a header and rows")
        if suffix in JSONL_SUFFIXES:
            if text.lstrip().startswith("["):
                raise InputError(file, "is one JSON array, not JSON Lines (one object per line)",
                                 "convert it, e.g. jq -c '.[]' IN > OUT.jsonl")  # fmt: skip
            frame, bad_lines = _read_jsonl(file, text, max_line_chars, max_json_depth)
            info = {"format": "jsonl", **info}
        else:
            delimiter = sniff_delimiter(text, suffix)
            frame = _read_csv(file, text, delimiter)
            info = {"format": "csv", "delimiter": delimiter, **info}
    if compression:
        info["compression"] = compression
    check_columns(file, frame, bad_lines)
    return frame, bad_lines, info


def check_columns(file: str, frame: pd.DataFrame, bad_lines: list[InputError]) -> None:
    """The file has the required columns and a row (JSONL whose every line is bad has neither:
    its lines are the row-level problems)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing and not (frame.empty and bad_lines):
        found = [str(c) for c in frame.columns]
        hint = "" if len(found) > 1 else " (one column only: separated by something other than , ; tab |?)"
        raise InputError(
            file, f"missing required column(s) {missing}; found {found}{hint}",
            f"add the columns; required are {list(REQUIRED)}",
        )  # fmt: skip
    if frame.empty and not bad_lines:
        raise InputError(file, "has a header but no rows", "pass a feed with at least one row")


def sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter whose split of the header line names the most required columns (then: gives
    the most columns); tab for ``.tsv``/``.tab``."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    first = text.split("\n", 1)[0].rstrip("\r")

    def score(delimiter: str) -> tuple[int, int]:
        try:
            fields = next(csv.reader([first], delimiter=delimiter), [])
        except csv.Error:  # a stray CR inside the header: the parser proper reports the file
            return 0, 0
        return len({f.strip() for f in fields} & set(REQUIRED)), len(fields)

    return max(DELIMITERS, key=lambda d: (*score(d), -DELIMITERS.index(d)))


def _read_parquet(file: str, raw: bytes, max_bytes: int) -> pd.DataFrame:
    try:
        meta = pq.ParquetFile(io.BytesIO(raw)).metadata
        inflated = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if inflated > max_bytes:
            raise too_large(file, f"holds {inflated / 2**20:,.0f} MiB of uncompressed columns", max_bytes)
        frame = pd.read_parquet(io.BytesIO(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        what = describe(raw)
        if what and what != "a Parquet file":
            raise not_a_feed(file, what) from None
        raise InputError(file, f"not a readable Parquet file ({_first_line(exc)})",
                         "pass the file as exported, or export it again") from None  # fmt: skip
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_csv(file: str, text: str, delimiter: str) -> pd.DataFrame:
    # header=None: with a header, pandas silently turns surplus leading fields into an index
    # (shifting every column); without one, a row longer than the first line is an error.
    try:
        table = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
        raise InputError(file, f"not a well-formed CSV ({name}-separated; {_first_line(exc)})",
                         f"quote fields that contain a {name}, quotes or line breaks (RFC 4180), "
                         "or export the feed as JSONL") from None  # fmt: skip
    header = [str(name).strip() for name in table.iloc[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(file, f"the header repeats column(s) {repeated}", "name each column once")
    frame = table.iloc[1:].set_axis(header, axis=1)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _read_jsonl(
    file: str, text: str, max_line_chars: int, max_json_depth: int
) -> tuple[pd.DataFrame, list[InputError]]:
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    bad: list[InputError] = []
    # Split on "\n" only: str.splitlines() also splits on U+2028, U+0085 ..., which JSON writers
    # leave unescaped inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if len(line) > max_line_chars:
            bad.append(InputError(file, f"line is {len(line):,} characters, over the limit of "
                                  f"{max_line_chars:,}",
                                  "check the export (one record per line?), or raise [ingest] max_line_chars",
                                  row=number))  # fmt: skip
            continue
        depth = json_depth(line, max_json_depth)
        if depth > max_json_depth:
            bad.append(InputError(file, f"JSON nested more than {max_json_depth} levels deep; not read",
                                  "write each field as a string (raise [ingest] max_json_depth only for "
                                  "a trusted feed)", row=number))  # fmt: skip
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


def json_depth(line: str, limit: int) -> int:
    """How deeply ``line``'s JSON nests, counted up to ``limit + 1`` (then it stops): brackets
    inside strings do not count. Cheap when the line has few brackets at all."""
    if line.count("{") + line.count("[") <= limit:
        return 0
    depth = deepest = 0
    for char in _STRING.sub('""', line):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
