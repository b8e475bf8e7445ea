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
    unit_article: np.ndarray | None = None,
) -> pd.DataFrame:
    """Mutual cross-bloc candidate pairs of articles with their cosine and CSLS.

    ``vectors`` are matching units: one per article, or several per article (passages) with
    ``unit_article`` giving each unit's article row. An article pair's similarity is the best
    cosine over its units. ``blocs`` and ``times`` (int64 seconds) are per article.

    Returns one row per unordered pair: ``cn`` (row of the cn article), ``ru``, ``similarity``,
    ``csls``, ``cn_unit``, ``ru_unit`` (the units that matched best).
    """
    searcher = searcher or CrossBlocSearcher()
    owner = np.arange(len(vectors)) if unit_article is None else np.asarray(unit_article)
    # With several units per article, ask for more unit neighbours so that k distinct articles
    # survive the roll-up.
    k_units = k if unit_article is None else 3 * k
    edges = searcher.neighbours(vectors, blocs[owner], times[owner], k=k_units, max_lag_hours=max_lag_hours)
    columns = ["cn", "ru", "similarity", "csls", "cn_unit", "ru_unit"]
    if edges.empty:
        return pd.DataFrame(columns=columns)
    edges = edges.assign(src=owner[edges["source"]], dst=owner[edges["target"]])
    # Roll up to articles: the best unit pair per (source article, target article).
    best = edges.sort_values(["src", "dst", "similarity"], ascending=[True, True, False], kind="stable")
    best = best.drop_duplicates(["src", "dst"])
    best = best.sort_values(["src", "similarity", "dst"], ascending=[True, False, True], kind="stable")
    best["rank"] = best.groupby("src").cumcount() + 1
    best = best[best["rank"] <= k]
    hub = np.zeros(len(blocs))
    mean_sim = best.groupby("src")["similarity"].mean()
    hub[mean_sim.index.to_numpy()] = mean_sim.to_numpy()
    near = best[best["rank"] <= mutual_rank]
    from_cn = near[blocs[near["src"].to_numpy()] == "cn"]
    from_ru = near[blocs[near["src"].to_numpy()] == "ru"]
    pairs = from_cn.merge(
        from_ru[["src", "dst"]], left_on=["src", "dst"], right_on=["dst", "src"], suffixes=("", "_back")
    )
    cn, ru = pairs["src"].to_numpy(), pairs["dst"].to_numpy()
    sims = pairs["similarity"].to_numpy()
    return pd.DataFrame(
        {
            "cn": cn, "ru": ru, "similarity": sims, "csls": 2 * sims - hub[cn] - hub[ru],
            "cn_unit": pairs["source"].to_numpy(), "ru_unit": pairs["target"].to_numpy(),
        },
        columns=columns,
    )  # fmt: skip


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
