"""What is wrong with a store file that DuckDB cannot open or read, in words a user can act on.

A store is a cache of the feeds and of work done on them: the feed files are the source, so a
damaged store loses nothing that a run cannot rebuild (it costs the embedding time). Every message
here says what the file is, and the two remedies: restore the store from a backup, or move it
aside and let the next run start a new one.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import duckdb

from detector.errors import OutputError, StoreBusyError, StoreDamagedError
from detector.io import what_file_is

log = logging.getLogger(__name__)

MAGIC, MAGIC_OFFSET = b"DUCK", 8  # every DuckDB file carries "DUCK" at byte 8
HEADER_BYTES = 3 * 4096  # the file header and the two database headers
BLOCK_BYTES = 262_144  # DuckDB's default block size, which every store is created with
# A file that is not DuckDB must not make DuckDB fetch an extension (it tries, for SQLite files).
NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_DAMAGE = ("corrupt database file", "checksum", "could not read enough bytes",
           "not a valid duckdb database", "database has been invalidated", "failed to read database header",
           "serialization error")  # fmt: skip
_VERSION = ("version number", "storage version")
_FULL = ("no space left on device", "disk quota exceeded")
_READ_ONLY = ("read-only file system", "permission denied")


def remedy(path: Path) -> str:
    return (f"restore {path} from a backup, or move it aside (mv {path} {path}.damaged) and run "
            "again: a new store is built from the feeds, which are the source (nothing of them is "
            "lost; the embeddings are computed again)")  # fmt: skip


def check_file(path: Path) -> None:
    """Refuse a file that is not a DuckDB database at all, before DuckDB sees it (DuckDB would
    call it "in use", or try to download an extension for a SQLite file)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_BYTES)
    except OSError as exc:
        raise OutputError(f"store {path} cannot be read ({exc.strerror}). Fix: give the user running "
                          "the detector read and write access to it, or point --store "
                          "elsewhere.") from None  # fmt: skip
    if head[MAGIC_OFFSET : MAGIC_OFFSET + len(MAGIC)] == MAGIC:
        if len(head) < HEADER_BYTES:
            raise StoreDamagedError(f"store {path} is damaged: truncated to {len(head)} bytes, shorter "
                                    f"than a DuckDB header. Fix: {remedy(path)}.")  # fmt: skip
        return
    what = what_file_is(head) or (
        "empty (0 bytes)" if not head else "not a DuckDB database: its header is damaged, or it is "
        f"another kind of file (it starts with {head[:16]!r})"
    )  # fmt: skip
    if what.startswith("a ") or what.startswith("an "):
        what = f"{what}, not a DuckDB database"
    raise StoreDamagedError(
        f"store {path} is {what}: either --store / [store] path names the wrong file, or the store "
        f"was overwritten. Fix: point --store at the detector's store, or {remedy(path)}."
    )


def check_size(path: Path) -> None:
    """A store whose size is not the header plus whole blocks was cut short (a copy interrupted,
    a full disk): probe it read-only, so that a damaged file is reported without being written."""
    size = path.stat().st_size
    if (size - HEADER_BYTES) % BLOCK_BYTES == 0:
        return
    try:
        with duckdb.connect(str(path), read_only=True, config=NO_EXTENSIONS) as con:
            listed = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            tables = [row[0] for row in listed]
            for table in tables:  # every block is read: the missing ones are found here
                con.execute(f'SELECT * FROM "{table}"')
                while con.fetchmany(4096):
                    pass
    except duckdb.Error as exc:
        raise (translate(path, exc) or StoreDamagedError(
            f"store {path} is damaged: {size:,} bytes is not a whole number of blocks (truncated?). "
            f"Fix: {remedy(path)}.")) from None  # fmt: skip


def translate(path: Path, exc: BaseException) -> BaseException | None:
    """The domain error a DuckDB error on ``path`` stands for (damage, busy, disk full), if any;
    or the Ctrl-C it carries: DuckDB reports a SIGINT during a query as ``RuntimeError: Query
    interrupted`` (or its InterruptException), and wraps a KeyboardInterrupt raised in Python code it
    called (a pandas scan, a UDF) in one of its errors."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError | duckdb.Error)
        and ("KeyboardInterrupt" in text or "query interrupted" in lowered)
    ):
        return KeyboardInterrupt()
    if not isinstance(exc, duckdb.Error):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return StoreBusyError(f"store {path} is in use by another program ({first}); wait for it to "
                              "finish, or point --store / [store] path at another file.")  # fmt: skip
    if any(marker in lowered for marker in _VERSION):
        return StoreDamagedError(f"store {path} was written by another DuckDB version ({first}). Fix: "
                                 "run the detector with the duckdb version that wrote it, or start a new "
                                 "store (move this one aside; the feeds are the source).")  # fmt: skip
    if any(marker in lowered for marker in _FULL):
        return OutputError(f"store {path} cannot be written: the disk is full ({first}). Fix: free space "
                           "on that disk or point [store] path elsewhere, then run the same command "
                           "again (the run resumes from what was committed).")  # fmt: skip
    if any(marker in lowered for marker in _READ_ONLY):
        return OutputError(f"store {path} cannot be written ({first}). Fix: give the user running "
                           "the detector write access to it and its folder, or point --store "
                           "elsewhere.")  # fmt: skip
    if any(marker in lowered for marker in _DAMAGE):
        return StoreDamagedError(f"store {path} is damaged ({first}). Fix: {remedy(path)}.")
    return None


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)
