"""Day by day equals all at once: running day 1, then day 2, on one store gives the narratives a
single run over both days gives, for every narrative that closed before day 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config
from detector.pipeline.daily import run_daily
from detector.store.store import Store
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e
DAY2 = pd.Timestamp("2024-11-28T00:00Z")


def narratives(store: Path, method: str) -> dict[str, frozenset[str]]:
    """Narrative id -> member ids (over all windows), for narratives with no day-2 member."""
    with Store(store) as db:
        rows = db.con_.execute(
            "SELECT c.narrative_id, c.article_id, a.published_at FROM clusters c "
            "JOIN articles a ON a.id = c.article_id WHERE c.method_hash = ?",
            [method],
        ).df()
    rows["published_at"] = pd.to_datetime(rows["published_at"]).dt.tz_localize("UTC")
    closed = rows.groupby("narrative_id")["published_at"].max() < DAY2
    return {
        str(nid): frozenset(group["article_id"]) for nid, group in rows.groupby("narrative_id") if closed[nid]
    }


def test_day_by_day_equals_both_days_at_once(
    reference: Reference, default_config: Config, tmp_path: Path
) -> None:
    feed = pd.read_csv(reference.feed, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    day1, day2 = tmp_path / "day1.csv", tmp_path / "day2.csv"
    feed[stamps < DAY2].to_csv(day1, index=False)
    feed[stamps >= DAY2].to_csv(day2, index=False)
    assert (stamps < DAY2).sum() > 100
    assert (stamps >= DAY2).sum() > 100

    daily, batch = tmp_path / "daily.duckdb", tmp_path / "batch.duckdb"
    for store in (daily, batch):
        harness.warm_copy(reference.store, store)  # cached embeddings: no model calls
    run_daily(default_config, [str(day1)], tmp_path / "out1", daily)
    run_daily(default_config, [str(day2)], tmp_path / "out2", daily)
    run_daily(default_config, [str(day1), str(day2)], tmp_path / "out12", batch)

    method = default_config.method_hash()
    incremental, together = narratives(daily, method), narratives(batch, method)
    assert together, "no narrative closed before day 2: the comparison would be empty"
    assert incremental == together
