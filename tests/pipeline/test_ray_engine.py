"""The Ray engine against the local one, on a real feed: one local Ray instance (2 CPUs, a small
object store) for the whole module; the real model, DuckDB and FAISS. Same flags, narrative ids,
reports and store rows; a backfill killed after writing embedding shards resumes from them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config, load_config
from detector.errors import InputError, MissingDependencyError
from detector.pipeline.daily import engine_for, run_daily
from detector.pipeline.engine import LocalEngine
from detector.pipeline.ray_engine import RayEngine
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
from detector.store.store import Store
from tests.conftest import ROOT, distinct_texts
from tests.reliability import harness

pytestmark = pytest.mark.e2e
ray = pytest.importorskip("ray", reason="the Ray engine's extra is not installed: pip install '.[ray]'")

OBJECT_STORE = 128 * 2**20
SHARD_TEXTS = 128  # 383 article texts -> 3 embedding shards, so a kill can land between two of them
CONFIG = f"""
[ingest]
registry = "{ROOT / "configs" / "outlets.toml"}"
[embed]
threads = 1                   # equal threads on both engines: the model's sums depend on them
[engine]
workers = 2
shard_texts = {SHARD_TEXTS}
"""


@dataclass(frozen=True)
class Finished:
    out: Path
    store: Path
    snapshot: dict[str, object]


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    context = ray.init(
        num_cpus=2, object_store_memory=OBJECT_STORE, include_dashboard=False, logging_level=logging.WARNING
    )
    yield str(context.address_info["address"])
    ray.shutdown()


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, small_feed: Path) -> Path:
    """The small feed as three 12-hour shards; returns their glob."""
    feed = pd.read_csv(small_feed, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    folder = tmp_path_factory.mktemp("shards")
    for i, start in enumerate(pd.date_range("2024-11-27T00:00Z", periods=3, freq="12h")):
        inside = (stamps >= start) & (stamps < start + pd.Timedelta(hours=12))
        feed[inside].to_csv(folder / f"feed_{i}.csv", index=False)
    return folder / "feed_*.csv"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "backfill.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, shards: Path, config_path: Path) -> Finished:
    out = tmp_path_factory.mktemp("local")
    run_daily(load_config(config_path), [str(shards)], out, out / "detector.duckdb", LocalEngine())
    return Finished(out, out / "detector.duckdb", harness.snapshot(out, out / "detector.duckdb"))


def contents(store: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a run fills (runs excepted: they hold timestamps)."""
    with Store(store) as db:
        return {t: db.con_.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in harness.TABLES}


def on_ray(config: Config) -> Config:
    return replace(config, engine=replace(config.engine, kind="ray"))


def test_ray_engine_equals_the_local_engine(
    ray_address: str, local_run: Finished, shards: Path, config_path: Path, tmp_path: Path, small_feed: Path
) -> None:
    engine = engine_for(on_ray(load_config(config_path)))
    assert isinstance(engine, RayEngine)
    summary = run_daily(
        load_config(config_path), [str(shards)], tmp_path, tmp_path / "detector.duckdb", engine
    )
    engine.close()  # joined the module's instance: leaves it running
    assert ray.is_initialized()

    assert summary.n_embedded == distinct_texts(load_config(config_path), small_feed)
    assert harness.snapshot(tmp_path, tmp_path / "detector.duckdb") == local_run.snapshot
    local, remote = contents(local_run.store), contents(tmp_path / "detector.duckdb")
    assert remote == local  # articles, embedding bytes, cluster rows (narrative ids), flags
    assert local["flags"], "nothing flagged: the comparison would be empty"
    assert {row[4] for row in remote["clusters"]} == {row[4] for row in local["clusters"]}
    assert not (tmp_path / "detector.duckdb.shards").exists()  # loaded, then removed


def test_killed_ray_backfill_resumes_from_its_shards(
    ray_address: str, local_run: Finished, shards: Path, config_path: Path, tmp_path: Path, small_feed: Path
) -> None:
    """The real command, SIGKILLed right after writing its second embedding shard, then re-run."""
    how = harness.Command("backfill", config_path, ("--engine", "ray"), (("RAY_ADDRESS", ray_address),))
    store, out = tmp_path / "detector.duckdb", tmp_path / "out"
    killed = harness.run(shards, out, store, fault="shard_written:2", how=how)
    assert killed.returncode == -9, killed.stderr
    written = sorted((tmp_path / "detector.duckdb.shards").glob("*.parquet"))
    assert len(written) == 2
    with Store(store) as db:
        assert db.count("embeddings") == 0  # shards are loaded all together, after the last one
        assert db.runs()["status"].tolist() == ["running"]

    again = harness.run(shards, out, store, how=how)
    assert again.returncode == 0, again.stderr
    assert harness.snapshot(out, store) == local_run.snapshot  # one 'done' run, same counts and bytes
    assert contents(store) == contents(local_run.store)  # no duplicates, same vectors
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    total = distinct_texts(load_config(config_path), small_feed)
    assert manifest["counts"]["embedded"] == total - 2 * SHARD_TEXTS  # the written shards were skipped
    assert len(manifest["interrupted_runs_superseded"]) == 1
    assert not (tmp_path / "detector.duckdb.shards").exists()


def test_files_read_on_ray_equal_the_local_read(ray_address: str, tmp_path: Path) -> None:
    """Skip mode over a good CSV, an unreadable file, a JSONL with a bad line and a file that
    repeats an id of the first: the same articles and rejections, in the same order."""
    registry = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
    reader = FeedReader(registry, on_bad_row="skip")
    first = tmp_path / "a.csv"
    first.write_text(
        "id,outlet,published_at,text\na1,TASS,2024-11-27T10:00Z,one\na2,RT,2024-11-27T11:00Z,two\n"
    )
    (tmp_path / "b.csv").write_bytes(
        "id,outlet,published_at,text\n1,TASS,2024-11-27,Привет\n".encode("cp1251")
    )
    (tmp_path / "c.jsonl").write_text(
        '{"id": "c1", "outlet": "CGTN", "published_at": "2024-11-27T09:00Z", "text": "t"}\nnot json\n'
    )
    (tmp_path / "d.csv").write_text("id,outlet,published_at,text\na2,RT,2024-11-27T11:00Z,other\n")
    files = [str(tmp_path / name) for name in ("a.csv", "b.csv", "c.jsonl", "d.csv")]
    local = reader.read(files)
    remote = reader.read(files, RayEngine().map_files)
    pd.testing.assert_frame_equal(remote.articles, local.articles)
    pd.testing.assert_frame_equal(remote.rejected, local.rejected)
    assert local.rejected["source_file"].tolist() == files[1:]

    strict = FeedReader(registry)
    with pytest.raises(InputError) as here:
        strict.read(files)
    with pytest.raises(InputError) as there:
        strict.read(files, RayEngine().map_files)
    assert str(there.value) == str(here.value)  # one clean line, not a Ray traceback


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    with pytest.raises(MissingDependencyError, match=r"pip install '\.\[ray\]'"):
        RayEngine().ray()
