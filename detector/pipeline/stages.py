"""What a run works on and with: the :class:`Stages` a config describes, built once, and the
:class:`Scope` of articles they process.

Every command and every half of a run (the real clustering, the decoys, the watchlist) takes the
same two values instead of a dozen loose objects passed by position, so a stage is configured in
one place (:meth:`Stages.from_config`) and the scope's derived views (passage units, control
articles, row positions) are computed by one method each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from detector import resources
from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageMatcher, PassageStage
from detector.index import CrossBlocSearcher, VectorIndex
from detector.limits import MemoryGuard
from detector.narratives.cluster import WindowClusterer, iter_narratives
from detector.narratives.groupers import make_grouper
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
from detector.themes.stage import ThemeStage
from detector.watch.track import NarrativeTracker


@dataclass(frozen=True)
class Scope:
    """The articles a run (or one decoy of it) works on, sorted by time, with their vectors in
    the same order and, in passage mode, their passages (``article_pos`` = row in ``articles``)."""

    articles: pd.DataFrame
    vectors: np.ndarray
    passages: PassageMatcher | None = None

    def units(self, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(passage vectors, article row of each passage)`` for the sync graph, ``None`` in
        article mode; ``order`` (the rows of a reordered copy of ``articles``) maps each passage
        to its article's row in that copy."""
        if self.passages is None:
            return None
        rows = self.passages.passages["article_pos"].to_numpy()
        if order is not None:
            position = np.empty(len(order), dtype=np.int64)
            position[order] = np.arange(len(order))
            rows = position[rows]
        return self.passages.vectors, rows

    def control(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The control-bloc articles and their vectors: the baseline of the shared-news check."""
        is_control = (self.articles["bloc"] == "control").to_numpy()
        return self.articles[is_control].reset_index(drop=True), self.vectors[is_control]

    def positions(self) -> pd.Series:
        """The row of each article, by feed id."""
        return pd.Series(np.arange(len(self.articles)), index=self.articles["id"])

    def narratives(self, clusters: pd.DataFrame) -> list[tuple[str, list[int]]]:
        """``(narrative_id, member rows)`` of the ``narrative_id, article_id`` rows of ``clusters``,
        every member an article of the scope: what the scorer scores."""
        position = self.positions()
        return [
            (nid, position.loc[ids].tolist())
            for nid, ids in iter_narratives(clusters[["narrative_id", "article_id"]])
        ]


@dataclass(frozen=True)
class Stages:
    """Every stage of a run, each built once from its config section.

    ``splitter`` is always built (watched narratives are matched per passage even when the run
    clusters whole articles); ``by_passage`` is ``[passages] unit = "passage"``, the one place that
    switch is read. ``themes`` is always built too (``detector themes`` runs it whatever the
    config says); ``with_themes`` is ``[themes] enabled``, whether the daily run calls it.
    """

    registry: OutletRegistry
    reader: FeedReader
    embedding: EmbeddingStage
    splitter: PassageStage
    by_passage: bool
    clusterer: WindowClusterer
    scorer: SyncScorer
    links: LinkClassifier
    guard: MemoryGuard
    tracker: NarrativeTracker
    watchlist: str
    themes: ThemeStage
    with_themes: bool

    @classmethod
    def from_config(cls, config: Config) -> Stages:
        registry = load_registry(config)  # read once: the reader and the link classifier share it
        embedding = EmbeddingStage(**config.arguments("embed"))
        seed = config.run.seed
        return cls(
            registry=registry,
            reader=FeedReader(registry, **config.arguments("ingest")),
            embedding=embedding,
            splitter=PassageStage(**config.arguments("passages"), embedding=embedding),
            by_passage=config.passages.unit == "passage",
            clusterer=clusterer_for(config),
            scorer=SyncScorer(**config.arguments("score"), random_state=seed),
            links=LinkClassifier(registry, **config.arguments("links")),
            guard=MemoryGuard(**config.arguments("limits")),
            tracker=tracker_for(config),
            watchlist=config.setting("watch", "watchlist"),
            themes=ThemeStage(**config.arguments("themes"), random_state=seed),
            with_themes=bool(config.setting("themes", "enabled")),
        )


def load_registry(config: Config) -> OutletRegistry:
    """The packaged registry, extended by ``[ingest] registry`` when it names a file."""
    packaged_file = resources.packaged(resources.REGISTRY)
    packaged = OutletRegistry.from_toml(packaged_file)
    path = config.setting("ingest", "registry")
    if not path or Path(path) == packaged_file.resolve():  # configs/outlets.toml links to it
        return packaged
    return packaged.extended(OutletRegistry.from_toml(path), path)


def clusterer_for(config: Config) -> WindowClusterer:
    """The clusterer ``[cluster]`` describes, with the grouper ``[cluster] grouper`` names (its
    options from ``[cluster.<grouper>]``), ``[index]``'s search and ``[run]``'s seed."""
    searcher = CrossBlocSearcher(VectorIndex(**config.arguments("index")))
    name, options = config.grouper()
    grouper = make_grouper(name, options, searcher=searcher, random_state=config.run.seed)
    return WindowClusterer(grouper, **config.arguments("cluster"))


def tracker_for(config: Config) -> NarrativeTracker:
    """The tracker ``[watch]`` describes, with ``[score]``'s permutation test and ``[run]``'s seed
    (the same null model as the discovered narratives)."""
    score = config.arguments("score")
    return NarrativeTracker(
        **config.arguments("watch"),
        permutations=score["permutations"],
        null_span_hours=score["null_span_hours"],
        random_state=config.run.seed,
    )
