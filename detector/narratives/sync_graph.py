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

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from detector.index import CrossBlocSearcher
from detector.params import Constraint, Interval, validate_params

# Article rows and matching units are positions (int64), scores are float64.
EDGE_DTYPES = {"cn": np.int64, "ru": np.int64, "similarity": np.float64, "csls": np.float64,
               "cn_unit": np.int64, "ru_unit": np.int64}  # fmt: skip


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
    ``unit_article`` giving each unit's article row; ``blocs`` and ``times`` (int64 seconds) are
    per article. Hubness, ranks and CSLS are those of the *unit*: a passage's neighbours are
    articles of the other bloc (each through its best passage), so a long transcript that touches
    many topics is not penalised as a hub for the one paragraph that carries a narrative. A unit
    pair is an edge candidate when each unit's article is among the other unit's
    ``mutual_rank`` nearest articles.

    Returns one row per matching unit pair: ``cn`` (row of the cn article), ``ru``,
    ``similarity``, ``csls``, ``cn_unit``, ``ru_unit`` (the units that matched; with one unit per
    article they equal ``cn`` and ``ru``), ordered by article pair, best CSLS first.
    """
    searcher = searcher or CrossBlocSearcher()
    owner = np.arange(len(vectors)) if unit_article is None else np.asarray(unit_article)
    # With several units per article, ask for more unit neighbours so that k distinct articles
    # survive the roll-up.
    k_units = k if unit_article is None else 3 * k
    edges = searcher.neighbours(vectors, blocs[owner], times[owner], k=k_units, max_lag_hours=max_lag_hours)
    if edges.empty:
        return no_edges()
    edges = edges.assign(src=owner[edges["source"]], dst=owner[edges["target"]])
    # Per source unit, each target article once (through its best unit), ranked by similarity.
    best = edges.sort_values(["source", "dst", "similarity"], ascending=[True, True, False], kind="stable")
    best = best.drop_duplicates(["source", "dst"])
    best = best.sort_values(["source", "similarity", "dst"], ascending=[True, False, True], kind="stable")
    best["rank"] = best.groupby("source").cumcount() + 1
    best = best[best["rank"] <= k]
    hub = np.zeros(len(vectors))
    mean_sim = best.groupby("source")["similarity"].mean()
    hub[mean_sim.index.to_numpy()] = mean_sim.to_numpy()
    near = best[best["rank"] <= mutual_rank]
    back = near[["source", "dst"]].rename(columns={"source": "target", "dst": "src"})
    mutual = near.merge(back, on=["target", "src"])  # the target unit ranks the source article too
    mutual = mutual[blocs[mutual["src"].to_numpy()] == "cn"]
    sims = mutual["similarity"].to_numpy()
    pairs = pd.DataFrame(
        {
            "cn": mutual["src"].to_numpy(), "ru": mutual["dst"].to_numpy(), "similarity": sims,
            "csls": 2 * sims - hub[mutual["source"].to_numpy()] - hub[mutual["target"].to_numpy()],
            "cn_unit": mutual["source"].to_numpy(), "ru_unit": mutual["target"].to_numpy(),
        },
        columns=list(EDGE_DTYPES),
    )  # fmt: skip
    return in_edge_order(pairs.astype(EDGE_DTYPES))


def no_edges() -> pd.DataFrame:
    """An edge table without rows, typed like one with rows: a window or a feed with no
    cross-bloc pair (one bloc only, blocs on days apart) goes through the same code as any other."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in EDGE_DTYPES.items()})


def in_edge_order(edges: pd.DataFrame) -> pd.DataFrame:
    """Edges by article pair, best CSLS first, then by unit: the one order every edge table has."""
    order = ["cn", "ru", "csls", "cn_unit", "ru_unit"]
    edges = edges.sort_values(order, ascending=[True, True, False, True, True], kind="stable")
    return edges.reset_index(drop=True)


def add_passage_edges(
    article_edges: pd.DataFrame, passage_edges: pd.DataFrame, unit_article: np.ndarray, n_articles: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """One graph of whole-article nodes and the passage nodes of long articles.

    ``article_edges`` come from :func:`csls_edges` over one vector per article (nodes ``0..n-1``
    are the articles); ``passage_edges`` from :func:`csls_edges` over passage units. A passage
    edge is added only when one of its articles has several passages: between two short items
    (one passage each, the same text as their article vector) the article graph already decided,
    with its own neighbourhoods. A short item's passage is its article node; a long article's
    passage ``u`` is node ``n + u``, so the transcript's opening (its article vector) and each of
    its paragraphs are separate nodes.

    Returns the edges (``cn_unit``/``ru_unit`` renumbered as nodes, ordered as
    :func:`csls_edges` orders them) and the article row of every node.
    """
    unit_article = np.asarray(unit_article)
    long_article = np.bincount(unit_article, minlength=n_articles) > 1
    units = np.arange(len(unit_article))
    node_of_unit = np.where(long_article[unit_article], n_articles + units, unit_article)
    touches_long = long_article[passage_edges["cn"].to_numpy()] | long_article[passage_edges["ru"].to_numpy()]
    extra = passage_edges[touches_long]
    extra = extra.assign(
        cn_unit=node_of_unit[extra["cn_unit"].to_numpy()], ru_unit=node_of_unit[extra["ru_unit"].to_numpy()]
    )
    edges = pd.concat([article_edges, extra], ignore_index=True) if len(extra) else article_edges
    return in_edge_order(edges), np.concatenate([np.arange(n_articles), unit_article])


def unit_components(edges: pd.DataFrame, unit_article: np.ndarray | None = None) -> pd.DataFrame:
    """Connected components of accepted edges between *units*, rolled up to articles.

    The graph's nodes are the matching units (``cn_unit``, ``ru_unit``), not the articles: a
    transcript whose biolabs paragraph matches one story and whose sanctions paragraph matches
    another belongs to both narratives instead of bridging them into one. With one unit per
    article (``unit_article`` None) this is the plain article graph.

    Returns one row per (component, article): ``label`` (0..m-1, numbered in order of each
    component's first unit), ``row`` (the article row) and ``strength`` (the article's strongest
    CSLS inside that component: its membership strength), ordered by label, then row.
    """
    if edges.empty:
        empty = {"label": np.array([], np.int64), "row": np.array([], np.int64), "strength": np.array([])}
        return pd.DataFrame(empty)
    a, b = edges["cn_unit"].to_numpy(), edges["ru_unit"].to_numpy()
    nodes, ends = np.unique(np.concatenate([a, b]), return_inverse=True)
    src, dst = ends[: len(a)], ends[len(a) :]
    graph = coo_matrix((np.ones(len(a)), (src, dst)), shape=(len(nodes), len(nodes)))
    # scipy numbers components in order of their smallest node: deterministic labels.
    _, label = connected_components(graph, directed=False)
    strength = np.full(len(nodes), -np.inf)
    np.maximum.at(strength, src, edges["csls"].to_numpy())
    np.maximum.at(strength, dst, edges["csls"].to_numpy())
    owner = nodes if unit_article is None else np.asarray(unit_article)[nodes]
    members = pd.DataFrame({"label": label, "row": owner, "strength": strength}).astype(
        {"label": np.int64, "row": np.int64}
    )
    return members.groupby(["label", "row"], as_index=False, sort=True)["strength"].max()


def components(n: int, edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of accepted edges between articles (one unit each): labels (-1 for
    articles on no edge) and each article's strongest CSLS (its membership strength)."""
    labels = np.full(n, -1, dtype=np.int64)
    strength = np.zeros(n)
    members = unit_components(edges)
    labels[members["row"].to_numpy()] = members["label"].to_numpy()
    strength[members["row"].to_numpy()] = members["strength"].to_numpy()
    return labels, strength


class SyncGraph:
    """Mutual cross-bloc CSLS edges over the whole scope; a window's narratives are the
    components of the edges inside it: the grouper ``[cluster] grouper = "sync-graph"`` (default).

    Parameters
    ----------
    csls_k : neighbours in the other bloc that define an article's hubness.
    mutual_rank : both articles of an edge must be among each other's this many nearest
        cross-bloc neighbours.
    min_csls : smallest CSLS score of an edge between whole articles.
    passage_min_csls : with passages: smallest CSLS of an edge from a paragraph of a long article
        (see :func:`add_passage_edges`).
    passage_min_similarity : with passages: smallest cosine of such an edge. CSLS alone lifts
        pairs of two idiosyncratic paragraphs that are barely alike; a paragraph that carries a
        narrative is also close in absolute terms.
    searcher : the cross-bloc neighbour search (built from ``[index]``; default exact/auto).
    """

    parameter_section: ClassVar[str] = "cluster.sync_graph"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "csls_k": Interval(1, 1000),
        "mutual_rank": Interval(1, 1000),
        "min_csls": Interval(-2.0, 2.0),
        "passage_min_csls": Interval(-2.0, 2.0),
        "passage_min_similarity": Interval(-1.0, 1.0),
    }

    def __init__(
        self,
        csls_k: int = 5,
        mutual_rank: int = 3,
        min_csls: float = 0.25,
        passage_min_csls: float = 0.2,
        passage_min_similarity: float = 0.6,
        searcher: CrossBlocSearcher | None = None,
    ) -> None:
        self.csls_k = csls_k
        self.mutual_rank = mutual_rank
        self.min_csls = min_csls
        self.passage_min_csls = passage_min_csls
        self.passage_min_similarity = passage_min_similarity
        self.searcher = searcher
        validate_params(self)

    def prepare(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray | None,
        times: np.ndarray | None,
        units: tuple[np.ndarray, np.ndarray] | None,
        lag_hours: float,
    ) -> tuple[pd.DataFrame, np.ndarray | None]:
        """The accepted edges over the whole scope and the article of each matching unit: one
        neighbour search, so each article's hubness is measured over the other bloc within ±
        ``lag_hours`` of it, not truncated at a window edge."""
        if blocs is None or times is None:
            raise ValueError("the sync graph needs the blocs and times of the articles")
        search = (self.csls_k, self.mutual_rank, lag_hours, self.searcher)
        edges = csls_edges(vectors, blocs, times, *search)
        edges = edges[edges["csls"] >= self.min_csls]
        if units is None:
            return edges, None
        unit_vectors, unit_article = units
        passage_edges = csls_edges(unit_vectors, blocs, times, *search, unit_article=unit_article)
        strong = (passage_edges["csls"] >= self.passage_min_csls) & (
            passage_edges["similarity"] >= self.passage_min_similarity
        )
        return add_passage_edges(edges, passage_edges[strong], unit_article, len(vectors))

    def group(
        self, prepared: tuple[pd.DataFrame, np.ndarray | None], vectors: np.ndarray, bounds: tuple[int, int]
    ) -> pd.DataFrame:
        """The components of the scope edges with both ends inside the window."""
        lo, hi = bounds
        edges, unit_article = prepared
        inside = edges[edges["cn"].between(lo, hi - 1) & edges["ru"].between(lo, hi - 1)]
        members = unit_components(inside, unit_article)
        return members.assign(row=members["row"] - lo)
