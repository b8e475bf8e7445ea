"""Checks made before a run does any work: can it write its reports and its store?

A read-only, full or forbidden ``--out`` used to be found after the whole run, at the first
report; these checks find it in milliseconds, with one line saying what to do.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from detector.errors import OutputError

MIN_FREE_MB = 64  # reports are small, but the store grows by every new article's vectors


def _fix(exc: OSError, what: str) -> str:
    if exc.errno == errno.EROFS:
        return f"that file system is mounted read-only: point {what} at a writable disk"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"free space on that disk, or point {what} at another one"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"give the user running the detector write access (chown/chmod), or point {what} elsewhere"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"part of that path is a file, not a folder: point {what} at a folder (or under one)"
    return f"check the path, or point {what} elsewhere"


def check_writable(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and prove that a file can be written there, with enough free
    space (:data:`MIN_FREE_MB`); ``what`` names the option for the fix (``--out``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".detector-probe.", suffix=".tmp", dir=folder)
        try:
            os.write(handle, b"\0" * 4096)
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(probe)
        stats = os.statvfs(folder)
    except OSError as exc:
        raise OutputError(
            f"{folder} ({what}) cannot be written ({exc.strerror}). Fix: {_fix(exc, what)}."
        ) from None
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_MB * 2**20:
        raise OutputError(
            f"{folder} ({what}) has only {free / 2**20:.1f} MiB free; a run needs at least {MIN_FREE_MB} "
            f"MiB for its reports and the store. Fix: free space on that disk, or point {what} at "
            "another one."
        )


def check_store_writable(path: Path) -> None:
    """The store's folder must be writable (DuckDB writes a WAL beside it), and so must the file."""
    check_writable(path.parent, "--store / [store] path")
    if path.is_file():
        try:
            open(path, "r+b").close()
        except OSError as exc:
            raise OutputError(
                f"store {path} cannot be written ({exc.strerror}). "
                f"Fix: {_fix(exc, '--store / [store] path')}."
            ) from None
