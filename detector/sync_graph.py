"""Cross-bloc synchronisation graph: the default way one window's articles become narratives.

Why not plain cosine: absolute cosine shifts with the background (how many articles, which
languages, which genre), so a threshold tuned on one month does not transfer to the next. Why not
HDBSCAN alone: density clustering of headlines sweeps unrelated stories of one topic together and
loses two-article narratives (measured in ``docs/method.md``).

What we do instead, per window: every article's ``k`` nearest neighbours in the *other* bloc
(FAISS, exact, time-filtered); the hubness-corrected CSLS score of a pair,
``2·cos(x, y) − r(x) − r(y)`` with ``r`` the mean similarity of an article to its ``k`` cross-bloc
neighbours (Conneau et al. 2018, "Word translation without parallel data"); an edge when the pair
is mutually among each other's ``mutual_rank`` nearest and its CSLS reaches ``min_csls``.
Narratives are the connected components of those edges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from detector.index import CrossBlocSearcher


def csls_edges(
    vectors: np.ndarray,
    blocs: np.ndarray,
    times: np.ndarray,
    k: int,
    mutual_rank: int,
    max_lag_hours: float,
    searcher: CrossBlocSearcher | None = None,
) -> pd.DataFrame:
    """Mutual cross-bloc candidate pairs with their cosine and CSLS.

    Returns one row per unordered pair: ``cn`` (row of the cn article), ``ru``, ``similarity``,
    ``csls``. ``times`` are int64 seconds.
    """
    searcher = searcher or CrossBlocSearcher()
    edges = searcher.neighbours(vectors, blocs, times, k=k, max_lag_hours=max_lag_hours)
    if edges.empty:
        return pd.DataFrame(columns=["cn", "ru", "similarity", "csls"])
    hub = np.zeros(len(vectors))
    mean_sim = edges.groupby("source")["similarity"].mean()
    hub[mean_sim.index.to_numpy()] = mean_sim.to_numpy()
    near = edges[edges["rank"] <= mutual_rank]
    from_cn = near[blocs[near["source"].to_numpy()] == "cn"]
    from_ru = near[blocs[near["source"].to_numpy()] == "ru"]
    pairs = from_cn.merge(
        from_ru[["source", "target"]],
        left_on=["source", "target"],
        right_on=["target", "source"],
        suffixes=("", "_back"),
    )
    cn = pairs["source"].to_numpy()
    ru = pairs["target"].to_numpy()
    sims = pairs["similarity"].to_numpy()
    return pd.DataFrame({"cn": cn, "ru": ru, "similarity": sims, "csls": 2 * sims - hub[cn] - hub[ru]})


def components(n: int, edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of accepted edges: labels (-1 for articles on no edge) and each
    article's strongest CSLS (its membership strength)."""
    labels = np.full(n, -1, dtype=np.int64)
    strength = np.zeros(n)
    if edges.empty:
        return labels, strength
    a, b = edges["cn"].to_numpy(), edges["ru"].to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    on_edge = np.unique(np.concatenate([a, b]))
    # Compact labels 0..m-1 over the articles that are on an edge.
    _, labels[on_edge] = np.unique(component[on_edge], return_inverse=True)
    np.maximum.at(strength, a, edges["csls"].to_numpy())
    np.maximum.at(strength, b, edges["csls"].to_numpy())
    return labels, strength
