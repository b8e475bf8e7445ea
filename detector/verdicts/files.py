"""Verdict files: the edited ``flags.csv`` (or ``themes.csv``) itself, or the CSV saved from
``report.html``, read the way a spreadsheet leaves them and validated like a feed.

What a spreadsheet does to a CSV it saves, and what this reader undoes: a UTF-8 byte-order mark
(Excel's "CSV UTF-8"), CRLF line ends, ``;`` instead of ``,`` as the delimiter (a locale that
writes decimal commas), and the ``'`` our writer put before a formula-like cell
(:func:`detector.report.safety.neutralise_formula`), which LibreOffice keeps as text.

Only the id column (``narrative_id`` or ``theme_id``) and the ``verdict*`` columns are read; every
other column of ``flags.csv`` is ignored, so the whole file round-trips. Every problem is one
:class:`~detector.errors.InputError` naming the file, the 1-based data row, the field and the fix.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from detector.errors import InputError
from detector.io import what_file_is
from detector.report.safety import FORMULA_TRIGGERS
from detector.sources.feed_open import decode, read_bytes

VALUES = ("confirmed", "dismissed", "unsure")
CLEAR = "clear"  # written in a verdict cell: back to no verdict (how to undo one)
ID_COLUMNS = {"narrative_id": "narrative", "theme_id": "theme"}
READ_COLUMNS = ("verdict", "verdict_note", "verdict_by", "verdict_at", "run_id")
MAX_BYTES = 64 * 2**20  # a verdict file is a flags.csv: far below this
DELIMITERS = (",", ";", "\t")
FIX_VALUE = f"write one of {', '.join(VALUES)} (or {CLEAR} to undo a verdict, or leave it empty)"


@dataclass(frozen=True)
class VerdictRow:
    """One analyst's verdict on one narrative or theme, as read from a file (``row``: 1-based)."""

    kind: str  # narrative | theme
    target_id: str
    verdict: str  # one of VALUES, or "" for a cleared verdict
    note: str
    analyst: str
    at: datetime | None  # naive UTC; None = not given (the import time is used)
    row: int
    run_id: str


def unquote(value: str) -> str:
    """A cell without the ``'`` our writer put before a formula-like value, and stripped."""
    value = value.strip()
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def read_table(path: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV as a spreadsheet saves it (BOM, CRLF, ``;`` or ``,``)."""
    raw, _ = read_bytes(path, MAX_BYTES)
    if not raw.strip():
        raise InputError(path, "is empty", "export the verdicts again (flags.csv or the page's CSV)")
    what = what_file_is(raw[:1024])
    if what is not None:  # an .xlsx is a ZIP archive: the spreadsheet saved its own format
        raise InputError(path, f"is {what}, not a CSV", "save it from the spreadsheet as CSV (UTF-8), "
                         "e.g. Excel: Save As > 'CSV UTF-8'; LibreOffice: Save As > Text CSV")  # fmt: skip
    text, _ = decode(path, raw)
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        raise InputError(path, "has a single column: it is no CSV of verdicts",
                         "pass flags.csv (edited) or the CSV saved from report.html",
                         row=None, seen=first[:60])  # fmt: skip
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise InputError(
            path, f"is not valid CSV ({exc})", "save it again as CSV from the spreadsheet"
        ) from None
    header = [unquote(h).lstrip("\ufeff") for h in rows[0]]
    return header, [r for r in rows[1:] if any(c.strip() for c in r)]


def read_verdicts(path: str) -> tuple[list[VerdictRow], list[str]]:
    """The verdicts ``path`` holds (rows with an empty verdict cell are left out: no change) and
    every id it names, verdict or not.

    Checks the columns, every value and that no target gets two verdicts in one file; the ids
    are checked against the store by :func:`detector.verdicts.history.check_targets`."""
    header, rows = read_table(path)
    ids = [c for c in ID_COLUMNS if c in header]
    if not ids:
        raise InputError(path, "has no narrative_id or theme_id column",
                         "keep the narrative_id (flags.csv) or theme_id (themes.csv) column when editing",
                         field="narrative_id", seen=header[:8])  # fmt: skip
    if "verdict" not in header:
        raise InputError(path, "has no verdict column", "add a column named verdict (flags.csv has one)",
                         field="verdict", seen=header[:8])  # fmt: skip
    if not rows:
        raise InputError(path, "has a header but no rows", "export the verdicts again")
    position = {name: header.index(name) for name in (*ids, *READ_COLUMNS) if name in header}
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    out, every_id = [], []
    for number, cells in enumerate(rows, start=1):
        if len(cells) > len(header):
            raise InputError(path, f"has {len(cells)} cells, the header {len(header)}",
                             "quote cells that hold the delimiter, or save the file again as CSV",
                             row=number)  # fmt: skip
        value = {name: unquote(cells[i]) if i < len(cells) else "" for name, i in position.items()}
        every_id += [value[c] for c in ids if value[c]]
        verdict = value["verdict"].lower()
        if not verdict:
            continue
        row = verdict_row(path, number, value, ids, verdict)
        key = (row.kind, row.target_id)
        if key in seen and seen[key][1] != row.verdict:
            earlier, said = seen[key]
            raise InputError(path, f"gives {row.target_id} a second verdict ({row.verdict}; row {earlier} "
                             f"says {said or CLEAR})", "keep one row per id", row=number,
                             field="verdict")  # fmt: skip
        seen[key] = (number, row.verdict)
        out.append(row)
    return out, every_id


def verdict_row(path: str, number: int, value: dict[str, str], ids: list[str], verdict: str) -> VerdictRow:
    """One row's verdict, its values checked (``verdict``: the cell, lower-cased)."""
    # A narrative_id decides: flags.csv names the theme that holds a flag (theme_id) beside it, as
    # context; a row is a theme's verdict only when it names a theme and no narrative.
    given = [c for c in ids if value[c]][:1]
    if not given:
        raise InputError(path, "has a verdict but no id", "give the row its narrative_id or theme_id",
                         row=number, field=ids[0])  # fmt: skip
    if verdict not in (*VALUES, CLEAR):
        raise InputError(
            path, "unknown verdict", FIX_VALUE, row=number, field="verdict", seen=value["verdict"]
        )
    return VerdictRow(
        kind=ID_COLUMNS[given[0]],
        target_id=value[given[0]],
        verdict="" if verdict == CLEAR else verdict,
        note=value.get("verdict_note", ""),
        analyst=value.get("verdict_by", ""),
        at=parse_at(path, number, value.get("verdict_at", "")),
        row=number,
        run_id=value.get("run_id", ""),
    )


def parse_at(path: str, number: int, text: str) -> datetime | None:
    """``verdict_at`` as naive UTC (ISO 8601; no zone = UTC); empty = ``None``."""
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        stamp = pd.NaT
    if stamp is pd.NaT or pd.isna(stamp):
        raise InputError(path, "verdict_at is not a date and time", "write ISO 8601, e.g. "
                         "2024-11-28T09:30:00Z (or leave it empty: the import time is used)", row=number,
                         field="verdict_at", seen=text)  # fmt: skip
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    moment: datetime = stamp.tz_localize(None).to_pydatetime()
    return moment
