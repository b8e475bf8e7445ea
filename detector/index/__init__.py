"""FAISS similarity search: exact and approximate indexes, and the time-windowed cross-bloc search."""

from detector.index.core import (
    KINDS,
    KnnResult,
    RangeResult,
    VectorIndex,
    ivf_nlist,
    resolve_kind,
    set_threads,
)
from detector.index.windowed import CrossBlocSearcher, mean_window, windowed_search

__all__ = [
    "KINDS",
    "CrossBlocSearcher",
    "KnnResult",
    "RangeResult",
    "VectorIndex",
    "ivf_nlist",
    "mean_window",
    "resolve_kind",
    "set_threads",
    "windowed_search",
]
