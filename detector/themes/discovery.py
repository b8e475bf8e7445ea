"""Discovery: groups of units (the pipeline gives whole cn and ru articles) that are one theme.

A discovery design is any object with ``fit(vectors, hours, languages) -> self`` that leaves
``labels_`` (one int per unit, ``-1`` = in no theme), as BERTopic's clustering models do, so the
theme stage takes it as a component and a new design is one new class (:data:`DESIGNS`).

:class:`WindowedAgglomerative` (the default) is what FINDINGS.md and the theme measurements
(/work/helpers/themes_measurements.md, helper ``themes-lab``) found to work at topic scale:
agglomerative clustering of the USE vectors inside windows, controls left out, with no dimension
reduction (HDBSCAN on the raw vectors grouped 0 of 8 campaigns; within one campaign the cosine is
only 0.2-0.5, so claim-level clusters are out of reach and topic-scale groups are what can be
found). The default is Ward linkage cut by size alone: the largest dendrogram nodes of at most
``max_units`` (60, the size beyond which a group is a sweep), over the whole period
(``window_days = 0``: a timing null is valid only over the span the themes were discovered in,
and the period is that span; average linkage made sweeps of up to 1,087 articles, per-language
centring lost campaigns). With ``window_days`` > 0, windows overlap by half and each group is
kept by the window whose central half holds its median time, so a narrative that straddles a
window edge is found whole in the next window instead of cut in two; a unit two kept groups hold
stays in the first.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, Self

import numpy as np
from scipy.cluster.hierarchy import ClusterNode, linkage, to_tree

from detector.params import Constraint, Interval, OneOf, validate_params

HOURS_PER_DAY = 24
LINKAGES = ("average", "complete", "ward")


class Discovery(Protocol):
    """What the theme stage needs of a discovery design."""

    labels_: np.ndarray

    def fit(self, vectors: np.ndarray, hours: np.ndarray, languages: np.ndarray) -> Self: ...


def centre_languages(vectors: np.ndarray, languages: np.ndarray) -> np.ndarray:
    """Each language's mean removed, rows re-normalised: the USE vectors of one language share a
    direction that is not content, and it would pull same-language units together."""
    out = vectors.astype(np.float64, copy=True)
    for language in np.unique(languages):
        rows = languages == language
        out[rows] -= out[rows].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def cut_tree(root: ClusterNode, threshold: float, max_units: int, min_units: int) -> list[list[int]]:
    """Groups of the dendrogram ``root``: the maximal subtrees whose merge height is at most
    ``threshold`` and whose size is at most ``max_units`` (a larger one is split into its
    children), keeping those of at least ``min_units`` leaves."""
    groups: list[list[int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_leaf() or (node.dist <= threshold and node.count <= max_units):
            if node.count >= min_units:
                groups.append(sorted(node.pre_order()))
            continue
        stack.extend((node.get_right(), node.get_left()))
    return groups


class WindowedAgglomerative:
    """Average-linkage agglomerative groups inside overlapping windows (module doc).

    Parameters
    ----------
    window_days : length of a window; windows start every ``window_days / 2`` on a fixed grid
        from the Unix epoch (a daily run sees the windows a batch run sees); 0 = one window, the
        whole period the stage reads.
    distance_threshold : largest merge height inside a group (cosine distance for average and
        complete linkage, Ward's height on unit vectors for ward).
    max_units : largest group; a larger one is split along its dendrogram.
    linkage : ``"ward"``, ``"average"`` or ``"complete"``.
    (No defaults here: :class:`detector.themes.stage.ThemeStage`, the ``[themes]`` section,
    holds them, so each is written once.)
    min_units : smallest group kept.
    centre : remove each language's mean vector first (per window).
    """

    parameter_section: ClassVar[str] = "themes"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "window_days": Interval(0, 60),
        "distance_threshold": Interval(0.0, 100.0),
        "max_units": Interval(2, 100_000),
        "min_units": Interval(2, 1000),
        "linkage": OneOf(LINKAGES),
    }

    def __init__(
        self,
        window_days: int,
        distance_threshold: float,
        max_units: int,
        min_units: int,
        centre: bool,
        linkage: str,
    ) -> None:
        self.window_days = window_days
        self.distance_threshold = distance_threshold
        self.max_units = max_units
        self.min_units = min_units
        self.centre = centre
        self.linkage = linkage
        validate_params(self)

    def windows(self, hours: np.ndarray) -> list[tuple[float, float]]:
        """``(start, end)`` in hours since the epoch of every grid window holding a unit; with
        ``window_days = 0``, one window over every unit (the whole period)."""
        if len(hours) == 0:
            return []
        if self.window_days == 0:
            return [(float(hours.min()), float(hours.max()) + 1.0)]
        length = self.window_days * HOURS_PER_DAY
        step = length / 2
        first = np.floor((hours.min() - length) / step + 1) * step
        return [(s, s + length) for s in np.arange(first, hours.max() + 1e-9, step)]

    def fit(self, vectors: np.ndarray, hours: np.ndarray, languages: np.ndarray) -> Self:
        labels = np.full(len(vectors), -1, dtype=np.int64)
        n_kept = 0
        for start, end in self.windows(hours):
            rows = np.flatnonzero((hours >= start) & (hours < end))
            quarter = (end - start) / 4 if self.window_days else -np.inf  # one window keeps all
            for group in self._groups(vectors[rows], languages[rows]):
                members = rows[group]
                median = float(np.median(hours[members]))
                if not start + quarter <= median < end - quarter:
                    continue  # the window centred on it keeps it
                # A unit two kept groups hold stays in the earlier window's: a later group never
                # takes members from one already kept (which would cut both).
                free = members[labels[members] < 0]
                labels[free] = n_kept
                n_kept += 1
        self.labels_ = renumber(labels, self.min_units)
        return self

    def _groups(self, vectors: np.ndarray, languages: np.ndarray) -> list[list[int]]:
        if len(vectors) < self.min_units:
            return []
        units = centre_languages(vectors, languages) if self.centre else vectors.astype(np.float64)
        # on unit vectors, squared euclidean = 2 x cosine distance
        metric = "euclidean" if self.linkage == "ward" else "cosine"
        tree = to_tree(linkage(condensed_distances(units, metric), method=self.linkage))
        return cut_tree(tree, self.distance_threshold, self.max_units, self.min_units)


def condensed_distances(units: np.ndarray, metric: str, block: int = 1024) -> np.ndarray:
    """scipy's condensed distance vector of the rows of ``units`` (``"euclidean"`` or ``"cosine"``),
    from blocks of one matrix product each: scipy's ``pdist`` loops pair by pair on one core and
    took 21.6 of the theme stage's 39 s on campaigns_2022's 10,000 cn and ru articles (the GEMM
    form differs from it by rounding only, ~1e-15). Memory: the vector itself, n(n-1)/2 float64."""
    x = np.asarray(units, dtype=np.float64)
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    squares = np.einsum("ij,ij->i", x, x)
    n = len(x)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    at = 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        dots = x[start:stop] @ x[start:].T  # rows start..stop against every later row
        if metric == "cosine":
            rows = 1.0 - dots
        else:
            rows = np.sqrt(np.maximum(squares[start:stop, None] + squares[None, start:] - 2.0 * dots, 0.0))
        for i in range(stop - start):
            width = n - start - i - 1
            out[at : at + width] = rows[i, i + 1 :]
            at += width
    return out


def renumber(labels: np.ndarray, min_units: int) -> np.ndarray:
    """Labels ``0..k-1`` in order of each group's first unit; groups that lost units to a nearer
    group and fell below ``min_units`` become ``-1``."""
    out = np.full(len(labels), -1, dtype=np.int64)
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    keep = (values >= 0) & (counts >= min_units)
    for new, old in enumerate(values[keep][np.argsort(first[keep], kind="stable")]):
        out[labels == old] = new
    return out


DESIGNS: dict[str, type[WindowedAgglomerative]] = {"windowed-agglomerative": WindowedAgglomerative}
