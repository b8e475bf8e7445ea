"""Kill the real command (SIGKILL) at each stage, re-run it, and demand the outputs and store of
an uninterrupted run: same report bytes, same row counts, no duplicates, the dead run superseded."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from detector.faults import POINTS, PRUNE_POINTS
from detector.store.store import Store
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e
KILLED = -9


def test_reference_run_is_complete(reference: Reference, small_feed_texts: int) -> None:
    snap = reference.snapshot
    assert snap["articles"] == 383
    assert snap["embeddings"] == small_feed_texts
    assert snap["flags"] > 0
    assert snap["runs"] == [(snap["runs"][0][0], "done")]  # type: ignore[index]
    assert snap["leftover_temp_files"] == []
    assert (reference.store.parent / "detector.duckdb.lock").read_text() == ""


@pytest.mark.parametrize(
    "point", [p for p in POINTS if p not in ("embed_batch", "shard_written", *PRUNE_POINTS)]
)
def test_kill_at_a_stage_then_rerun_equals_an_uninterrupted_run(
    reference: Reference, tmp_path: Path, point: str
) -> None:
    store = tmp_path / "detector.duckdb"
    harness.warm_copy(reference.store, store)  # embeddings cached: the model is never called
    out = tmp_path / "out"
    # Reports of an older run in the folder: a crash must not leave them looking current.
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    killed = harness.run(reference.feed, out, store, fault=point)
    assert killed.returncode == KILLED, killed.stderr
    if point == "report":  # flags.csv is new, members.csv is not: no manifest may vouch for them
        assert not (out / "manifest.json").exists()
    again = harness.run(reference.feed, out, store)
    assert again.returncode == 0, again.stderr
    assert harness.snapshot(out, store) == reference.snapshot


def test_busy_store_is_refused_and_a_kill_while_embedding_is_recovered(
    reference: Reference, tmp_path: Path, small_feed_texts: int
) -> None:
    """Cold store: the first run embeds (slowly) and is killed after its third batch; while it
    embeds, a second run on the same store must stop at once with a one-line message."""
    store, out = tmp_path / "detector.duckdb", tmp_path / "out"
    first = harness.start(reference.feed, out, store, fault="embed_batch:3")
    lock = tmp_path / "detector.duckdb.lock"
    deadline = time.monotonic() + 300
    while not (lock.is_file() and lock.read_text().startswith("run ")) and first.poll() is None:
        assert time.monotonic() < deadline, "first run never started"
        time.sleep(0.2)
    second = harness.run(reference.feed, tmp_path / "out2", store)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == KILLED, first_err
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"Error: store {store} is in use by run run-")
    run_id = reference.snapshot["runs"][0][0]  # type: ignore[index]
    with Store(store) as db:
        assert db.runs()[["run_id", "status"]].values.tolist() == [[run_id, "running"]]
        assert db.count("embeddings") == 0  # the one chunk never committed

    again = harness.run(reference.feed, out, store)
    assert again.returncode == 0, again.stderr
    assert harness.snapshot(out, store) == reference.snapshot
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["interrupted_runs_superseded"] == [run_id]
    assert manifest["counts"]["embedded"] == small_feed_texts
