"""The archive index (detector.index.archive): kept in step with the store, and every fault of its
file (deleted, truncated, corrupted, another store's, stale, a kill while it is written) detected
and repaired into the index a rebuild from the store gives. Real DuckDB files, real FAISS; the
vectors come from a seeded stand-in model so that thousands of units build in seconds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.embed.embedding import EmbeddingStage, normalise
from detector.embed.passages import PassageStage
from detector.index.archive import ArchiveIndex, archive_path, register_units, split_key
from detector.store import units as unit_table
from detector.store.store import Store
from tests.conftest import ROOT

DIM = 32


class SeededEmbedder:
    """A vector per text from the text's hash: same text, same vector, as with a real model."""

    model_id = "seeded-test-model"

    def encode(self, texts: list[str]) -> np.ndarray:
        seeds = [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) for t in texts]
        rows = [np.random.default_rng(seed).standard_normal(DIM) for seed in seeds]
        return normalise(np.array(rows))


def stage() -> PassageStage:
    return PassageStage(embedding=EmbeddingStage(embedder=SeededEmbedder()))


def archive() -> ArchiveIndex:
    # small enough that a few thousand units take the IVF-PQ path the archive uses at scale
    return ArchiveIndex(exact_max=500, pq_bytes=8, nprobe=64, retrain_growth=100.0)


def articles(first: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(first)
    words = np.array(["state", "media", "report", "claim", "talks", "sanctions", "grain", "border"])
    body = [
        "\n".join(" ".join(rng.choice(words, 30)) + f" item {first + i} part {p}." for p in range(1 + i % 3))
        for i in range(n)
    ]
    return pd.DataFrame(
        {
            "id": [f"a{first + i}" for i in range(n)],
            "outlet": "Xinhua",
            "bloc": np.where(np.arange(n) % 2, "cn", "ru"),
            "language": "en",
            "published_at": pd.date_range("2024-01-01", periods=n, freq="17min", tz="UTC")
            + pd.Timedelta(minutes=first),
            "title": [f"Title {first + i}" for i in range(n)],
            "text": [t * 12 if i % 5 == 0 else t for i, t in enumerate(body)],  # some split into passages
            "url": "",
            "content_hash": [hashlib.sha256(t.encode()).hexdigest() for t in body],
            "source_file": "test",
            "source_row": np.arange(n),
        }
    )


def fill(path: Path, first: int, n: int) -> None:
    with Store(path) as db:
        db.upsert_articles(articles(first, n))


def synced(path: Path) -> ArchiveIndex:
    with Store(path) as db:
        return archive().sync(db, stage())


def rebuilt(path: Path, tmp: Path) -> ArchiveIndex:
    """The index a rebuild from the store gives: the store copied, no index beside it."""
    copy = tmp / "rebuilt" / path.name
    copy.parent.mkdir(exist_ok=True)
    shutil.copyfile(path, copy)
    return synced(copy)


def same_index(a: ArchiveIndex, b: ArchiveIndex) -> bool:
    keys = ("kind", "vectors", "max_unit_id", "digest", "payload_sha256")
    return all(a.manifest_[k] == b.manifest_[k] for k in keys)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    fill(path, 0, 700)
    first = synced(path)
    assert first.kind_ == "ivfpq"
    assert first.manifest_["vectors"] > 700  # long items became passages
    return path


def test_search_returns_the_exact_best_units(store: Path) -> None:
    index = synced(store)
    with Store(store) as db:
        ids, vectors = unit_table.unit_vectors(db, SeededEmbedder.model_id, index.split_, 0, 10**9, 10**9)
    queries = np.random.default_rng(0).standard_normal((50, DIM)).astype(np.float32)
    found = index.search(queries, 50)
    row = pd.Series(np.arange(len(ids)), index=ids)
    rescored = np.array(
        [(vectors[row.loc[f].to_numpy()] @ q).max() for f, q in zip(found, queries, strict=True)]
    )
    # the candidates, re-scored exactly, hold the exact best unit (ties: several units share a
    # text) for nearly every query, even on these structureless random vectors
    assert np.isclose(rescored, (vectors @ queries.T).max(axis=0)).mean() >= 0.9


@pytest.mark.parametrize("fault", ["deleted", "truncated", "corrupted", "garbage", "other store"])
def test_a_damaged_index_file_is_rebuilt_into_the_same_index(store: Path, tmp_path: Path, fault: str) -> None:
    good = synced(store)
    path = archive_path(store)
    blob = path.read_bytes()
    if fault == "deleted":
        path.unlink()
    elif fault == "truncated":
        path.write_bytes(blob[: len(blob) * 2 // 3])
    elif fault == "corrupted":
        path.write_bytes(blob[:-100] + bytes(b ^ 0xFF for b in blob[-100:-99]) + blob[-99:])
    elif fault == "garbage":
        path.write_bytes(b"not an index at all")
    else:
        with Store(store) as db:
            unit_table.set_meta(db, "store_id", "another-store")
    repaired = synced(store)
    assert repaired.manifest_["store_id"] == ("another-store" if fault == "other store" else good.store_id_)
    assert same_index(repaired, good)
    assert same_index(repaired, rebuilt(store, tmp_path))


def test_a_stale_index_takes_in_the_new_units_and_equals_a_rebuilt_one(store: Path, tmp_path: Path) -> None:
    old = archive_path(store).read_bytes()
    covered = synced(store).manifest_["vectors"]
    fill(store, 5000, 400)
    synced(store)
    archive_path(store).write_bytes(old)  # the index of before the new articles
    caught_up = synced(store)
    with Store(store) as db:
        assert caught_up.manifest_["vectors"] == db.count("units") > covered
    assert same_index(caught_up, rebuilt(store, tmp_path))


def test_a_kill_while_the_index_is_written_is_repaired_on_the_next_use(store: Path, tmp_path: Path) -> None:
    before = archive_path(store).read_bytes()
    fill(store, 5000, 400)
    code = (
        f"from tests.index.test_archive import synced; from pathlib import Path; synced(Path({str(store)!r}))"
    )
    env = {**os.environ, "DETECTOR_FAULT": "archive_written", "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert archive_path(store).read_bytes() == before  # the old index, whole
    assert list(store.parent.glob("*.archive.tmp*"))  # the half-done write left behind
    repaired = synced(store)
    assert not list(store.parent.glob("*.archive.tmp*"))
    assert same_index(repaired, rebuilt(store, tmp_path))


def test_units_the_store_drops_leave_the_index(store: Path, tmp_path: Path) -> None:
    """Pruned or edited articles' units are removed from the index in place (no retraining: the
    codebooks stay those of the first training, so candidates can differ from a rebuild's in
    order, never in which units exist)."""
    with Store(store) as db, db.transaction() as con:
        con.execute("DELETE FROM units WHERE article_id IN (SELECT id FROM articles WHERE source_row < 300)")
        con.execute("DELETE FROM articles WHERE source_row < 300")
    repaired = synced(store)
    fresh = rebuilt(store, tmp_path)
    assert repaired.manifest_["vectors"] == fresh.manifest_["vectors"]
    assert repaired.manifest_["digest"] == fresh.manifest_["digest"]
    with Store(store) as db:
        ids = unit_table.live_ids(db, repaired.split_, 10**9)
    assert np.array_equal(np.sort(repaired._held_ids()), ids)
    found = repaired.search(np.random.default_rng(1).standard_normal((40, DIM)).astype(np.float32), 200)
    assert np.isin(found[found >= 0], ids).all()  # no dropped unit is ever a candidate


def test_an_edited_article_gets_new_units_and_its_old_ones_leave_the_index(store: Path) -> None:
    edited = articles(0, 1).assign(text="A wholly new text about a grain deal.", content_hash="new")
    with Store(store) as db:
        db.upsert_articles(edited)
        before = unit_table.next_unit_id(db)
        assert register_units(db, stage()) == 1
        rows = db.con_.execute("SELECT unit_id FROM units WHERE article_id = 'a0'").fetchall()
    assert [r[0] for r in rows] == [before]
    index = synced(store)
    assert index.manifest_["max_unit_id"] == before


def test_registration_searches_again_only_when_articles_or_units_changed(store: Path) -> None:
    """An unchanged store skips the search for articles without units (it grows with the store);
    a new article, or a unit dropped by hand, sends it searching again."""
    split = split_key(stage())
    key = f"units_registered:{split}"
    with Store(store) as db:
        assert unit_table.meta(db, key) == unit_table.registration_state(db, split)
        db.con_.execute("DELETE FROM units WHERE article_id = 'a3'")
        assert register_units(db, stage()) >= 1  # the dropped units are registered again
        assert register_units(db, stage()) == 0
        db.upsert_articles(articles(5000, 2))
        assert register_units(db, stage()) >= 2
        assert unit_table.meta(db, key) == unit_table.registration_state(db, split)


def test_the_manifest_says_what_the_index_covers(store: Path) -> None:
    path = archive_path(store)
    blob = path.read_bytes()
    start = blob.index(b"\n") + 1
    size = int.from_bytes(blob[start : start + 8], "little")
    manifest = json.loads(blob[start + 8 : start + 8 + size])
    with Store(store) as db:
        count = db.count("units")
        assert manifest["store_id"] == unit_table.store_id(db)
    assert manifest["vectors"] == count
    assert manifest["model_id"] == SeededEmbedder.model_id
    assert manifest["payload_sha256"] == hashlib.sha256(blob[start + 8 + size :]).hexdigest()


def test_a_scope_larger_than_the_sample_finds_what_exact_scoring_finds(store: Path) -> None:
    """Through the index (the tail fitted on a 500-unit sample): the best units of a statement
    and every unit past a narrative's hit cut are those exact scoring of the whole scope gives."""
    from detector.sources.registry import OutletRegistry
    from detector.watch import NarrativeTracker, WatchedNarrative, Watchlist
    from detector.watch.archived import ArchiveScope, hit_cuts

    registry = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
    query = Watchlist((WatchedNarrative("q", "q", ("border talks grain", "state media claim")),), "test")
    calibrator = NarrativeTracker(alpha=0.01, permutations=0).calibrator()
    with Store(store) as db:
        scope = ArchiveScope(db, stage(), registry, archive(), sample_size=500)
        sample = scope.calibrated(calibrator, stage().embedding, query)[:2]
        assert len(sample[0]) == 500 < scope.total_
        ids, vectors = unit_table.unit_vectors(
            db, SeededEmbedder.model_id, scope.archive.split_, 0, 10**9, 10**9
        )
        _, _, queries, _ = scope.queries(stage().embedding, query, True)
        exact = (vectors @ queries.T).max(axis=1)
        best = scope.candidates(stage().embedding, query, calibrator, sample, top=10)
        assert set(ids[np.argsort(-exact)[:10]]) <= set(best)
        past = scope.candidates(stage().embedding, query, calibrator, sample)
        assert len(past) > 5
        assert set(past) == set(ids[exact >= hit_cuts(calibrator)[0]])
        units = scope.units(stage().embedding, past)
    assert len(units.passages) == len(past)
    assert np.allclose(np.sort((units.vectors @ queries.T).max(axis=1)), np.sort(exact[np.isin(ids, past)]))


def test_a_time_scope_through_the_index_finds_what_exact_scoring_of_that_scope_finds(store: Path) -> None:
    from datetime import datetime

    from detector.sources.registry import OutletRegistry
    from detector.watch import NarrativeTracker, WatchedNarrative, Watchlist
    from detector.watch.archived import ArchiveScope, hit_cuts

    registry = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
    query = Watchlist((WatchedNarrative("q", "q", ("summit drill border",)),), "test")
    calibrator = NarrativeTracker(alpha=0.01, permutations=0).calibrator()
    since = datetime(2024, 1, 5)  # the later half of the store
    with Store(store) as db:
        scope = ArchiveScope(db, stage(), registry, archive(), since=since, sample_size=300)
        sample = scope.calibrated(calibrator, stage().embedding, query)[:2]
        inside = unit_table.units_in_scope(db, scope.archive.split_, since, datetime(2200, 1, 1))
        assert 300 < len(inside) < db.count("units")
        ids, vectors = unit_table.vectors_of(db, SeededEmbedder.model_id, inside)
        _, _, queries, _ = scope.queries(stage().embedding, query, True)
        exact = (vectors @ queries.T).max(axis=1)
        past = scope.candidates(stage().embedding, query, calibrator, sample)
    assert len(past) > 3
    assert set(past) == set(ids[exact >= hit_cuts(calibrator)[0]])


def test_an_index_made_on_an_empty_store_takes_the_first_articles(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    assert synced(path).manifest_["vectors"] == 0
    fill(path, 0, 50)
    assert synced(path).manifest_["vectors"] > 50


def test_an_exact_index_that_outgrows_its_size_is_rebuilt_as_ivfpq_like_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "growing.duckdb"
    fill(path, 0, 60)
    assert synced(path).kind_ == "flat"
    fill(path, 1000, 700)
    grown = synced(path)
    assert grown.kind_ == "ivfpq"
    assert same_index(grown, rebuilt(path, tmp_path))
