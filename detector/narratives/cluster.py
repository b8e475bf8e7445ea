"""Cluster each sliding time window (with a grouper: the sync graph by default, or HDBSCAN; see
:mod:`detector.narratives.groupers`) and link clusters across windows and runs into narratives
with stable ids.

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
from typing import Any, ClassVar

import faiss
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from detector.narratives.groupers import Grouper
from detector.narratives.lineage import Lineage, name_clusters
from detector.narratives.sync_graph import SyncGraph
from detector.parallel import Mapper, serial_map
from detector.params import Constraint, Interval, validate_params
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
    grouper : which articles of a window belong together (:mod:`detector.narratives.groupers`);
        default :class:`detector.narratives.sync_graph.SyncGraph` with its defaults.
    window_hours : length of each window.
    step_hours : distance between window starts (windows overlap when step < length).
    rescue_similarity : an article left out of every narrative joins the narrative of its most
        similar member article in the window when their cosine reaches this (1.0 = never); this
        keeps near-copies (republications) of a narrative's article in the narrative.
    link_overlap : a cluster continues a previous-window narrative when the shared members make
        up at least this fraction of the smaller of the two.
    """

    parameter_section: ClassVar[str] = "cluster"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "window_hours": Interval(1, 24 * 365),
        "step_hours": Interval(1, 24 * 365),
        "rescue_similarity": Interval(-1.0, 1.0),
        "link_overlap": Interval(0.0, 1.0),
    }

    def __init__(
        self,
        grouper: Grouper | None = None,
        window_hours: int = 72,
        step_hours: int = 24,
        rescue_similarity: float = 0.8,
        link_overlap: float = 0.3,
    ) -> None:
        self.grouper = grouper
        self.window_hours = window_hours
        self.step_hours = step_hours
        self.rescue_similarity = rescue_similarity
        self.link_overlap = link_overlap
        validate_params(self)

    @property
    def grouper_(self) -> Grouper:
        """The grouper in use: the one given, else the default sync graph."""
        return self.grouper if self.grouper is not None else SyncGraph()

    def windows(self, times: pd.Series) -> list[Window]:
        return window_grid(times.min(), times.max(), self.window_hours, self.step_hours)

    def prepare(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray | None,
        times: np.ndarray | None,
        units: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Any:
        """What the grouper learns from the whole scope (see :meth:`Grouper.prepare`)."""
        return self.grouper_.prepare(vectors, blocs, times, units, float(self.window_hours))

    def cluster_window(
        self, vectors: np.ndarray, blocs: np.ndarray | None = None, times: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 = noise) and membership strengths of one window's articles, clustered on
        their own (``blocs`` and ``times``, int64 seconds, are what the sync graph needs)."""
        prepared = self.prepare(vectors, blocs, times)
        members = label_window(self, vectors, prepared, (0, len(vectors)))
        labels = np.full(len(vectors), -1, dtype=np.int64)
        strength = np.zeros(len(vectors))
        labels[members["row"].to_numpy()] = members["label"].to_numpy()
        strength[members["row"].to_numpy()] = members["strength"].to_numpy()
        return labels, strength

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
        window and for the one before the first, it carries ids across runs (module doc).
        ``units`` = ``(passage vectors, article row of each passage)`` makes the sync graph match
        passages (``[passages] unit = "passage"``); article vectors still serve the rescue step.

        Each window's clustering depends only on its own rows (and what the grouper prepared over
        the scope), so the windows go through ``mapper`` (in parallel under an engine); linking a
        window to the one before is sequential and happens here, in order.
        """
        times = epoch_seconds(articles["published_at"])
        bounds = [
            (int(np.searchsorted(times, to_seconds(w.start), side="left")),
             int(np.searchsorted(times, to_seconds(w.end), side="left")))
            for w in windows
        ]  # fmt: skip
        prepared = self.prepare(vectors, articles["bloc"].to_numpy(), times, units)
        labelled = mapper(partial(label_window, self, vectors, prepared), bounds)
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
    clusterer: WindowClusterer, vectors: np.ndarray, prepared: Any, bounds: tuple[int, int]
) -> pd.DataFrame:
    """The narratives of the articles in rows ``[lo, hi)`` (one window), as ``label, row,
    strength`` rows (``row`` relative to ``lo``; an article may sit in several narratives with
    passage units), in time order: the grouper's, with near-copies rescued."""
    lo, hi = bounds
    members = clusterer.grouper_.group(prepared, vectors, bounds)
    members = clusterer.rescue_members(vectors[lo:hi], members)
    return members.sort_values(["row", "label"], ignore_index=True)  # time order, as stored


def iter_narratives(clusters: pd.DataFrame) -> Iterator[tuple[str, list[str]]]:
    """``(narrative_id, member article ids)`` pairs, members deduplicated across windows."""
    for nid, group in clusters.groupby("narrative_id", sort=True):
        yield str(nid), sorted(set(group["article_id"]))
