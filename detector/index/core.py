"""One interface over the FAISS indexes the detector uses, all on inner product of unit vectors.

Kinds (measured in ``benchmarks/README.md``):

- ``flat``: exact ``IndexFlatIP``; BLAS GEMM plus a top-k heap; the reference.
- ``ivf``: ``IndexIVFFlat`` with ``nlist = 4·√N`` k-means cells; a query scans ``nprobe`` cells.
- ``ivf_sq8``: the same with 8-bit scalar-quantised codes (4× less memory, slightly lower recall).
- ``hnsw``: ``IndexHNSWFlat`` (M = 32); a graph walk with ``efSearch`` candidates. Fast but slow to
  build, and a restrictive id filter cuts the graph, so it is never chosen by ``auto``.
- ``auto``: ``flat`` when one query is compared with at most ``auto_exact_max`` vectors, ``ivf``
  above. Time-windowed search compares a query only with its window, so it usually stays exact.

Rows are numbered 0..N-1 in the order they were added; a *subset* restricts a search to a row
range ``(lo, hi)`` (fast: FAISS narrows the flat scan to that slice, and IVF lists are sorted by
row so it can binary-search them) or to an explicit array of rows.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import faiss
import numpy as np

from detector.params import Constraint, Interval, OneOf, check_params, validate_params

log = logging.getLogger(__name__)

KINDS = ("flat", "ivf", "ivf_sq8", "hnsw")
HNSW_M = 32
# Queries per FAISS call at most: bounds the (queries × k) result buffers, not a speed knob.
_MAX_BATCH = 65_536

Subset = tuple[int, int] | np.ndarray | None


@dataclass(frozen=True)
class KnnResult:
    """``ids[i, j]`` is the base row of query ``i``'s ``j``-th neighbour (-1 when fewer exist)."""

    similarities: np.ndarray
    ids: np.ndarray


@dataclass(frozen=True)
class RangeResult:
    """Neighbours of query ``i`` are ``ids[lims[i]:lims[i + 1]]`` (any order), similarity ≥ threshold."""

    lims: np.ndarray
    similarities: np.ndarray
    ids: np.ndarray


# FAISS's exact search multiplies a block of queries by a block of the base (BLAS), then keeps
# the top k. Its default blocks (4,096 queries x 1,024 base rows) reach 75 % of this machine's
# GEMM peak at N = 1M; 1,024 x 4,096 reaches 87 % (+15 % queries/s), with the same 16 MiB
# scratch block (benchmarks/bench_exact.py, results/exact_2026-11-23_1M_quiet.json).
BLAS_QUERY_BLOCK = 1024
BLAS_DATABASE_BLOCK = 4096


def set_threads(threads: int) -> None:
    """FAISS's OpenMP threads, and the BLAS block sizes of its exact search (see above)."""
    faiss.omp_set_num_threads(threads)
    faiss.cvar.distance_compute_blas_query_bs = BLAS_QUERY_BLOCK
    faiss.cvar.distance_compute_blas_database_bs = BLAS_DATABASE_BLOCK


def ivf_nlist(n: int) -> int:
    """Cells for ``n`` vectors: 4·√N, and at most one per 39 training points (FAISS's k-means
    minimum), so small indexes do not train on a handful of points per centroid."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


def resolve_kind(kind: str, candidates: int, auto_exact_max: int) -> str:
    """The concrete kind for ``kind`` when one query is compared with ``candidates`` vectors."""
    check_params("index", {"kind": kind}, {"kind": VectorIndex.parameter_constraints["kind"]})
    if kind == "auto":
        return "flat" if candidates <= auto_exact_max else "ivf"
    return kind


def _as_float32(x: np.ndarray, d: int | None, what: str) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or (d is not None and x.shape[1] != d):
        want = f"(n, {d})" if d is not None else "(n, d)"
        raise ValueError(f"{what} must be a 2-d array of shape {want}; saw shape {x.shape}.")
    return x


class VectorIndex:
    """A FAISS index of unit vectors searched by inner product (= cosine similarity).

    Parameters
    ----------
    kind : ``"flat"``, ``"ivf"``, ``"ivf_sq8"``, ``"hnsw"`` or ``"auto"`` (see module doc).
    nprobe : IVF cells scanned per query.
    hnsw_ef_search : HNSW candidate list length per query.
    auto_exact_max : ``auto`` is exact up to this many vectors (the ``candidates`` of :meth:`fit`).
    threads : FAISS OpenMP threads.
    seed : k-means seed for IVF.
    """

    parameter_section: ClassVar[str] = "index"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "kind": OneOf(("auto", *KINDS)),
        "nprobe": Interval(1, 65_536),
        "hnsw_ef_search": Interval(1, 65_536),
        "auto_exact_max": Interval(0, 2**40),
        "threads": Interval(1, 256),
        "seed": Interval(0, 2**31 - 1),
    }

    def __init__(
        self,
        kind: str = "auto",
        nprobe: int = 16,
        hnsw_ef_search: int = 64,
        auto_exact_max: int = 200_000,
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        self.kind = kind
        self.nprobe = nprobe
        self.hnsw_ef_search = hnsw_ef_search
        self.auto_exact_max = auto_exact_max
        self.threads = threads
        self.seed = seed
        validate_params(self)

    def fit(self, vectors: np.ndarray, candidates: int | None = None) -> VectorIndex:
        """Build (and for IVF, train) the index on ``vectors`` and add them as rows 0..N-1.

        ``candidates`` is how many vectors one query will be compared with, for ``auto`` (default N;
        a time-windowed search passes its window size).
        """
        x = _as_float32(vectors, None, "vectors")
        n, d = x.shape
        self.kind_ = resolve_kind(self.kind, n if candidates is None else candidates, self.auto_exact_max)
        if self.kind_.startswith("ivf") and ivf_nlist(n) < 2:
            # Too few points to train cells; a flat scan of them is exact and as fast.
            self.kind_ = "flat"
        self.index_ = self._new_index(self.kind_, d, n)
        set_threads(self.threads)
        if not self.index_.is_trained:
            sample = x
            # 64 points per cell trains k-means nearly as well as FAISS's default cap of 256, at a
            # quarter of the cost (building IVF on 1M vectors is minutes on 2 cores otherwise).
            max_train = 64 * ivf_nlist(n)
            if n > max_train:
                sample = x[np.random.default_rng(self.seed).choice(n, max_train, replace=False)]
            self.index_.train(sample)
        if n:
            self.index_.add(x)
        log.debug("built %s index of %d × %d", self.kind_, n, d)
        return self

    def _new_index(self, kind: str, d: int, n: int) -> faiss.Index:
        if kind == "flat":
            return faiss.IndexFlatIP(d)
        if kind == "hnsw":
            return faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        quantizer = faiss.IndexFlatIP(d)
        nlist = ivf_nlist(n)
        ivf: faiss.IndexIVF
        if kind == "ivf":
            ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        ivf.cp.seed = self.seed
        # 10 k-means iterations instead of FAISS's 25: k-means dominates the build on 2 cores, and
        # the recall figures in benchmarks/README.md are measured with this setting.
        ivf.cp.niter = 10
        return ivf

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise RuntimeError("this VectorIndex is not built yet; call fit(vectors) first.")

    @property
    def ntotal(self) -> int:
        self._check_fitted()
        return int(self.index_.ntotal)

    def add(self, vectors: np.ndarray) -> VectorIndex:
        """Append ``vectors`` as the next rows (IVF keeps its trained cells)."""
        self._check_fitted()
        x = _as_float32(vectors, self.index_.d, "vectors")
        if len(x):
            set_threads(self.threads)
            self.index_.add(x)
        return self

    def _params(self, subset: Subset) -> tuple[faiss.SearchParameters | None, Any]:
        """Search parameters and the selector they point to (kept alive by the caller)."""
        sel: Any = None
        if isinstance(subset, tuple):
            # assume_sorted: rows are added in order, so each IVF list is sorted by row.
            sel = faiss.IDSelectorRange(int(subset[0]), int(subset[1]), True)
        elif subset is not None:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(subset, dtype=np.int64))
        if self.kind_.startswith("ivf"):
            return faiss.SearchParametersIVF(sel=sel, nprobe=self.nprobe), sel  # type: ignore[call-arg]
        if self.kind_ == "hnsw":
            # faiss's type stubs lack SearchParametersHNSW; it exists at run time.
            hnsw_params = faiss.SearchParametersHNSW  # type: ignore[attr-defined]
            return hnsw_params(sel=sel, efSearch=self.hnsw_ef_search), sel
        if sel is None:
            return None, None
        return faiss.SearchParameters(sel=sel), sel  # type: ignore[call-arg]

    def search(self, queries: np.ndarray, k: int, subset: Subset = None) -> KnnResult:
        """Top-``k`` rows by similarity for every query (batched), optionally only among ``subset``.

        Rows missing (``k`` above the candidates) have id -1 and similarity -inf.
        """
        self._check_fitted()
        q = _as_float32(queries, self.index_.d, "queries")
        sims = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        if len(q) == 0 or k <= 0 or self.index_.ntotal == 0:
            return KnnResult(sims, ids)
        set_threads(self.threads)
        params, _sel = self._params(subset)
        k_eff = min(k, int(self.index_.ntotal))
        for start in range(0, len(q), _MAX_BATCH):
            stop = start + _MAX_BATCH
            d, i = self.index_.search(q[start:stop], k_eff, params=params)
            sims[start:stop, :k_eff] = np.where(i >= 0, d, -np.inf)
            ids[start:stop, :k_eff] = i
        return KnnResult(sims, ids)

    def range_search(self, queries: np.ndarray, threshold: float, subset: Subset = None) -> RangeResult:
        """Every row with similarity ≥ ``threshold`` to each query, optionally only among ``subset``."""
        self._check_fitted()
        q = _as_float32(queries, self.index_.d, "queries")
        if len(q) == 0 or self.index_.ntotal == 0:
            empty = np.zeros(0, dtype=np.int64)
            return RangeResult(np.zeros(len(q) + 1, np.int64), empty.astype(np.float32), empty)
        set_threads(self.threads)
        params, _sel = self._params(subset)
        # FAISS keeps inner-product results strictly above the radius; step just below threshold.
        radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
        lims, d, i = self.index_.range_search(q, radius, params=params)
        return RangeResult(lims.astype(np.int64), d, i.astype(np.int64))
