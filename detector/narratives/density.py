"""HDBSCAN density clusters of each window's articles: the grouper ``[cluster] grouper = "hdbscan"``.

A window's clustering depends only on the articles inside it (no scope-wide step). Kept beside the
sync graph for comparison: density clustering of headlines sweeps unrelated stories of one topic
together and loses two-article narratives (docs/method.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from detector.params import Constraint, Interval, validate_params


class Hdbscan:
    """Density clusters of one window's article vectors.

    Parameters
    ----------
    min_cluster_size : smallest cluster; 2 keeps a single cross-bloc pair.
    min_samples : density smoothing; 1 is the least conservative.
    pca_dims : reduce to this many dimensions first (0 = never); only windows with more than
        ``4 * pca_dims`` articles are reduced.
    random_state : seed of the PCA (from ``[run] seed``).
    """

    parameter_section: ClassVar[str] = "cluster.hdbscan"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "min_cluster_size": Interval(2, 10_000),
        "min_samples": Interval(1, 10_000),
        "pca_dims": Interval(0, 4096),
        "random_state": Interval(0, 2**31 - 1),
    }

    def __init__(
        self, min_cluster_size: int = 2, min_samples: int = 1, pca_dims: int = 50, random_state: int = 0
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.pca_dims = pca_dims
        self.random_state = random_state
        validate_params(self)

    def prepare(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray | None,
        times: np.ndarray | None,
        units: tuple[np.ndarray, np.ndarray] | None,
        lag_hours: float,
    ) -> None:
        """Nothing: each window is clustered on its own."""
        return None

    def group(self, prepared: Any, vectors: np.ndarray, bounds: tuple[int, int]) -> pd.DataFrame:
        lo, hi = bounds
        labels, strength = self.labels(vectors[lo:hi])
        kept = np.flatnonzero(labels >= 0)
        return pd.DataFrame({"label": labels[kept], "row": kept, "strength": strength[kept]})

    def labels(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 = noise) and membership probabilities of ``vectors``."""
        # Imported here: hdbscan pulls in scikit-learn and scipy.stats, ~2 s of every run's start
        # (7 s on loaded cores) that the default grouper, the sync graph, never uses.
        import hdbscan
        from sklearn.decomposition import PCA

        if len(vectors) <= self.min_cluster_size:
            return np.full(len(vectors), -1), np.zeros(len(vectors))
        points = vectors
        if self.pca_dims and len(vectors) > 4 * self.pca_dims:
            # Why PCA: HDBSCAN's cost grows steeply with dimension; 50 seeded components keep
            # most of the variance of 512-d sentence vectors (see benchmarks/README.md).
            reduced = PCA(n_components=self.pca_dims, random_state=self.random_state).fit_transform(vectors)
            points = reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            metric="euclidean",  # on unit vectors, euclidean order == cosine order
            core_dist_n_jobs=1,
        )
        labels = model.fit_predict(np.asarray(points, dtype=np.float64))
        return labels, np.asarray(model.probabilities_, dtype=np.float64)
