"""Opening one feed file: its bytes (decompressed, within a cap), its text (decoded), and, for
what cannot be read, what the file actually is.

Compression is taken from the extension (``.gz``, ``.bz2``, ``.xz``, ``.zst``) and, when the
extension names none, from the first bytes (a gzip file named ``feed.csv`` is still read, with a
warning). Decompression stops at ``max_bytes``: a small file must not expand without bound.
Text is UTF-8 (with or without BOM) or UTF-16/UTF-32 with a BOM (Excel's "Unicode text").
"""

from __future__ import annotations

import bz2
import codecs
import errno
import gzip
import logging
import lzma
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from detector.errors import InputError, MissingDependencyError
from detector.io import what_file_is

log = logging.getLogger(__name__)

COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_MAGIC_COMPRESSION = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"),
                      (b"\x28\xb5\x2f\xfd", "zstd"))  # fmt: skip
# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))  # fmt: skip
_CHUNK = 1 << 20
CAP_SETTING = "[ingest] max_file_mb"


def split_name(file: str) -> tuple[str, str | None]:
    """``(format suffix, compression)`` from the name: ``feed.csv.gz`` -> ``(".csv", "gzip")``."""
    path = Path(file)
    compression = COMPRESSIONS.get(path.suffix.lower())
    inner = Path(path.stem) if compression else path
    return inner.suffix.lower(), compression


def os_error(file: str, exc: OSError) -> InputError:
    """An OS-level failure to read ``file`` as one clear :class:`InputError`."""
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, PermissionError):
        fix = ("give the user running the detector read access (e.g. chmod o+r, or chown), "
               "or copy the file somewhere it can read")  # fmt: skip
    elif exc.errno == errno.EIO:
        fix = "the disk or network share failed while reading: check it (dmesg), then copy the file again"
    else:
        fix = "check the path and that the file is a regular, readable file"
    return InputError(file, f"cannot be read ({reason})", fix)


def read_bytes(file: str, max_bytes: int) -> tuple[bytes, str | None]:
    """The file's content, decompressed, and the compression used (``None``: plain).

    More than ``max_bytes`` (after decompression) is an :class:`InputError` naming the cap and
    :data:`CAP_SETTING`; so is a file named ``.gz`` (etc.) that is not compressed that way.
    """
    _, named = split_name(file)
    try:
        with open(file, "rb") as handle:
            head = handle.read(8)
            handle.seek(0)
            found = next((kind for magic, kind in _MAGIC_COMPRESSION if head.startswith(magic)), None)
            if named and found != named:
                raise InputError(
                    file, f"is named {Path(file).suffix} but is not {named}-compressed "
                    f"({describe(head) or 'its first bytes are ' + repr(head)})",
                    f"rename it to what it is (e.g. drop the {Path(file).suffix}), or compress it "
                    f"with {named}",
                )  # fmt: skip
            if found and not named:
                log.warning("%s is %s-compressed though its name does not say so; reading it as such",
                            file, found)  # fmt: skip
            if found is None:
                size = os.fstat(handle.fileno()).st_size
                if size > max_bytes:
                    raise too_large(file, f"is {size / 2**20:,.0f} MiB", max_bytes)
                return handle.read(), None
            return _decompress(file, _opener(found)(handle), max_bytes, found), found
    except OSError as exc:
        raise os_error(file, exc) from None


def _opener(kind: str) -> Callable[[IO[bytes]], IO[bytes]]:
    if kind == "gzip":
        return lambda handle: cast(IO[bytes], gzip.GzipFile(fileobj=handle))
    if kind == "bz2":
        return lambda handle: cast(IO[bytes], bz2.BZ2File(handle))
    if kind == "xz":
        return lambda handle: cast(IO[bytes], lzma.LZMAFile(handle))
    try:
        import zstandard
    except ImportError:
        raise MissingDependencyError(
            "'zstandard' is not installed, so .zst feeds cannot be read: pip install '.[formats]' "
            "(or zstandard), or decompress the file with `zstd -d`"
        ) from None
    return lambda handle: zstandard.ZstdDecompressor().stream_reader(handle)


def _decompress(file: str, stream: IO[bytes], max_bytes: int, kind: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    try:
        with stream:
            while block := stream.read(_CHUNK):
                total += len(block)
                if total > max_bytes:
                    raise too_large(file, f"decompresses ({kind}) to more than {max_bytes / 2**20:,.0f} MiB "
                                     "(reading stopped there)", max_bytes)  # fmt: skip
                parts.append(block)
    except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise os_error(file, exc) from None
        problem = str(exc) or type(exc).__name__
        raise InputError(file, f"is a damaged or truncated {kind} file ({problem})",
                         "copy or download it again; `gzip -t`, `xz -t`, `zstd -t` test a "
                         "file") from None  # fmt: skip
    except Exception as exc:  # zstandard.ZstdError does not derive from the ones above
        if type(exc).__name__ != "ZstdError":
            raise
        raise InputError(file, f"is a damaged or truncated zstd file ({exc})",
                         "copy or download it again; `zstd -t` tests a file") from None  # fmt: skip
    return b"".join(parts)


def too_large(file: str, what: str, max_bytes: int) -> InputError:
    return InputError(
        file, f"{what}, over the cap of {max_bytes / 2**20:,.0f} MiB per file",
        f"split the feed into smaller files (one per day), or raise {CAP_SETTING} if this size is "
        "expected (a file that expands hugely is more likely a decompression bomb or a broken export)",
    )  # fmt: skip


def decode(file: str, raw: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 (BOM optional), or UTF-16/32 announced by a BOM."""
    encoding = next((name for bom, name in BOMS if raw.startswith(bom)), "utf-8")
    body = raw[len(next((bom for bom, name in BOMS if name == encoding and raw.startswith(bom)), b"")) :]
    try:
        return body.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise InputError(
                file, f"starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
                f"(bad bytes at offset {exc.start})", "export the file again (e.g. Excel: Save As > "
                "'CSV UTF-8' or 'Unicode Text'); it may be truncated",
            ) from None  # fmt: skip
        what = describe(raw)
        if what is not None:
            raise not_a_feed(file, what) from None
        line = raw[: exc.start].count(b"\n") + 1
        guess, fix = _guess_encoding(raw)
        problem = f"not UTF-8 (bad byte at offset {exc.start}, line {line}; {guess})"
        raise InputError(file, problem, fix) from None


def _guess_encoding(raw: bytes) -> tuple[str, str]:
    """A hint and the fix for text that is not UTF-8."""
    iconv = "re-encode the file as UTF-8, e.g. iconv -f {} -t utf-8 IN > OUT"
    if _looks_utf16(raw):
        return ("looks like UTF-16 without a byte-order mark",
                iconv.format("utf-16le") + ", or export again as Excel 'Unicode Text' (it has "
                "one)")  # fmt: skip
    high = bytes(b for b in raw if b >= 0x80)
    # Russian text in cp1251 is mostly lower-case letters (bytes E0-FF); GB18030 lead and trail
    # bytes spread evenly over 81-FE, so about half of them land there.
    if high and sum(b >= 0xE0 for b in high) / len(high) > 0.7:
        return "looks like cp1251 (Windows Cyrillic)", iconv.format("cp1251") + " (Cyrillic)"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return ("an unknown 8-bit encoding or binary data",
                "re-encode the file as UTF-8 (iconv -f cp1251 -t utf-8 for Cyrillic, iconv -f gb18030 "
                "-t utf-8 for Chinese), or export it as UTF-8 CSV, JSONL or Parquet")  # fmt: skip
    return "looks like GB18030/GBK (Chinese)", iconv.format("gb18030") + " (Chinese)"


def _looks_utf16(raw: bytes) -> bool:
    """A line end as a UTF-16 code unit (``0A 00`` or ``00 0A`` at an even offset) never occurs
    in 8-bit text; mostly-ASCII UTF-16 also has a NUL in every other byte."""
    sample = raw[:65536]
    for pair in (b"\n\x00", b"\x00\n"):
        at = sample.find(pair)
        while at != -1:
            if at % 2 == 0:
                return True
            at = sample.find(pair, at + 1)
    half = len(sample) / 2
    return len(sample) >= 8 and max(sample[1::2].count(0), sample[0::2].count(0)) > 0.4 * half


def nul_density(text: str) -> str | None:
    """Why a text with this many NUL characters is not a feed at all (else ``None``: a few NULs
    are row-level problems, reported with their row)."""
    count = text.count("\x00")
    if count == 0 or count < 0.1 * len(text):
        return None
    return (f"{count:,} of its {len(text):,} characters are NUL bytes (binary data, or UTF-16 "
            "without a byte-order mark)")  # fmt: skip


# What to do with a file that :func:`detector.io.what_file_is` recognises as no feed.
_FIXES = {
    "a PDF document": "export the feed as CSV, JSONL, Parquet or Excel (.xlsx)",
    "an Excel 97-2003 workbook (.xls) or another old Office file":
        "save it as .xlsx (Excel Workbook) or 'CSV UTF-8' and pass that",
    "a ZIP archive": "unzip it and pass the feed files (or the folder) as --input; an Excel workbook "
                     "must be named .xlsx",
    "a SQLite database": "export the table as CSV or Parquet",
    "a DuckDB database (a detector store?)": "pass the feed files as --input and the store as --store",
    "a PNG image": "pass the feed file, not an image",
    "a JPEG image": "pass the feed file, not an image",
    "a 7-Zip archive": "extract it (7z x) and pass the feed files",
    "a RAR archive": "extract it (unrar x) and pass the feed files",
    "a tar archive": "extract it (tar xf) and pass the feed files or their folder",
    "a Parquet file": "name it .parquet",
    "an HTML page": "the scraper saved a web page (an error or login page?) instead of the feed: "
                    "fetch it again",
}  # fmt: skip
describe = what_file_is


def not_a_feed(file: str, what: str) -> InputError:
    """The refusal of a file that is ``what`` (from :func:`describe`), with its fix."""
    return InputError(file, f"is {what}, not a feed", _FIXES.get(what, "pass a feed file"))


def sniff_head(file: str) -> bytes:
    """The first 512 bytes (for :func:`describe`), or an :class:`InputError` if unreadable."""
    try:
        with open(file, "rb") as handle:
            return handle.read(512)
    except OSError as exc:
        raise os_error(file, exc) from None
