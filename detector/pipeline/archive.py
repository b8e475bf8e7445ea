"""The daily run keeps the archive index (:mod:`detector.index.archive`) in step with the store:
after the run is recorded, its new articles become units and the index file takes them in. A
kill before the index file is renamed into place leaves the old one, which the next run or
search brings up to date (its manifest covers fewer units than the store has)."""

from __future__ import annotations

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.index.archive import ArchiveIndex
from detector.pipeline.watch import watch_passages
from detector.store.store import Store


def update_archive(config: Config, db: Store, embedding: EmbeddingStage) -> ArchiveIndex:
    """Register the store's new units with the splitter ``search`` and ``track`` use, and update
    the index file. The index's settings are its defaults, as in ``search`` and ``track``: whoever
    rebuilds it builds the same index."""
    return ArchiveIndex().sync(db, watch_passages(config, embedding))
