"""Time-windowed and cross-bloc search on top of :class:`detector.index.core.VectorIndex`.

The core query is *windowed k-NN*: for each query, its ``k`` most similar base vectors whose
timestamps lie within ``± max_lag`` of the query's. Queries are processed in time buckets (one
FAISS call per bucket, never a Python loop per query): each bucket searches only the base rows
that some query of the bucket may see. When base rows are in time order that is a contiguous row
range (``IDSelectorRange``: FAISS narrows its flat scan to the slice, so a window costs what its
size costs); otherwise an explicit row set.

The result is exact, not approximate at the window edges. A row of the bucket's range may lie
outside one query's own window; after masking those, the top ``k`` of a query's window are the
top ``k`` it sees whenever at least ``k`` rows survive. So each bucket first asks FAISS for
``4k`` rows (cheap: the heap stays small) and only the queries left with fewer than ``k`` valid
rows are searched again with ``k`` + every row that can be out of their window, which is exact
by construction. ``benchmarks/bench_search.py`` measures this against search-then-mask and an
index per bucket.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd

from detector.index.core import KnnResult, Subset, VectorIndex
from detector.times import HOUR

log = logging.getLogger(__name__)


# Queries a FAISS call should get at least, when that costs at most doubling the rows searched.
MIN_QUERIES_PER_CALL = 32


def _groups(
    query_times: np.ndarray, sorted_times: np.ndarray, lag: int, bucket_seconds: int
) -> list[np.ndarray]:
    """Query positions grouped by time bucket, one FAISS call per group.

    Each FAISS call pays a fixed cost (OpenMP start-up and barriers; on the shared 2-core machine
    ~1-10 ms), so sparse queries (say 1,000 over a year) in 6 h buckets cost one call per query.
    Buckets are therefore widened until they hold ~``MIN_QUERIES_PER_CALL`` queries, but never
    beyond ``2 * lag``, where a bucket's rows are at most twice one query's window. Adjacent
    buckets that would search the very same rows are merged (all queries inside one window).
    """
    order = np.argsort(query_times, kind="stable")
    qt = query_times[order]
    sparse_width = MIN_QUERIES_PER_CALL * (int(qt[-1] - qt[0]) + 1) // len(qt)
    width = max(bucket_seconds, min(sparse_width, 2 * lag))
    starts = np.flatnonzero(np.r_[True, np.diff(qt // width) != 0])
    lo = np.searchsorted(sorted_times, qt[starts] - lag, side="left")
    hi = np.searchsorted(sorted_times, np.maximum.reduceat(qt, starts) + lag, side="right")
    same_rows = np.r_[False, (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])]
    return np.split(order, starts[~same_rows][1:])


def _masked(
    index: VectorIndex,
    queries: np.ndarray,
    query_times: np.ndarray,
    base_times: np.ndarray,
    k: int,
    subset: Subset,
    lag: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Search ``k`` among ``subset``, then drop rows outside each query's own window."""
    found = index.search(queries, k, subset=subset)
    i = found.ids
    gap = np.abs(base_times[np.clip(i, 0, None)] - query_times[:, None])
    valid = (i >= 0) & (gap <= lag)
    return np.where(valid, found.similarities, -np.inf), np.where(valid, i, -1)


def windowed_search(
    index: VectorIndex,
    queries: np.ndarray,
    query_times: np.ndarray,
    base_times: np.ndarray,
    k: int,
    max_lag_seconds: int,
    bucket_seconds: int = 6 * HOUR,
) -> KnnResult:
    """Top-``k`` rows of a built ``index`` within ``± max_lag_seconds`` of each query's time.

    ``base_times[r]`` is the time (int64 seconds) of index row ``r``, in any order; time-sorted
    rows are faster (a row range instead of a row set). Exact for an exact index.
    """
    nq = len(queries)
    sims = np.full((nq, k), -np.inf, dtype=np.float32)
    ids = np.full((nq, k), -1, dtype=np.int64)
    if nq == 0 or index.ntotal == 0 or k <= 0:
        return KnnResult(sims, ids)
    if len(base_times) != index.ntotal:
        raise ValueError(
            f"base_times has {len(base_times)} entries but the index holds {index.ntotal} rows; "
            "pass one time per indexed vector."
        )
    base_times = np.asarray(base_times, dtype=np.int64)
    query_times = np.asarray(query_times, dtype=np.int64)
    lag = int(max_lag_seconds)
    order = None if np.all(np.diff(base_times) >= 0) else np.argsort(base_times, kind="stable")
    sorted_times = base_times if order is None else base_times[order]
    for group in _groups(query_times, sorted_times, lag, bucket_seconds):
        qt = query_times[group]
        t0, t1 = int(qt.min()), int(qt.max())
        lo = int(np.searchsorted(sorted_times, t0 - lag, side="left"))
        hi = int(np.searchsorted(sorted_times, t1 + lag, side="right"))
        if hi <= lo:
            continue
        # Rows of [lo, hi) some query of the group may not see: before t1 - lag (too early for the
        # latest query) and after t0 + lag (too late for the earliest).
        early = int(np.searchsorted(sorted_times, t1 - lag, side="left")) - lo
        late = hi - int(np.searchsorted(sorted_times, t0 + lag, side="right"))
        k_exact = min(hi - lo, k + max(early, 0) + max(late, 0))
        subset: Subset = (lo, hi) if order is None else order[lo:hi]
        q = queries[group]
        # At most half of a bucket's rows are outside one query's window (width <= 2 * lag), so
        # 4k rows nearly always leave k valid ones; the rest take the exact second pass.
        k_first = min(k_exact, 4 * k)
        d, i = _masked(index, q, qt, base_times, k_first, subset, lag)
        redo = np.flatnonzero(((i >= 0).sum(axis=1) < k) & (k_first < k_exact))
        top = np.argsort(-d, axis=1, kind="stable")[:, :k]
        width = top.shape[1]
        sims[group, :width] = np.take_along_axis(d, top, axis=1)
        ids[group, :width] = np.take_along_axis(i, top, axis=1)
        if len(redo):
            d, i = _masked(index, q[redo], qt[redo], base_times, k_exact, subset, lag)
            top = np.argsort(-d, axis=1, kind="stable")[:, :k]
            width = top.shape[1]
            sims[group[redo], :width] = np.take_along_axis(d, top, axis=1)
            ids[group[redo], :width] = np.take_along_axis(i, top, axis=1)
    return KnnResult(sims, ids)


def mean_window(query_times: np.ndarray, sorted_times: np.ndarray, max_lag_seconds: int) -> int:
    """Mean number of base rows within ± the lag of a query: what one query is compared with."""
    hi = np.searchsorted(sorted_times, np.asarray(query_times) + max_lag_seconds, side="right")
    lo = np.searchsorted(sorted_times, np.asarray(query_times) - max_lag_seconds, side="left")
    return int(np.mean(hi - lo)) if len(query_times) else 0


class CrossBlocSearcher:
    """Cross-bloc neighbour search: a ``cn`` article's neighbours among ``ru`` articles within
    ± the lag, and the reverse.

    Parameters
    ----------
    index : the index each search builds over its rows: an unfitted :class:`VectorIndex` whose
        parameters (kind, nprobe, ...; ``[index]``) are copied for every search. ``None`` is
        ``VectorIndex()`` (``auto``: exact while a query's time window is small).
    """

    def __init__(self, index: VectorIndex | None = None) -> None:
        self.index = index

    def _index(self, vectors: np.ndarray, candidates: int) -> VectorIndex:
        return copy.copy(self.index or VectorIndex()).fit(vectors, candidates=candidates)

    def _directions(
        self, blocs: np.ndarray, times: np.ndarray, pair: tuple[str, str]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for src_bloc, dst_bloc in (pair, pair[::-1]):
            src = np.flatnonzero(blocs == src_bloc)
            dst = np.flatnonzero(blocs == dst_bloc)
            out.append((src, dst[np.argsort(times[dst], kind="stable")]))
        return out

    def neighbours(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray,
        times: np.ndarray,
        k: int,
        max_lag_hours: float,
        pair: tuple[str, str] = ("cn", "ru"),
    ) -> pd.DataFrame:
        """Directed edges ``source -> target`` (row positions into ``vectors``) with similarity
        and rank (1 = nearest), for both directions of ``pair``."""
        lag = int(max_lag_hours * HOUR)
        frames = []
        for src, dst in self._directions(blocs, times, pair):
            if len(dst) == 0 or len(src) == 0:
                continue
            index = self._index(vectors[dst], mean_window(times[src], times[dst], lag))
            result = windowed_search(index, vectors[src], times[src], times[dst], k, lag)
            rows, ranks = np.nonzero(result.ids >= 0)
            frames.append(
                pd.DataFrame(
                    {
                        "source": src[rows],
                        "target": dst[result.ids[rows, ranks]],
                        "similarity": result.similarities[rows, ranks].astype(np.float64),
                        "rank": ranks + 1,
                    }
                )
            )
        if not frames:
            return pd.DataFrame({"source": [], "target": [], "similarity": [], "rank": []}).astype(
                {"source": np.int64, "target": np.int64, "similarity": np.float64, "rank": np.int64}
            )
        return pd.concat(frames, ignore_index=True)
