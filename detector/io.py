"""Atomic file writes: a file is complete or absent, never half-written (a killed run leaves the old
file in place and no temporary file behind); and TOML files read with one clear error."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from detector.errors import ConfigError


@contextmanager
def atomic_writer(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(data: dict[str, Any], path: Path) -> None:
    """``data`` as indented UTF-8 JSON (keys sorted, so equal data gives equal bytes), atomically."""
    with atomic_writer(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str, ensure_ascii=False)
        handle.write("\n")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# (signature, at offset, what the file is): for messages that say what a file really is.
FILE_KINDS: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an Excel 97-2003 workbook (.xls) or another old Office file"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
    (b"SQLite format 3\x00", 0, "a SQLite database"),
    (b"DUCK", 8, "a DuckDB database (a detector store?)"),
    (b"\x89PNG", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"Rar!", 0, "a RAR archive"),
    (b"ustar", 257, "a tar archive"),
    (b"PAR1", 0, "a Parquet file"),
)


def what_file_is(head: bytes) -> str | None:
    """What a file whose first bytes are ``head`` is, when it is one of :data:`FILE_KINDS` or an
    HTML page; ``None`` otherwise (text, or a kind not listed)."""
    for signature, offset, what in FILE_KINDS:
        if head[offset : offset + len(signature)] == signature:
            return what
    if head[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    return None


def parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    """The TOML document ``raw`` (the bytes of ``path``): one ConfigError naming the file and the
    fix when it is not UTF-8 or not TOML (the config, the outlet registry, a watchlist)."""
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte {exc.start}). Fix: save it as UTF-8 (iconv -f <its encoding> -t utf-8)."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix: correct that line.") from None
