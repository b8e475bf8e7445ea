"""Cluster each sliding time window (sync-graph by default, or HDBSCAN) and link clusters across
windows and runs into narratives with stable ids.

Windows sit on a fixed grid (multiples of ``step_hours`` since the Unix epoch), so a daily
incremental run sees exactly the windows a batch run over the same days sees. With HDBSCAN a
window's clustering depends only on the articles inside it; with the sync-graph an article's
hubness is measured over the other bloc within ± the window length, so articles published up to
that long *after* a window can still move its edges: an incremental day-by-day run finds the
same narratives (member sets) as a batch run for narratives whose articles are more than one
window length older than the newest data (tests/reliability checks this on real data).

Each window's clusters are named by :func:`detector.narratives.lineage.name_clusters`: an id the store
already holds for the same window first, then the previous window's, else a new content-derived
id (the rule, and why ids depend on the store's history, is in :mod:`detector.narratives.lineage`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ClassVar

import faiss
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from detector.index import CrossBlocSearcher
from detector.narratives.lineage import Lineage, name_clusters
from detector.narratives.sync_graph import add_passage_edges, components, csls_edges, unit_components
from detector.parallel import Mapper, serial_map
from detector.params import Constraint, Interval, OneOf, validate_params
from detector.times import epoch_seconds, to_seconds

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ["window_start", "window_end", "label", "narrative_id", "article_id", "membership"]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window_grid(first: datetime, last: datetime, window_hours: int, step_hours: int) -> list[Window]:
    """Every grid window that contains an instant of ``[first, last]``."""
    step = timedelta(hours=step_hours)
    length = timedelta(hours=window_hours)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + ((first - length - epoch) // step + 1) * step
    windows = []
    while start <= last:
        windows.append(Window(start, start + length))
        start += step
    return windows


class WindowClusterer:
    """Narratives per sliding window, linked across windows.

    Parameters
    ----------
    method : ``"sync-graph"`` (default: mutual cross-bloc CSLS edges, see
        :mod:`detector.narratives.sync_graph`) or ``"hdbscan"`` (density clusters of all articles).
    window_hours : length of each window.
    step_hours : distance between window starts (windows overlap when step < length).
    csls_k : sync-graph: neighbours in the other bloc that define an article's hubness.
    mutual_rank : sync-graph: both articles of an edge must be among each other's this many
        nearest cross-bloc neighbours.
    min_csls : sync-graph: smallest CSLS score of an edge between whole articles.
    passage_min_csls : sync-graph with passages: smallest CSLS of an edge from a paragraph of a
        long article (see :func:`detector.narratives.sync_graph.add_passage_edges`).
    passage_min_similarity : sync-graph with passages: smallest cosine of such an edge. CSLS
        alone lifts pairs of two idiosyncratic paragraphs that are barely alike; a paragraph
        that carries a narrative is also close in absolute terms.
    min_cluster_size : hdbscan: smallest cluster; 2 keeps a single cross-bloc pair.
    min_samples : hdbscan: density smoothing; 1 is the least conservative.
    pca_dims : hdbscan: reduce to this many dimensions first (0 = never); only windows with
        more than ``4 * pca_dims`` articles are reduced.
    rescue_similarity : an article left out of every cluster joins the cluster of its most
        similar clustered article in the window when their cosine reaches this (1.0 = never);
        this keeps near-copies (republications) of a narrative's article in the narrative.
    link_overlap : a cluster continues a previous-window narrative when the shared members make
        up at least this fraction of the smaller of the two.
    random_state : seed of the PCA (from ``[run] seed``).
    searcher : the cross-bloc neighbour search (built from ``[index]``; default exact/auto).
    """

    parameter_section: ClassVar[str] = "cluster"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "method": OneOf(("sync-graph", "hdbscan")),
        "window_hours": Interval(1, 24 * 365),
        "step_hours": Interval(1, 24 * 365),
        "csls_k": Interval(1, 1000),
        "mutual_rank": Interval(1, 1000),
        "min_csls": Interval(-2.0, 2.0),
        "passage_min_csls": Interval(-2.0, 2.0),
        "passage_min_similarity": Interval(-1.0, 1.0),
        "min_cluster_size": Interval(2, 10_000),
        "min_samples": Interval(1, 10_000),
        "pca_dims": Interval(0, 4096),
        "rescue_similarity": Interval(-1.0, 1.0),
        "link_overlap": Interval(0.0, 1.0),
        "random_state": Interval(0, 2**31 - 1),
    }

    def __init__(
        self,
        method: str = "sync-graph",
        window_hours: int = 72,
        step_hours: int = 24,
        csls_k: int = 5,
        mutual_rank: int = 3,
        min_csls: float = 0.25,
        passage_min_csls: float = 0.2,
        passage_min_similarity: float = 0.6,
        min_cluster_size: int = 2,
        min_samples: int = 1,
        pca_dims: int = 50,
        rescue_similarity: float = 0.8,
        link_overlap: float = 0.3,
        random_state: int = 0,
        searcher: CrossBlocSearcher | None = None,
    ) -> None:
        self.method = method
        self.window_hours = window_hours
        self.step_hours = step_hours
        self.csls_k = csls_k
        self.mutual_rank = mutual_rank
        self.min_csls = min_csls
        self.passage_min_csls = passage_min_csls
        self.passage_min_similarity = passage_min_similarity
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.pca_dims = pca_dims
        self.rescue_similarity = rescue_similarity
        self.link_overlap = link_overlap
        self.random_state = random_state
        self.searcher = searcher
        validate_params(self)

    def windows(self, times: pd.Series) -> list[Window]:
        return window_grid(times.min(), times.max(), self.window_hours, self.step_hours)

    def cluster_window(
        self, vectors: np.ndarray, blocs: np.ndarray | None = None, times: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 = noise) and membership strengths for one window's articles.

        ``blocs`` and ``times`` (int64 seconds) are required by the sync-graph method.
        """
        if self.method == "sync-graph":
            if blocs is None or times is None:
                raise ValueError("method 'sync-graph' needs the blocs and times of the window's articles")
            edges = csls_edges(
                vectors, blocs, times, self.csls_k, self.mutual_rank, float(self.window_hours), self.searcher
            )
            labels, strength = components(len(vectors), edges[edges["csls"] >= self.min_csls])
        else:
            labels, strength = self._hdbscan(vectors)
        return rescue_noise(vectors, labels, strength, self.rescue_similarity)

    def _hdbscan(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Imported here: hdbscan pulls in scikit-learn and scipy.stats, ~2 s of every run's start
        # (7 s on loaded cores) that the default method, sync-graph, never uses.
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

    def run(
        self,
        articles: pd.DataFrame,
        vectors: np.ndarray,
        windows: list[Window],
        stored_of: Callable[[Window], pd.DataFrame],
        units: tuple[np.ndarray, np.ndarray] | None = None,
        mapper: Mapper = serial_map,
    ) -> tuple[pd.DataFrame, Lineage]:
        """Cluster ``windows`` in time order.

        ``articles`` (``id, bloc, published_at``) must be sorted by time, ``vectors`` in the same
        order. ``stored_of(window)`` gives the clusters (``narrative_id, article_id``) the store
        holds for a window from earlier runs of the same method (empty if none): asked for each
        window and for the one before the first, it carries ids across runs (see the module
        doc for the rule). ``units`` =
        ``(passage vectors, article row of each passage)`` makes the sync-graph match passages
        (``[passages] unit = "passage"``); article vectors still serve the rescue step.

        Each window's clustering depends only on its own rows (and the scope-wide edges), so the
        windows go through ``mapper`` (one after another by default, in parallel under an
        engine); linking a window to the one before is sequential and happens here, in order.
        """
        times = epoch_seconds(articles["published_at"])
        bounds = [
            (int(np.searchsorted(times, to_seconds(w.start), side="left")),
             int(np.searchsorted(times, to_seconds(w.end), side="left")))
            for w in windows
        ]  # fmt: skip
        edges = self.scope_edges(articles["bloc"].to_numpy(), times, vectors, units)
        labelled = mapper(partial(label_window, self, vectors, edges), bounds)
        lineage = Lineage()
        step = timedelta(hours=self.step_hours)
        frames: list[pd.DataFrame] = []
        held: dict[str, str] = {}  # id the store held in a re-clustered window -> its first one
        previous: pd.DataFrame | None = None
        ids = articles["id"].to_numpy()
        for window, (lo, hi), members in tqdm(
            zip(windows, bounds, labelled, strict=True), total=len(windows), desc="cluster", unit="window",
            disable=None,
        ):  # fmt: skip
            frame = pd.DataFrame(
                {
                    "window_start": window.start,
                    "window_end": window.end,
                    "label": members["label"].to_numpy(),
                    "article_id": ids[lo:hi][members["row"].to_numpy()],
                    "membership": members["strength"].to_numpy(),
                }
            )
            if previous is None:
                previous = stored_of(Window(window.start - step, window.end - step))
            stored = stored_of(window)
            for nid in stored["narrative_id"]:
                held.setdefault(str(nid), window.start.isoformat())
            frame = name_clusters(window.start, frame, stored, previous, self.link_overlap, lineage)
            frames.append(frame)
            previous = frame
        result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CLUSTER_COLUMNS)
        lineage.record_dropped(held, set(result["narrative_id"]))
        return result[CLUSTER_COLUMNS], lineage

    def rescue_members(self, vectors: np.ndarray, members: pd.DataFrame) -> pd.DataFrame:
        """:func:`rescue_noise` for a window whose articles may sit in several narratives
        (passage units): an article on no edge joins the narrative of its most similar member
        article, by that member's strongest narrative."""
        labels = np.full(len(vectors), -1, dtype=np.int64)
        strength = np.zeros(len(vectors))
        strongest = members.sort_values(["row", "strength", "label"], ascending=[True, False, True])
        strongest = strongest.drop_duplicates("row")
        labels[strongest["row"].to_numpy()] = strongest["label"].to_numpy()
        strength[strongest["row"].to_numpy()] = strongest["strength"].to_numpy()
        rescued_labels, _ = rescue_noise(vectors, labels, strength, self.rescue_similarity)
        rescued = np.flatnonzero((labels < 0) & (rescued_labels >= 0))
        extra = pd.DataFrame({"label": rescued_labels[rescued], "row": rescued, "strength": 0.0})
        return pd.concat([members, extra], ignore_index=True)

    def scope_edges(
        self,
        blocs: np.ndarray,
        times: np.ndarray,
        vectors: np.ndarray,
        units: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray | None] | None:
        """Sync-graph edges over the whole scope and the article of each matching unit (``None``
        for HDBSCAN): one neighbour search, so each article's hubness is measured over the other
        bloc within ± the window length of it, not truncated at a window edge."""
        if self.method != "sync-graph":
            return None
        search = (self.csls_k, self.mutual_rank, float(self.window_hours), self.searcher)
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


def rescue_noise(
    vectors: np.ndarray, labels: np.ndarray, strength: np.ndarray, min_similarity: float
) -> tuple[np.ndarray, np.ndarray]:
    """Give each unclustered article the label of its most similar clustered article when their
    cosine reaches ``min_similarity`` (one FAISS search, not a loop). Rescued articles get
    membership 0, which marks them in the reports."""
    noise = np.flatnonzero(labels < 0)
    clustered = np.flatnonzero(labels >= 0)
    if min_similarity >= 1.0 or not len(noise) or not len(clustered):
        return labels, strength
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors[clustered], dtype=np.float32))
    sims, nearest = index.search(np.ascontiguousarray(vectors[noise], dtype=np.float32), 1)
    hit = sims[:, 0] >= min_similarity
    labels, strength = labels.copy(), strength.copy()
    labels[noise[hit]] = labels[clustered[nearest[hit, 0]]]
    strength[noise[hit]] = 0.0
    return labels, strength


def label_window(
    clusterer: WindowClusterer,
    vectors: np.ndarray,
    edges: tuple[pd.DataFrame, np.ndarray | None] | None,
    bounds: tuple[int, int],
) -> pd.DataFrame:
    """The narratives of the articles in rows ``[lo, hi)`` (one window), as ``label, row,
    strength`` rows (``row`` relative to ``lo``; an article may sit in several narratives with
    passage units), in time order: the components of the scope edges inside the window
    (sync-graph) or HDBSCAN of its vectors."""
    lo, hi = bounds
    if edges is not None:
        scope_edges, unit_article = edges
        inside = scope_edges[scope_edges["cn"].between(lo, hi - 1) & scope_edges["ru"].between(lo, hi - 1)]
        members = unit_components(inside, unit_article)
        members = clusterer.rescue_members(vectors[lo:hi], members.assign(row=members["row"] - lo))
    else:
        labels, strength = clusterer.cluster_window(vectors[lo:hi])
        kept = np.flatnonzero(labels >= 0)
        members = pd.DataFrame({"label": labels[kept], "row": kept, "strength": strength[kept]})
    return members.sort_values(["row", "label"], ignore_index=True)  # time order, as stored


def iter_narratives(clusters: pd.DataFrame) -> Iterator[tuple[str, list[str]]]:
    """``(narrative_id, member article ids)`` pairs, members deduplicated across windows."""
    for nid, group in clusters.groupby("narrative_id", sort=True):
        yield str(nid), sorted(set(group["article_id"]))
