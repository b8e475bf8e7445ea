"""The daily run keeps the archive index (:mod:`detector.index.archive`) in step with the store:
after the run is recorded, its new articles become units and the index file takes them in. A
kill before the index file is renamed into place leaves the old one, which the next run or
search brings up to date (its manifest covers fewer units than the store has)."""

from __future__ import annotations

from detector.embed.passages import PassageStage
from detector.index.archive import ArchiveIndex, split_key
from detector.store import unit_sample
from detector.store.store import Store


def update_archive(db: Store, splitter: PassageStage) -> ArchiveIndex:
    """Register the store's new units with the splitter ``search`` and ``track`` use
    (``Stages.splitter``), update the index file and the kept calibration sample (so that the
    day's units are sampled by the run, not by the next search). The index's settings are its
    defaults, as in ``search`` and ``track``: whoever rebuilds it builds the same index."""
    archive = ArchiveIndex().sync(db, splitter)
    unit_sample.refresh(db, splitter.embedding.model_id, split_key(splitter))
    return archive
