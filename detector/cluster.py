"""Cluster each sliding time window with HDBSCAN and link clusters across windows into
narratives with stable ids.

Windows sit on a fixed grid (multiples of ``step_hours`` since the Unix epoch), so a daily
incremental run sees exactly the windows a batch run over the same days sees, and a window's
clustering depends only on the articles inside it. A cluster that shares enough members with a
cluster of the previous window continues that narrative and keeps its id; ids of new narratives
are derived from their content (first window + member ids), never from a counter, so re-running
a day cannot renumber anything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import hdbscan
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ["window_start", "window_end", "label", "narrative_id", "article_id", "membership"]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


@dataclass
class Lineage:
    """How narratives continued, merged or split from one window to the next."""

    merges: list[tuple[str, str, str]] = field(default_factory=list)  # (window, kept, absorbed)
    splits: list[tuple[str, str, str]] = field(default_factory=list)  # (window, parent, new child)


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


def narrative_id(window: Window, member_ids: list[str]) -> str:
    digest = hashlib.sha256("\x1f".join([window.start.isoformat(), *sorted(member_ids)]).encode())
    return f"N{window.start:%Y%m%d}-{digest.hexdigest()[:8]}"


class WindowClusterer:
    """HDBSCAN per sliding window, linked across windows.

    Parameters
    ----------
    window_hours : length of each window.
    step_hours : distance between window starts (windows overlap when step < length).
    min_cluster_size : HDBSCAN's smallest cluster; 2 keeps a single cross-bloc pair.
    min_samples : HDBSCAN's density smoothing; 1 is the least conservative.
    link_overlap : a cluster continues a previous-window narrative when the shared members make
        up at least this fraction of the smaller of the two.
    """

    def __init__(
        self,
        window_hours: int = 72,
        step_hours: int = 24,
        min_cluster_size: int = 2,
        min_samples: int = 1,
        link_overlap: float = 0.3,
    ) -> None:
        self.window_hours = window_hours
        self.step_hours = step_hours
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.link_overlap = link_overlap

    def windows(self, times: pd.Series) -> list[Window]:
        return window_grid(times.min(), times.max(), self.window_hours, self.step_hours)

    def cluster_window(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 = noise) and membership strengths for one window's vectors."""
        if len(vectors) <= self.min_cluster_size:
            return np.full(len(vectors), -1), np.zeros(len(vectors))
        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size,
            min_samples=self.min_samples,
            metric="euclidean",  # on unit vectors, euclidean order == cosine order
            core_dist_n_jobs=1,
        )
        labels = model.fit_predict(vectors.astype(np.float64))
        return labels, np.asarray(model.probabilities_, dtype=np.float64)

    def run(
        self,
        windows: list[Window],
        members_of: Callable[[Window], tuple[pd.DataFrame, np.ndarray]],
        previous_of: Callable[[Window], pd.DataFrame],
    ) -> tuple[pd.DataFrame, Lineage]:
        """Cluster ``windows`` in time order.

        ``members_of(window)`` gives that window's articles (with ``id``) and their vectors;
        ``previous_of(window)`` gives the stored clusters of the window one step earlier (empty if
        none), so narratives continue across separate runs.
        """
        lineage = Lineage()
        frames: list[pd.DataFrame] = []
        previous: pd.DataFrame | None = None
        for window in windows:
            articles, vectors = members_of(window)
            labels, strength = self.cluster_window(vectors)
            frame = pd.DataFrame(
                {
                    "window_start": window.start,
                    "window_end": window.end,
                    "label": labels,
                    "article_id": articles["id"].to_numpy(),
                    "membership": strength,
                }
            )
            frame = frame[frame["label"] >= 0]
            if previous is None:
                previous = previous_of(window)
            frame = self._link(window, frame, previous, lineage)
            frames.append(frame)
            previous = frame
        result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CLUSTER_COLUMNS)
        return result[CLUSTER_COLUMNS], lineage

    def _link(
        self, window: Window, frame: pd.DataFrame, previous: pd.DataFrame, lineage: Lineage
    ) -> pd.DataFrame:
        prev_sets = {nid: set(g["article_id"]) for nid, g in previous.groupby("narrative_id", sort=True)}
        claims: list[tuple[float, int, str]] = []  # (overlap, label, previous narrative)
        sets = {int(label): set(g["article_id"]) for label, g in frame.groupby("label", sort=True)}
        for label, members in sets.items():
            for nid, prev in prev_sets.items():
                shared = len(members & prev)
                if shared and shared / min(len(members), len(prev)) >= self.link_overlap:
                    claims.append((shared / min(len(members), len(prev)), label, nid))
        assigned: dict[int, str] = {}
        taken: set[str] = set()
        # Strongest overlaps first; ties broken by label then id so the outcome is deterministic.
        for _, label, nid in sorted(claims, key=lambda c: (-c[0], c[1], c[2])):
            if label not in assigned and nid not in taken:
                assigned[label] = nid
                taken.add(nid)
        stamp = window.start.isoformat()
        for label, members in sets.items():
            if label not in assigned:
                assigned[label] = narrative_id(window, list(members))
        for _, label, nid in sorted(claims, key=lambda c: (c[1], c[2])):
            if nid not in taken:  # a previous narrative that went on only inside another one
                lineage.merges.append((stamp, assigned[label], nid))
            elif assigned[label] != nid:  # a previous narrative that went on in two clusters
                lineage.splits.append((stamp, nid, assigned[label]))
        return frame.assign(narrative_id=frame["label"].map(assigned))


def iter_narratives(clusters: pd.DataFrame) -> Iterator[tuple[str, list[str]]]:
    """``(narrative_id, member article ids)`` pairs, members deduplicated across windows."""
    for nid, group in clusters.groupby("narrative_id", sort=True):
        yield str(nid), sorted(set(group["article_id"]))
