"""Reading a feed from an Excel workbook (``.xlsx``/``.xlsm``): the first sheet, or the one
``[ingest] sheet`` (``--sheet``) names, as a table of strings.

Cells are read as Excel last saved them (``data_only``): a formula gives its cached value and is
never evaluated; macros are never run. Dates become ISO-8601 text (zone-less, so
``[ingest] default_timezone`` applies). The workbook is a ZIP archive: its uncompressed size is
checked against the per-file cap before anything is inflated.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from typing import Any

import pandas as pd

from detector.errors import InputError, MissingDependencyError
from detector.sources.feed_open import os_error, too_large

WORKBOOK_PART = "xl/workbook.xml"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def zip_kind(file: str, max_bytes: int) -> str:
    """``"xlsx"`` for an Excel workbook, else an :class:`InputError` saying what the ZIP holds."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            inflated = sum(info.file_size for info in archive.infolist())
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
    except zipfile.BadZipFile as exc:
        raise InputError(file, f"is a damaged ZIP archive or workbook ({exc})",
                         "copy or export it again") from None  # fmt: skip
    except OSError as exc:
        raise os_error(file, exc) from None
    if inflated > max_bytes:
        raise too_large(file, f"holds {inflated / 2**20:,.0f} MiB once unzipped", max_bytes)
    if WORKBOOK_PART in names:
        return "xlsx"
    if mimetype.startswith(ODS_MIMETYPE):
        raise InputError(file, "is an OpenDocument spreadsheet (.ods), which is not read",
                         "save it as Excel Workbook (.xlsx) or 'CSV UTF-8' and pass that")  # fmt: skip
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise InputError(file, f"is a ZIP archive holding {len(names)} file(s) ({shown}), not a feed",
                     "unzip it and pass the feed files, or their folder, as --input")  # fmt: skip


def read_workbook(file: str, sheet: str, max_bytes: int) -> tuple[pd.DataFrame, str]:
    """``(rows as strings indexed by data row from 1, sheet name)``; the first row is the header."""
    zip_kind(file, max_bytes)
    try:
        import openpyxl
    except ImportError:
        raise MissingDependencyError(
            "'openpyxl' is not installed, so Excel workbooks cannot be read: pip install '.[formats]' "
            "(or openpyxl), or save the sheet as 'CSV UTF-8'"
        ) from None
    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(file, f"is not a readable Excel workbook ({exc})", "open it in Excel and "
                         "save it again as .xlsx, or save the sheet as 'CSV UTF-8'") from None  # fmt: skip
    try:
        name = _sheet_name(file, book.sheetnames, sheet)
        rows = [tuple(_cell(v) for v in row) for row in book[name].iter_rows(values_only=True)]
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(file, f"sheet '{name}' is empty", "pass the sheet that holds the feed with --sheet")
    width = max(len(row) for row in rows)
    header = [str(v).strip() for v in rows[0]] + [""] * (width - len(rows[0]))
    while header and not header[-1]:
        header.pop()
    body = [list(row[: len(header)]) + [""] * (len(header) - len(row)) for row in rows[1:]]
    numbers = [n for n, row in enumerate(body, start=1) if any(row)]  # blank rows are not rows
    frame = pd.DataFrame([body[n - 1] for n in numbers], columns=header, index=numbers, dtype=str)
    return frame, name


def _sheet_name(file: str, names: list[str], wanted: str) -> str:
    if not wanted:
        return names[0]
    if wanted in names:
        return wanted
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    raise InputError(file, f"has no sheet {wanted!r}; its sheets are {names}",
                     "pass one of them (or its number, from 1) with --sheet or [ingest] sheet")  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 12345, not 12345.0
    return str(value)
