"""Narrative ids carry across runs: day 1 into a store, then days 1-2 into the same store, keeps
every day-1 narrative's id wherever it goes on, and the manifest accounts for every id that went
(merged, dropped). A fresh days-1-2 run finds the same narratives but may name them otherwise:
ids depend on the store's history by design (detector/lineage.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config
from detector.pipeline.daily import run_daily
from detector.store.store import Store
from tests.conftest import SAMPLE_FEED
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e


def narratives(store: Path, method: str) -> dict[str, frozenset[str]]:
    """Narrative id -> member ids over all windows."""
    with Store(store) as db:
        rows = db.con_.execute(
            "SELECT narrative_id, article_id FROM clusters WHERE method_hash = ?", [method]
        ).df()
    return {str(nid): frozenset(group["article_id"]) for nid, group in rows.groupby("narrative_id")}


def manifest(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return data


def test_day_one_ids_survive_a_run_over_days_one_and_two(
    reference: Reference, default_config: Config, tmp_path: Path
) -> None:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    day = pd.to_datetime(feed["published_at"], utc=True).dt.strftime("%Y-%m-%d")
    day1, both = tmp_path / "day1.csv", tmp_path / "days12.csv"
    feed[day == "2024-11-27"].to_csv(day1, index=False)
    feed[day.isin(["2024-11-27", "2024-11-28"])].to_csv(both, index=False)
    method = default_config.method_hash()
    store, fresh = tmp_path / "detector.duckdb", tmp_path / "fresh.duckdb"
    harness.warm_copy(reference.store, store)  # most vectors cached; the rest of day 2 is embedded once

    run_daily(default_config, [str(day1)], tmp_path / "out1", store)
    first = narratives(store, method)
    assert len(first) >= 2
    run_daily(default_config, [str(both)], tmp_path / "out12", store)
    second = narratives(store, method)
    lineage = manifest(tmp_path / "out12")["lineage"]
    assert isinstance(lineage, dict)

    # Every day-1 id is still there, or the manifest says where it went.
    absorbed = {m["absorbed"] for m in lineage["merges"]}
    dropped = {d["narrative_id"] for d in lineage["dropped"]}
    assert set(first) <= set(second) | absorbed | dropped
    # The ids the manifest names are real: kept and new ids exist, absorbed and dropped ones do not.
    assert {m["kept"] for m in lineage["merges"]} | {s["child"] for s in lineage["splits"]} <= set(second)
    assert not (absorbed | dropped) & set(second)
    counts = manifest(tmp_path / "out12")["counts"]
    assert isinstance(counts, dict)
    assert (counts["merges"], counts["splits"], counts["dropped"]) == tuple(
        len(lineage[k]) for k in ("merges", "splits", "dropped")
    )
    # On these days no day-1 narrative dissolves: all keep their ids, one of them (3 articles on
    # day 1) with 2 more on day 2, where ids derived from the input window renamed it.
    assert set(first) <= set(second)
    assert any(len(second[nid]) > len(first[nid]) for nid in first)

    # A fresh run over both days finds the same narratives (member sets) under its own ids.
    harness.warm_copy(store, fresh)
    run_daily(default_config, [str(both)], tmp_path / "fresh12", fresh)
    assert set(narratives(fresh, method).values()) == set(second.values())

    # Re-running days 1-2 on the store changes nothing: same ids, no lineage events.
    run_daily(default_config, [str(both)], tmp_path / "again", store)
    assert narratives(store, method) == second
    assert manifest(tmp_path / "again")["lineage"] == {"merges": [], "splits": [], "dropped": []}
    for name in ("flags.csv", "members.csv", "pairs.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "out12" / name).read_bytes()
