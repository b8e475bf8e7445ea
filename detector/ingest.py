"""Read and validate feeds (CSV, JSONL, Parquet) into one canonical article table.

Canonical columns (:data:`ARTICLE_COLUMNS`): the feed's own ``id`` is kept verbatim so every
output can be joined back to the user's data. Timestamps become UTC; naive ones take the
configured default zone. ``bloc`` and ``language`` come from the outlet registry when the feed
lacks them. Every problem names file, row, field, what was seen and the fix.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from detector.errors import ConfigError, InputError
from detector.registry import BLOCS, OutletRegistry

log = logging.getLogger(__name__)

REQUIRED = ("id", "outlet", "published_at", "text")
OPTIONAL = ("title", "language", "url", "bloc")
ARTICLE_COLUMNS = (
    "id", "outlet", "bloc", "language", "published_at", "title", "text", "url",
    "content_hash", "source_file", "source_row",
)  # fmt: skip
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IngestResult:
    """Accepted articles, rejected rows (with reasons) and what was read."""

    articles: pd.DataFrame
    rejected: pd.DataFrame
    files: tuple[str, ...]


def expand_inputs(patterns: Iterable[str]) -> list[str]:
    """Expand globs; a pattern that matches nothing is an error, not an empty feed."""
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches or not all(Path(m).is_file() for m in matches):
            raise InputError(pattern, "no such file", "check the path or glob passed as --input")
        files.extend(matches)
    return list(dict.fromkeys(files))


def content_hash(title: str, text: str) -> str:
    """Identity of an article's content: an edited article gets a new hash and is re-embedded."""
    return hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()


class FeedReader:
    """Reads feed files into canonical articles.

    Parameters
    ----------
    registry : path of the outlet registry TOML (fills ``bloc`` and ``language``).
    default_timezone : IANA zone applied to timestamps that carry none.
    on_bad_row : ``"error"`` stops at the first bad row; ``"skip"`` sets it aside with its reason.
    max_text_chars : texts longer than this are rejected (they are almost always broken exports).
    """

    def __init__(
        self,
        registry: OutletRegistry,
        default_timezone: str = "UTC",
        on_bad_row: str = "error",
        max_text_chars: int = 200_000,
    ) -> None:
        self.registry = registry
        self.default_timezone = default_timezone
        self.on_bad_row = on_bad_row
        self.max_text_chars = max_text_chars

    def read(self, patterns: Iterable[str]) -> IngestResult:
        try:
            zone = ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"[ingest] default_timezone = {self.default_timezone!r} is not an IANA zone; "
                "use e.g. 'UTC' or 'Europe/Moscow'."
            ) from None
        files = expand_inputs(patterns)
        accepted: list[dict[str, object]] = []
        rejected: list[dict[str, object]] = []
        seen: dict[str, tuple[str, str, int]] = {}
        for file in files:
            frame = read_table(file)
            for row_number, record in enumerate(frame.to_dict("records"), start=1):
                try:
                    article = self._validate(file, row_number, record, zone)
                    self._check_duplicate(article, seen)
                except InputError as exc:
                    if self.on_bad_row == "error":
                        raise
                    rejected.append(
                        {"source_file": file, "source_row": row_number, "id": record.get("id", ""),
                         "field": exc.field or "", "reason": str(exc)}
                    )  # fmt: skip
                    continue
                if article is not None:
                    accepted.append(article)
        if rejected:
            log.warning("set aside %d bad rows (on_bad_row = 'skip')", len(rejected))
        articles = pd.DataFrame(accepted, columns=list(ARTICLE_COLUMNS))
        articles["published_at"] = pd.to_datetime(articles["published_at"], utc=True)
        log.info("read %d articles from %d file(s)", len(articles), len(files))
        return IngestResult(
            articles=articles.sort_values(["published_at", "id"], kind="stable").reset_index(drop=True),
            rejected=pd.DataFrame(rejected, columns=["source_file", "source_row", "id", "field", "reason"]),
            files=tuple(files),
        )

    def _validate(self, file: str, row: int, record: dict[str, object], zone: ZoneInfo) -> dict[str, object]:
        values = {k: _clean(record.get(k)) for k in (*REQUIRED, *OPTIONAL)}
        for key in ("id", "outlet", "published_at"):
            if not values[key]:
                raise InputError(file, "empty required value", f"give every row a {key}",
                                 row=row, field=key)  # fmt: skip
        if not values["text"] and not values["title"]:
            raise InputError(file, "both text and title are empty",
                             "drop the row or fill its text", row=row, field="text")  # fmt: skip
        if len(values["text"]) > self.max_text_chars:
            raise InputError(
                file, f"text is {len(values['text']):,} characters, over the limit",
                "check the export, or raise [ingest] max_text_chars", row=row, field="text",
            )  # fmt: skip
        published = parse_timestamp(values["published_at"], zone, file=file, row=row)
        outlet = self.registry.get(values["outlet"])
        bloc = values["bloc"] or (outlet.bloc if outlet else "")
        if not bloc:
            raise InputError(
                file, "outlet is not in the registry and the row has no bloc",
                "add the outlet to configs/outlets.toml or give the feed a bloc column",
                row=row, field="outlet", seen=values["outlet"],
            )  # fmt: skip
        if bloc not in BLOCS:
            raise InputError(file, "unknown bloc", f"use one of {list(BLOCS)}",
                             row=row, field="bloc", seen=bloc)  # fmt: skip
        language = values["language"] or (outlet.language if outlet else "und")
        return {
            "id": values["id"], "outlet": values["outlet"], "bloc": bloc,
            "language": language.lower(), "published_at": published,
            "title": values["title"], "text": values["text"], "url": values["url"],
            "content_hash": content_hash(values["title"], values["text"]),
            "source_file": file, "source_row": row,
        }  # fmt: skip

    @staticmethod
    def _check_duplicate(article: dict[str, object], seen: dict[str, tuple[str, str, int]]) -> None:
        key = str(article["id"])
        previous = seen.get(key)
        if previous is None:
            seen[key] = (str(article["content_hash"]), str(article["source_file"]),
                         int(article["source_row"]))  # type: ignore[call-overload]  # fmt: skip
        elif previous[0] != article["content_hash"]:
            raise InputError(
                str(article["source_file"]),
                f"id already used with different content at {previous[1]}, row {previous[2]}",
                "give each article a unique id", row=int(article["source_row"]),  # type: ignore[call-overload]
                field="id", seen=key,
            )  # fmt: skip
        else:
            raise InputError(
                str(article["source_file"]),
                f"exact duplicate of {previous[1]}, row {previous[2]}",
                "remove the repeated row", row=int(article["source_row"]),  # type: ignore[call-overload]
                field="id", seen=key,
            )  # fmt: skip


def parse_timestamp(value: str, zone: ZoneInfo, *, file: str, row: int) -> datetime:
    """ISO-8601 timestamp or date -> aware UTC datetime, within [1990, now + 1 day]."""
    try:
        stamp = datetime.fromisoformat(value.replace(" UTC", "Z"))
    except ValueError:
        raise InputError(file, "not an ISO-8601 timestamp", "write e.g. 2022-03-08T10:15:00Z",
                         row=row, field="published_at", seen=value) from None  # fmt: skip
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=zone)
    stamp = stamp.astimezone(UTC)
    latest = datetime.now(UTC) + pd.Timedelta(days=1)
    if not EARLIEST <= stamp <= latest:
        raise InputError(file, "timestamp out of range (1990 to tomorrow)",
                         "check the year and the time zone", row=row,
                         field="published_at", seen=value)  # fmt: skip
    return stamp


def read_table(file: str) -> pd.DataFrame:
    """Read one CSV / JSONL / Parquet file as strings, with a clear error for wrong encodings."""
    suffix = Path(file).suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(file)
    else:
        raw = Path(file).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(
                file, f"not UTF-8 (bad byte at offset {exc.start}, line {line})",
                "re-encode the file as UTF-8, e.g. iconv -f cp1251 -t utf-8 (Cyrillic) "
                "or iconv -f gb18030 -t utf-8 (Chinese)",
            ) from None  # fmt: skip
        if "\x00" in text:
            raise InputError(file, "contains NUL bytes (binary data?)", "pass a text feed")
        if not text.strip():
            raise InputError(file, "file is empty", "pass a feed with a header and rows")
        if suffix in (".jsonl", ".ndjson", ".json"):
            frame = _read_jsonl(file, text)
        else:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            file, f"missing required column(s) {missing}; found {list(frame.columns)}",
            f"add the columns; required are {list(REQUIRED)}",
        )  # fmt: skip
    if frame.empty:
        raise InputError(file, "has a header but no rows", "pass a feed with at least one row")
    return frame


def _read_jsonl(file: str, text: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(file, f"line is not JSON ({exc.msg})", "write one JSON object per line",
                             row=number) from None  # fmt: skip
        if not isinstance(record, dict):
            raise InputError(file, "line is not a JSON object", "write one object per line", row=number)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()
