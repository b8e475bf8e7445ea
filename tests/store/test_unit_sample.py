"""The kept calibration sample (detector.store.unit_sample): the same units and vectors a direct
read of the cache picks, kept in step as units are added, edited and pruned; used by search and
track only where it answers exactly. Real DuckDB files; the seeded stand-in model of the archive
tests, and a small ``keep`` so that a few thousand units take the path a million do."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from detector.index.archive import split_key
from detector.store import unit_sample
from detector.store import units as unit_table
from detector.store.store import Store
from tests.index.test_archive import SeededEmbedder, articles, fill, stage, synced

FAR = (datetime(1900, 1, 1), datetime(2200, 1, 1))
KEEP = 60  # the table keeps 120-240 rows


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    fill(path, 0, 700)
    synced(path)  # registers the units
    return path


def kept_and_direct(db: Store, since: datetime, until: datetime, size: int) -> tuple[object, object]:
    split = split_key(stage())
    known = unit_sample.refresh(db, SeededEmbedder.model_id, split, keep=KEEP)
    assert known is not None
    kept = unit_sample.scope_sample(db, split, known, since, until, size)
    direct = unit_table.sample_units(db, SeededEmbedder.model_id, split, since, until, size, unit_sample.SEED)
    return kept, direct[:2]


def assert_same(kept: object, direct: object) -> None:
    assert kept is not None
    assert isinstance(kept, tuple)
    assert isinstance(direct, tuple)
    assert np.array_equal(kept[0], direct[0])
    assert np.array_equal(kept[1], direct[1])


def test_the_kept_sample_is_the_sample_a_direct_read_picks(store: Path) -> None:
    with Store(store) as db:
        assert db.count("units") > 4 * KEEP
        kept, direct = kept_and_direct(db, *FAR, KEEP)
        assert_same(kept, direct)
        rows = db.count("unit_sample")
    assert 2 * KEEP * 0.7 < rows <= 4 * KEEP  # started at the rate of ~2 * keep rows


def test_a_time_scope_it_holds_enough_of_is_answered_and_one_it_does_not_is_left_to_the_cache(
    store: Path,
) -> None:
    with Store(store) as db:
        kept, direct = kept_and_direct(db, datetime(2024, 1, 3), FAR[1], 40)
        assert_same(kept, direct)
        narrow, _ = kept_and_direct(db, datetime(2024, 1, 8), datetime(2024, 1, 8, 3), 40)
    assert narrow is None  # three hours of units: fewer than 40 of them are sampled


def test_units_added_edited_and_pruned_keep_it_exact(store: Path) -> None:
    from detector.store.prune import prune

    with Store(store) as db:
        kept_and_direct(db, *FAR, KEEP)
        db.upsert_articles(articles(5000, 400))  # more units: the table grows, then is thinned
        db.upsert_articles(articles(0, 3).assign(text="An edited text.", content_hash="edited"))
    synced(store)
    with Store(store) as db:
        assert_same(*kept_and_direct(db, *FAR, KEEP))
        assert db.count("unit_sample") <= 4 * KEEP
        prune(db, datetime(2024, 1, 4), lambda frame: [])
    synced(store)
    with Store(store) as db:
        assert_same(*kept_and_direct(db, *FAR, KEEP))
        gone = db.con_.execute(
            "SELECT count(*) FROM unit_sample s ANTI JOIN units u USING (unit_id)"
        ).fetchall()
    assert gone[0][0] == 0  # no row of a pruned unit is left


def test_a_unit_added_after_the_refresh_sends_the_read_to_the_cache(store: Path) -> None:
    split = split_key(stage())
    with Store(store) as db:
        known = unit_sample.refresh(db, SeededEmbedder.model_id, split, keep=KEEP)
        assert known is not None
        db.upsert_articles(articles(9000, 1))
    synced(store)
    with Store(store) as db:
        assert unit_sample.scope_sample(db, split, known, *FAR, KEEP) is None


def test_a_small_store_keeps_no_sample(tmp_path: Path) -> None:
    path = tmp_path / "small.duckdb"
    fill(path, 0, 50)
    synced(path)
    with Store(path) as db:
        assert unit_sample.refresh(db, SeededEmbedder.model_id, split_key(stage()), keep=KEEP) is None
        assert db.count("unit_sample") == 0


def test_search_through_the_kept_sample_gives_what_the_direct_read_gives(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole calibration (tail fit, candidates, re-scoring) with and without the table."""
    from detector.sources.registry import OutletRegistry
    from detector.watch import NarrativeTracker, WatchedNarrative, Watchlist
    from detector.watch.archived import ArchiveScope
    from tests.conftest import ROOT
    from tests.index.test_archive import archive

    registry = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
    query = Watchlist((WatchedNarrative("q", "q", ("border talks grain",)),), "test")
    keep = 300  # the calibration needs 200 units at least; 4 * 300 < the store's ~2,600
    monkeypatch.setattr(unit_sample, "KEEP", keep)
    results = []
    for serves in (unit_sample.serves, lambda units, keep=keep: False):
        monkeypatch.setattr(unit_sample, "serves", serves)
        calibrator = NarrativeTracker(alpha=0.01, permutations=0).calibrator()
        with Store(store) as db:
            scope = ArchiveScope(db, stage(), registry, archive(), sample_size=keep)
            ids, corrected, _ = scope.calibrated(calibrator, stage().embedding, query)
            best = scope.candidates(stage().embedding, query, calibrator, (ids, corrected), top=10)
        results.append((ids, corrected, calibrator.tail_, best))
    with Store(store) as db:
        assert db.count("unit_sample") > 0  # the first pass went through the table
    (ids_a, cor_a, tail_a, best_a), (ids_b, cor_b, tail_b, best_b) = results
    assert np.array_equal(ids_a, ids_b)
    assert np.array_equal(cor_a, cor_b)
    assert tail_a == tail_b
    assert np.array_equal(best_a, best_b)
