"""An index saved beside the store, so a daily run only adds the day's new vectors.

Two files: ``<path>`` (``faiss.write_index``) and ``<path>.meta.npz`` (the caller's id and the
time of every row, and the concrete kind). Both are written to a temporary name and renamed, so a
crash never leaves a half-written index; the row counts are checked against each other on load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import faiss
import numpy as np

from detector.index.core import KnnResult, VectorIndex, resolve_kind, set_threads
from detector.index.windowed import HOUR, windowed_search

log = logging.getLogger(__name__)


class PersistentIndex:
    """A :class:`VectorIndex` with ids and times that lives on disk.

    ``open()`` loads ``path`` if it exists, ``add(ids, vectors, times)`` appends only ids not yet
    indexed (new rows in time order), ``save()`` writes it back. ``search`` returns row numbers;
    ``ids_[row]`` is the caller's id.

    Parameters
    ----------
    path : the index file; the metadata goes to ``<path>.meta.npz``.
    kind, nprobe, hnsw_ef_search, auto_exact_max, threads : as for :class:`VectorIndex`. With
        ``"auto"`` the index starts exact and is rebuilt once as IVF when it outgrows
        ``auto_exact_max`` rows; for time-windowed search keep ``"flat"`` (a window is small).
    """

    def __init__(
        self,
        path: str | Path,
        kind: str = "flat",
        nprobe: int = 16,
        hnsw_ef_search: int = 64,
        auto_exact_max: int = 200_000,
        threads: int = 2,
    ) -> None:
        self.path = path
        self.kind = kind
        self.nprobe = nprobe
        self.hnsw_ef_search = hnsw_ef_search
        self.auto_exact_max = auto_exact_max
        self.threads = threads

    @property
    def meta_path(self) -> Path:
        return Path(f"{self.path}.meta.npz")

    def _vector_index(self) -> VectorIndex:
        return VectorIndex(
            kind=self.kind,
            nprobe=self.nprobe,
            hnsw_ef_search=self.hnsw_ef_search,
            auto_exact_max=self.auto_exact_max,
            threads=self.threads,
        )

    def open(self) -> PersistentIndex:
        """Load the saved index, or start empty when ``path`` does not exist yet."""
        resolve_kind(self.kind, 0, self.auto_exact_max)  # fail early on a mistyped kind
        self.index_: VectorIndex | None = None
        self.ids_ = np.zeros(0, dtype=np.int64)
        self.times_ = np.zeros(0, dtype=np.int64)
        path = Path(self.path)
        if not path.exists():
            return self
        if not self.meta_path.exists():
            raise FileNotFoundError(
                f"index {path} has no metadata file {self.meta_path}; delete {path} to rebuild it."
            )
        with np.load(self.meta_path, allow_pickle=False) as meta:
            self.ids_, self.times_, kind = meta["ids"], meta["times"], str(meta["kind"])
        index = self._vector_index()
        index.index_, index.kind_ = faiss.read_index(str(path)), kind
        if index.index_.ntotal != len(self.ids_):
            raise ValueError(
                f"index {path} holds {index.index_.ntotal} vectors but {self.meta_path} lists "
                f"{len(self.ids_)} ids; the pair is inconsistent, delete both to rebuild."
            )
        self.index_ = index
        log.info("loaded %s index %s with %d vectors", kind, path, len(self.ids_))
        return self

    def _check_open(self) -> None:
        if not hasattr(self, "ids_"):
            raise RuntimeError("this PersistentIndex is not open; call open() first.")

    @property
    def ntotal(self) -> int:
        self._check_open()
        return len(self.ids_)

    def add(self, ids: np.ndarray, vectors: np.ndarray, times: np.ndarray) -> int:
        """Index the rows whose id is new (first occurrence wins); returns how many were added."""
        self._check_open()
        ids, times = np.asarray(ids), np.asarray(times, dtype=np.int64)
        if not len(ids) == len(vectors) == len(times):
            raise ValueError(
                f"ids, vectors and times must have one entry per row; saw {len(ids)}, "
                f"{len(vectors)} and {len(times)}."
            )
        _, first = np.unique(ids, return_index=True)
        new = np.sort(first)
        if len(self.ids_):
            new = new[~np.isin(ids[new], self.ids_)]
        new = new[np.argsort(times[new], kind="stable")]
        if len(new) == 0:
            return 0
        x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[new])
        if self.index_ is None:
            self.index_ = self._vector_index().fit(x)
        elif (
            self.kind == "auto"
            and self.index_.kind_ == "flat"
            and self.index_.ntotal + len(x) > self.auto_exact_max
        ):
            old = self.index_.index_.reconstruct_n(0, self.index_.ntotal)
            self.index_ = self._vector_index().fit(np.vstack([old, x]))
            log.info("index %s outgrew exact search; rebuilt as %s", self.path, self.index_.kind_)
        else:
            self.index_.add(x)
        self.ids_ = np.concatenate([self.ids_, ids[new]]) if len(self.ids_) else ids[new]
        self.times_ = np.concatenate([self.times_, times[new]])
        return len(new)

    def save(self) -> None:
        """Write the index and its metadata atomically (temporary file + rename)."""
        self._check_open()
        if self.index_ is None:
            return
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index_.index_, str(tmp))
        meta_tmp = path.with_name(path.name + ".meta.tmp.npz")
        np.savez(meta_tmp, ids=self.ids_, times=self.times_, kind=np.array(self.index_.kind_))
        os.replace(meta_tmp, self.meta_path)
        os.replace(tmp, path)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        query_times: np.ndarray | None = None,
        max_lag_seconds: int | None = None,
    ) -> KnnResult:
        """Top-``k`` rows per query; only within ``± max_lag_seconds`` of ``query_times`` if given."""
        self._check_open()
        if self.index_ is None:
            return KnnResult(np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1))
        set_threads(self.threads)
        if max_lag_seconds is None:
            return self.index_.search(queries, k)
        if query_times is None:
            raise ValueError("max_lag_seconds needs query_times (one int64 second per query).")
        return windowed_search(
            self.index_, queries, query_times, self.times_, k, max_lag_seconds, bucket_seconds=6 * HOUR
        )
