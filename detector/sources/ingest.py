"""Read and validate feeds (CSV, JSONL, Parquet) into one canonical article table.

Canonical columns (:data:`ARTICLE_COLUMNS`): the feed's own ``id`` is kept verbatim so every
output can be joined back to the user's data. Timestamps become UTC; naive ones take the
configured default zone. ``bloc`` and ``language`` come from the outlet registry when the feed
lacks them; a ``language`` tag is reduced to its primary language (``zh-CN`` -> ``zh``, see
:mod:`detector.languages`). Every problem names file, row, field, what was seen and the fix.

With ``on_bad_row = "skip"`` nothing is dropped silently: a bad row goes to
:attr:`IngestResult.rejected` with its reason, and so does a whole file that cannot be read at
all (wrong encoding, binary, no rows, missing columns) as one line with ``source_row`` 0; the other
files are still read. Whether any valid row is left is the caller's check.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from detector.errors import ConfigError, InputError
from detector.languages import primary_language
from detector.parallel import Mapper, serial_map
from detector.params import Constraint, Interval, OneOf, Text, validate_params
from detector.sources.feed_files import REQUIRED, read_table
from detector.sources.inputs import expand_inputs
from detector.sources.lookalikes import mixed_script_warning, nfkc
from detector.sources.registry import BLOCS, OutletRegistry

log = logging.getLogger(__name__)

OPTIONAL = ("title", "language", "url", "bloc")
ARTICLE_COLUMNS = (
    "id", "outlet", "bloc", "language", "published_at", "title", "text", "url",
    "content_hash", "source_file", "source_row",
)  # fmt: skip
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = pd.Timedelta(days=1)  # clock skew and zones east of UTC, not a date typo
REJECTED_COLUMNS = ["source_file", "source_row", "id", "field", "reason"]
WARNING_COLUMNS = ["source_file", "source_row", "id", "field", "warning"]
IDENTIFIERS = ("id", "outlet", "published_at", "language", "bloc", "url")  # max_field_chars applies


@dataclass(frozen=True)
class IngestResult:
    """Accepted articles, rejected rows (with reasons) and what was read."""

    articles: pd.DataFrame
    rejected: pd.DataFrame  # REJECTED_COLUMNS; source_row 0 = the whole file was unreadable
    files: tuple[str, ...]
    sources: tuple[dict[str, str], ...] = ()  # per file: format, compression, encoding, delimiter, sheet
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))

    def counts(self) -> dict[str, object]:
        """What the manifest reports about the input."""
        whole_files = self.rejected["source_row"] == 0
        return {
            "rows_read": len(self.articles) + int((~whole_files).sum()),
            "rows_rejected": int((~whole_files).sum()),
            "files_read": len(self.files),
            "files_rejected": int(whole_files.sum()),
            "rejected_by_field": {
                str(k): int(v) for k, v in self.rejected["field"].value_counts().sort_index().items()
            },
        }


@dataclass(frozen=True)
class FilePart:
    """What :meth:`FeedReader.read_file` found in one file: valid rows and rejections (dicts)."""

    accepted: list[dict[str, object]]
    rejected: list[dict[str, object]]
    info: dict[str, str] = field(default_factory=dict)  # how the file was read (see read_table)
    warnings: list[dict[str, object]] = field(default_factory=list)  # WARNING_COLUMNS


def headline(article: pd.Series) -> str:
    """What a report shows as an article's headline: its title, or the start of its text for feeds
    without titles (missing values count as empty)."""
    title = _present(article.get("title")).strip()
    return title or " ".join(_present(article.get("text")).split())[:160]


def _present(value: object) -> str:
    return "" if value is None or value is pd.NaT or value is pd.NA or value != value else str(value)


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
    max_field_chars : the same for every other field (id, outlet, url ...).
    max_file_mb : a file (after decompression) larger than this is refused whole.
    max_line_chars : a JSONL line longer than this is a bad row, not parsed.
    max_json_depth : a JSONL line nested deeper than this is a bad row, not parsed.
    sheet : the sheet of Excel workbooks to read (name, or number from 1); "" = the first.
    """

    parameter_section: ClassVar[str] = "ingest"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "on_bad_row": OneOf(("error", "skip")),
        "max_text_chars": Interval(1, 10_000_000),
        "max_field_chars": Interval(1, 10_000_000),
        "max_file_mb": Interval(1, 1_000_000),
        "max_line_chars": Interval(1, 2**31 - 1),
        "max_json_depth": Interval(1, 1000),
        "sheet": Text(),
    }

    def __init__(
        self,
        registry: OutletRegistry,
        default_timezone: str = "UTC",
        on_bad_row: str = "error",
        max_text_chars: int = 200_000,
        max_field_chars: int = 10_000,
        max_file_mb: int = 1024,
        max_line_chars: int = 2_000_000,
        max_json_depth: int = 20,
        sheet: str = "",
    ) -> None:
        self.registry = registry
        self.default_timezone = default_timezone
        self.on_bad_row = on_bad_row
        self.max_text_chars = max_text_chars
        self.max_field_chars = max_field_chars
        self.max_file_mb = max_file_mb
        self.max_line_chars = max_line_chars
        self.max_json_depth = max_json_depth
        self.sheet = sheet
        validate_params(self)

    def read(self, patterns: Iterable[str], mapper: Mapper | None = None) -> IngestResult:
        """Read and validate every file of ``patterns``.

        Files are read independently (``mapper(self.read_file, files)``: one after another by
        default, in parallel under an engine, see ``detector/pipeline/engine.py``), then merged in file
        order: an id seen in an earlier file makes a later row a duplicate.
        """
        self.zone()  # a bad zone is a config error before any file is read
        files = expand_inputs(patterns)
        parts = (mapper or serial_map)(self.read_file, files)
        return self.merge(files, parts)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"[ingest] default_timezone = {self.default_timezone!r} is not an IANA zone; "
                "use e.g. 'UTC' or 'Europe/Moscow'."
            ) from None

    def read_file(self, file: str) -> FilePart:
        """One file's valid rows and its rejections (duplicates checked within the file only).

        Under ``on_bad_row = "error"`` the first problem raises :class:`InputError`.
        """
        zone = self.zone()
        accepted: list[dict[str, object]] = []
        rejected: list[dict[str, object]] = []
        seen: dict[str, tuple[str, str, int]] = {}
        warnings: list[dict[str, object]] = []
        try:
            frame, bad_lines, info = read_table(
                file, max_bytes=self.max_file_mb * 2**20, max_line_chars=self.max_line_chars,
                max_json_depth=self.max_json_depth, sheet=self.sheet,
            )  # fmt: skip
        except InputError as exc:
            if self.on_bad_row == "error":
                raise
            log.warning("rejected the whole file: %s", exc)
            return FilePart(accepted, [_rejection(file, 0, "", exc)])
        for line_error in bad_lines:
            if self.on_bad_row == "error":
                raise line_error
            rejected.append(_rejection(file, line_error.row or 0, "", line_error))
        for row_number, record in zip(frame.index, frame.to_dict("records"), strict=True):
            try:
                article = self._validate(file, int(row_number), record, zone)
                self._check_duplicate(article, seen)
            except InputError as exc:
                if self.on_bad_row == "error":
                    raise
                rejected.append(_rejection(file, int(row_number), _clean(record.get("id")), exc))
                continue
            accepted.append(article)
            warning = mixed_script_warning(str(article["outlet"]), self._registry_name)
            if warning:
                warnings.append({"source_file": file, "source_row": int(row_number), "id": article["id"],
                                 "field": "outlet", "warning": warning})  # fmt: skip
        for item in warnings[:20]:
            log.warning("%s, row %s: %s", item["source_file"], item["source_row"], item["warning"])
        if len(warnings) > 20:
            log.warning("%s: %d more rows with look-alike outlet names (manifest.json lists them)",
                        file, len(warnings) - 20)  # fmt: skip
        return FilePart(accepted, rejected, info, warnings)

    def _registry_name(self, name: str) -> str | None:
        outlet = self.registry.get(name)
        return outlet.name if outlet else None

    def merge(self, files: list[str], parts: list[FilePart]) -> IngestResult:
        """Join per-file results in file order; ids repeated across files are duplicates."""
        accepted: list[dict[str, object]] = []
        rejected: list[dict[str, object]] = []
        warnings: list[dict[str, object]] = []
        seen: dict[str, tuple[str, str, int]] = {}
        for part in parts:
            warnings.extend(part.warnings)
            later: list[dict[str, object]] = []
            for article in part.accepted:
                try:
                    self._check_duplicate(article, seen)
                except InputError as exc:
                    if self.on_bad_row == "error":
                        raise
                    later.append(
                        _rejection(str(article["source_file"]), exc.row or 0, str(article["id"]), exc)
                    )
                    continue
                accepted.append(article)
            rejected.extend(sorted(part.rejected + later, key=lambda r: int(str(r["source_row"]))))
        if rejected:
            log.warning("set aside %d bad rows or files (on_bad_row = 'skip'), see rejected.csv",
                        len(rejected))  # fmt: skip
        articles = pd.DataFrame(accepted, columns=list(ARTICLE_COLUMNS))
        articles["published_at"] = pd.to_datetime(articles["published_at"], utc=True)
        log.info("read %d articles from %d file(s)", len(articles), len(files))
        return IngestResult(
            articles=articles.sort_values(["published_at", "id"], kind="stable").reset_index(drop=True),
            rejected=pd.DataFrame(rejected, columns=REJECTED_COLUMNS),
            files=tuple(files),
            sources=tuple(part.info for part in parts),
            warnings=pd.DataFrame(warnings, columns=WARNING_COLUMNS),
        )

    def _validate(self, file: str, row: int, record: dict[str, object], zone: ZoneInfo) -> dict[str, object]:
        for key in (*REQUIRED, *OPTIONAL):
            if isinstance(record.get(key), dict | list):
                raise InputError(file, "value is a JSON object or array, not text",
                                 f"write {key} as a string", row=row, field=key,
                                 seen=record[key])  # fmt: skip
        values = {k: _clean(record.get(k)) for k in (*REQUIRED, *OPTIONAL)}
        for key, value in values.items():
            if "\x00" in value:
                raise InputError(file, f"contains a NUL byte (U+0000) at character {value.index(chr(0)) + 1}",
                                 "remove it upstream (a NUL inside a field is a scraper or export bug), "
                                 "or set [ingest] on_bad_row = 'skip'", row=row, field=key)  # fmt: skip
            if key in IDENTIFIERS and len(value) > self.max_field_chars:
                raise InputError(file, f"{key} is {len(value):,} characters, over the limit of "
                                 f"{self.max_field_chars:,}", "check the export (an unclosed quote "
                                 "swallowing the rows after it?), or raise [ingest] max_field_chars",
                                 row=row, field=key)  # fmt: skip
        # Identifiers are compared (and outlets stored) in NFKC form: "ＴＡＳＳ" is TASS.
        values["outlet"], values["bloc"] = nfkc(values["outlet"]), nfkc(values["bloc"]).casefold()
        for key in ("id", "outlet", "published_at"):
            if not values[key]:
                raise InputError(file, "empty required value", f"give every row a {key}",
                                 row=row, field=key)  # fmt: skip
        if not values["text"] and not values["title"]:
            raise InputError(file, "both text and title are empty",
                             "drop the row or fill its text", row=row, field="text")  # fmt: skip
        for key in ("title", "text"):
            if len(values[key]) > self.max_text_chars:
                raise InputError(
                    file, f"{key} is {len(values[key]):,} characters, over the limit of "
                    f"{self.max_text_chars:,}", "check the export (a whole page or file pasted "
                    "into one cell?), or raise [ingest] max_text_chars", row=row, field=key,
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
        try:  # BCP 47 -> primary language: zh-CN, zh_Hans, zh-TW are zh (detector/languages.py)
            language = primary_language(values["language"]) if values["language"] else ""
        except ValueError:
            raise InputError(file, "not a BCP 47 language tag", "write an ISO 639 code such as ru, zh "
                             "or en (zh-CN, ru-RU are read as zh, ru), or leave it empty to take the "
                             "outlet's language from the registry", row=row, field="language",
                             seen=values["language"]) from None  # fmt: skip
        language = language or (outlet.language if outlet else "und")
        return {
            "id": values["id"], "outlet": values["outlet"], "bloc": bloc,
            "language": language, "published_at": published,
            "title": values["title"], "text": values["text"], "url": values["url"],
            "content_hash": content_hash(values["title"], values["text"]),
            "source_file": file, "source_row": row,
        }  # fmt: skip

    @staticmethod
    def _check_duplicate(article: dict[str, object], seen: dict[str, tuple[str, str, int]]) -> None:
        key = nfkc(str(article["id"]))  # "Ａ1" and "A1" are one id to a reader
        previous = seen.get(key)
        if previous is None:
            seen[key] = (str(article["content_hash"]), str(article["source_file"]),
                         int(article["source_row"]))  # type: ignore[call-overload]  # fmt: skip
            return
        if previous[0] != article["content_hash"]:
            problem, fix = "id already used with different content at", "give each article a unique id"
        else:
            problem, fix = "exact duplicate of", "remove the repeated row"
        raise InputError(
            str(article["source_file"]), f"{problem} {previous[1]}, row {previous[2]}", fix,
            row=int(article["source_row"]), field="id", seen=key,  # type: ignore[call-overload]
        )  # fmt: skip


def parse_timestamp(value: str, zone: ZoneInfo, *, file: str, row: int) -> datetime:
    """ISO-8601 timestamp or date -> aware UTC datetime, within [1990, now + 1 day]."""
    try:
        stamp = datetime.fromisoformat(value.replace(" UTC", "Z"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=zone)
        stamp = stamp.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        raise InputError(file, "not an ISO-8601 timestamp (or out of the calendar)",
                         "write e.g. 2022-03-08T10:15:00Z", row=row, field="published_at",
                         seen=value) from None  # fmt: skip
    if stamp < EARLIEST:
        raise InputError(file, f"timestamp before {EARLIEST:%Y-%m-%d}", "check the year (and that "
                         "it is not an epoch 0 or a placeholder date)", row=row,
                         field="published_at", seen=value)  # fmt: skip
    latest = datetime.now(UTC) + FUTURE_TOLERANCE
    if stamp > latest:
        raise InputError(file, f"timestamp in the future (after {latest:%Y-%m-%dT%H:%MZ}, now + 1 day)",
                         "check the year, the day/month order and the time zone", row=row,
                         field="published_at", seen=value)  # fmt: skip
    return stamp


def _rejection(file: str, row: int, article_id: str, exc: InputError) -> dict[str, object]:
    return {"source_file": file, "source_row": row, "id": article_id, "field": exc.field or "",
            "reason": str(exc)}  # fmt: skip


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()
