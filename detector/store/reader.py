"""A read-only view of the store for ``detector show`` and ``detector report``, which works while
a run holds the store.

DuckDB lets one process write a file or several read it, never both at once. So a reader takes
the lock file shared (a run that starts meanwhile waits for it, see
:meth:`detector.store.store.Store._acquire`) and opens the file read-only; when a run holds the store,
the reader copies the file (and its write-ahead log) to a temporary folder and reads that
snapshot: every run finished before the copy is in it.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

import duckdb

from detector.errors import NotFoundError, StoreBusyError
from detector.store.health import NO_EXTENSIONS, check_file, translate
from detector.store.store import Store

log = logging.getLogger(__name__)

SNAPSHOT_TRIES = 5


def missing_store(path: Path) -> str:
    """What a command that reads a store says when there is none at ``path``."""
    where = path if path.is_absolute() else f"{path} (in {Path.cwd()})"
    return (
        f"store {where} does not exist{' (it is a folder)' if path.is_dir() else ''}. Fix: pass --store "
        "the detector.duckdb that `detector run --out DIR` wrote in DIR (default out/), or make one "
        "with `detector run --input FEED --out out` (or `detector ingest`)."
    )


class StoreReader(Store):
    """:class:`Store` opened read-only; only its reading methods may be used.

    Parameters
    ----------
    path : the store file, which must exist (opening a missing path would create an empty one).
    """

    def __enter__(self) -> StoreReader:
        if not self.path.is_file():
            raise NotFoundError(missing_store(self.path))
        check_file(self.path)
        self._shared: IO[str] | None = None
        self._snapshot_dir: Path | None = None
        target = self.path
        if self.lock_path.is_file():
            handle = open(self.lock_path, encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                self._shared = handle
            except BlockingIOError:
                holder = handle.read().strip() or "another process"
                handle.close()
                target = self._take_snapshot(holder)
        try:
            self.con_ = duckdb.connect(str(target), read_only=True, config=NO_EXTENSIONS)
        except duckdb.Error as exc:
            self._close()
            raise (translate(self.path, exc) or exc) from None
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.con_.close()
        self._close()
        domain = translate(self.path, exc) if exc is not None else None
        if domain is not None:
            raise domain from exc

    def _close(self) -> None:
        if self._shared is not None:
            fcntl.flock(self._shared, fcntl.LOCK_UN)
            self._shared.close()
        if self._snapshot_dir is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)

    def _take_snapshot(self, holder: str) -> Path:
        """Copy the store and its WAL while ``holder`` writes it; a copy during which either file
        changed is taken again."""
        self._snapshot_dir = Path(tempfile.mkdtemp(prefix="detector-store-"))
        files = [self.path, self.path.with_name(self.path.name + ".wal")]
        for _ in range(SNAPSHOT_TRIES):
            before = [_state(f) for f in files]
            for source in files:
                if source.is_file():
                    shutil.copyfile(source, self._snapshot_dir / source.name)
            if [_state(f) for f in files] == before:
                log.info("store %s is in use by %s: reading a snapshot of it", self.path, holder)
                return self._snapshot_dir / self.path.name
            time.sleep(0.5)
        self._close()
        raise StoreBusyError(
            f"store {self.path} is being written by {holder} so fast that no consistent copy could "
            "be read; run the command again in a minute, or once that run has finished."
        )


def _state(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns
