"""FAISS similarity search: exact and approximate indexes, time and bloc filters, persistence."""

from detector.index.core import (
    KINDS,
    KnnResult,
    RangeResult,
    VectorIndex,
    flat_index,
    ivf_nlist,
    resolve_kind,
    set_threads,
)
from detector.index.persist import PersistentIndex
from detector.index.windowed import (
    HOUR,
    CrossBlocSearcher,
    mean_window,
    windowed_knn,
    windowed_range,
    windowed_search,
)

__all__ = [
    "HOUR",
    "KINDS",
    "CrossBlocSearcher",
    "KnnResult",
    "PersistentIndex",
    "RangeResult",
    "VectorIndex",
    "flat_index",
    "ivf_nlist",
    "mean_window",
    "resolve_kind",
    "set_threads",
    "windowed_knn",
    "windowed_range",
    "windowed_search",
]
