"""FAISS similarity search with a time filter and a bloc filter.

The core query is *windowed k-NN*: for each query, its ``k`` most similar base vectors whose
timestamps lie within ``± max_lag`` of the query's. Base vectors are added to the index in time
order, so "within the lag" is a contiguous id range. Queries are processed in time buckets (one
FAISS call per bucket, never a Python loop per query): each bucket searches the id range that
covers all its queries (``IDSelectorRange``) with ``k`` enlarged by the number of base vectors
that are in that range but can fall outside one query's own window, then masks by exact lag.
That makes the result exact, not approximate at the window edges.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import faiss
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

HOUR = 3600


@dataclass(frozen=True)
class KnnResult:
    """``ids[i, j]`` is the base row of query ``i``'s ``j``-th neighbour (-1 when fewer exist)."""

    similarities: np.ndarray
    ids: np.ndarray


def set_threads(threads: int) -> None:
    faiss.omp_set_num_threads(threads)


def flat_index(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def windowed_knn(
    queries: np.ndarray,
    query_times: np.ndarray,
    base: np.ndarray,
    base_times: np.ndarray,
    k: int,
    max_lag_seconds: int,
    bucket_seconds: int = 6 * HOUR,
) -> KnnResult:
    """Exact top-``k`` inner-product neighbours within ``± max_lag_seconds`` of each query.

    ``base_times`` must be sorted ascending (ids are positions in that order). Times are int64
    seconds.
    """
    nq = len(queries)
    sims = np.full((nq, k), -np.inf, dtype=np.float32)
    ids = np.full((nq, k), -1, dtype=np.int64)
    if nq == 0 or len(base) == 0 or k == 0:
        return KnnResult(sims, ids)
    if np.any(np.diff(base_times) < 0):
        raise ValueError("base_times must be sorted ascending; sort base vectors by time first")
    index = flat_index(base)
    buckets = query_times // bucket_seconds
    order = np.argsort(buckets, kind="stable")
    bounds = np.flatnonzero(np.diff(buckets[order])) + 1
    for group in np.split(order, bounds):
        t0, t1 = query_times[group].min(), query_times[group].max()
        lo = int(np.searchsorted(base_times, t0 - max_lag_seconds, side="left"))
        hi = int(np.searchsorted(base_times, t1 + max_lag_seconds, side="right"))
        if hi <= lo:
            continue
        # Vectors in [lo, hi) that some query of the group may not be allowed to see: those
        # before t1 - lag (too early for the latest query) and after t0 + lag (too late for the
        # earliest). Searching k + that many guarantees the exact top-k survives the mask.
        early = int(np.searchsorted(base_times, t1 - max_lag_seconds, side="left")) - lo
        late = hi - int(np.searchsorted(base_times, t0 + max_lag_seconds, side="right"))
        k_search = min(hi - lo, k + max(early, 0) + max(late, 0))
        params = faiss.SearchParameters(sel=faiss.IDSelectorRange(lo, hi))  # type: ignore[call-arg]
        d, i = index.search(np.ascontiguousarray(queries[group]), k_search, params=params)
        lag = np.abs(base_times[np.clip(i, 0, None)] - query_times[group][:, None])
        valid = (i >= 0) & (lag <= max_lag_seconds)
        d = np.where(valid, d, -np.inf)
        top = np.argsort(-d, axis=1, kind="stable")[:, :k]
        d_top = np.take_along_axis(d, top, axis=1)
        i_top = np.where(np.isfinite(d_top), np.take_along_axis(i, top, axis=1), -1)
        width = top.shape[1]
        sims[group, :width] = d_top
        ids[group, :width] = i_top
    return KnnResult(sims, ids)


class CrossBlocSearcher:
    """Cross-bloc neighbour search: a ``cn`` article's neighbours among ``ru`` articles within
    ± the lag, and the reverse.

    Parameters
    ----------
    kind : index type; ``"flat"`` (exact inner product).
    threads : FAISS OpenMP threads.
    """

    def __init__(self, kind: str = "flat", threads: int = 2) -> None:
        self.kind = kind
        self.threads = threads

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
        set_threads(self.threads)
        frames = []
        for src_bloc, dst_bloc in (pair, pair[::-1]):
            src = np.flatnonzero(blocs == src_bloc)
            dst = np.flatnonzero(blocs == dst_bloc)
            dst = dst[np.argsort(times[dst], kind="stable")]
            result = windowed_knn(
                vectors[src], times[src], vectors[dst], times[dst], k, int(max_lag_hours * HOUR)
            )
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
        return pd.concat(frames, ignore_index=True)
