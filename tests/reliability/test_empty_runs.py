"""Feeds on which no cross-bloc narrative can form (one bloc only, cn + control only, blocs on days
apart, one unrelated cn-ru pair) finish like any run: exit 0, empty reports with their headers,
a finished run in the store, and the reason in ``manifest.json`` ``warnings`` and the log."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config
from detector.pipeline.daily import run_daily
from detector.report.columns import FLAG_COLUMNS, MEMBER_COLUMNS, PAIR_COLUMNS, VERDICT_COLUMNS
from detector.store.store import Store
from tests.conftest import SAMPLE_FEED
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e


def sample() -> pd.DataFrame:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    return feed.assign(stamp=pd.to_datetime(feed["published_at"], utc=True))


def cut(name: str) -> pd.DataFrame:
    """Real rows of the sample that leave no cn-ru edge."""
    feed = sample()
    day = feed["stamp"].dt.strftime("%Y-%m-%d")
    if name == "ru only":
        rows = feed[(feed["bloc"] != "cn") & (day == "2024-11-27")]
    elif name == "cn and control":
        rows = feed[(feed["bloc"] != "ru") & (day == "2024-11-27")]
    elif name == "blocs days apart":  # more than a window (72 h) between the blocs
        rows = feed[
            ((feed["bloc"] == "cn") & (day == "2024-11-26"))
            | ((feed["bloc"] == "ru") & (day == "2024-12-03"))
        ]
    else:  # "one unrelated pair": each article is the other's only neighbour, so CSLS = 0
        ru = feed[(feed["bloc"] == "ru") & (day == "2024-11-27")].iloc[[0]]
        cn = feed[(feed["bloc"] == "cn") & (day == "2024-11-27")].iloc[[0]]
        rows = pd.concat([cn, ru])
    return rows.drop(columns="stamp")


REASONS = {
    "ru only": "no cn articles in the run's scope",
    "cn and control": "no ru articles in the run's scope",
    "blocs days apart": "no window holds both cn and ru articles",
    "one unrelated pair": "no window formed a narrative",
}


def configured(config: Config, unit: str, method: str) -> Config:
    return replace(
        config, passages=replace(config.passages, unit=unit), cluster=replace(config.cluster, grouper=method)
    )


@pytest.mark.parametrize(
    ("unit", "method"), [("passage", "sync-graph"), ("article", "sync-graph"), ("article", "hdbscan")]
)
@pytest.mark.parametrize("case", list(REASONS))
def test_no_cross_bloc_edge_gives_empty_reports_and_says_why(
    reference: Reference, default_config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    case: str, unit: str, method: str,
) -> None:  # fmt: skip
    rows = cut(case)
    assert len(rows) >= 2
    assert set(rows["bloc"]) != {"cn", "ru", "control"}
    feed, out, store = tmp_path / "feed.csv", tmp_path / "out", tmp_path / "detector.duckdb"
    rows.to_csv(feed, index=False)
    harness.warm_copy(reference.store, store)
    with caplog.at_level(logging.WARNING):
        summary = run_daily(configured(default_config, unit, method), [str(feed)], out, store)

    assert summary.n_flags == 0
    flag_columns = FLAG_COLUMNS + VERDICT_COLUMNS  # every run's flags.csv has the analysts' columns
    for name, columns in (("flags", flag_columns), ("members", MEMBER_COLUMNS), ("pairs", PAIR_COLUMNS)):
        written = pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig")
        assert written.empty
        assert list(written.columns) == columns
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    reason = REASONS[case]
    assert [w for w in manifest["warnings"] if w.startswith(reason)], manifest["warnings"]
    assert any(r.levelno == logging.WARNING and r.getMessage().startswith(reason) for r in caplog.records)
    assert manifest["counts"]["flags"] == 0
    with Store(store) as db:
        assert db.runs()["status"].tolist() == ["done"]


def test_the_command_exits_0_with_one_warning_line(reference: Reference, tmp_path: Path) -> None:
    feed, out, store = tmp_path / "feed.csv", tmp_path / "out", tmp_path / "detector.duckdb"
    cut("ru only").to_csv(feed, index=False)
    harness.warm_copy(reference.store, store)
    outcome = harness.run(feed, out, store)
    assert outcome.returncode == 0, outcome.stderr
    warnings = [line for line in outcome.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, outcome.stderr
    assert "no cn articles in the run's scope (control: " in warnings[0]
    assert (out / "manifest.json").is_file()


def test_an_input_without_one_bloc_is_flagged_even_when_the_store_has_it(
    reference: Reference, default_config: Config, tmp_path: Path
) -> None:
    """Day 2's ru scraper failed: day 2's cn articles are still compared with day 1's ru articles
    in the store, and the manifest says that the input lacked ru."""
    feed = sample()
    day = feed["stamp"].dt.strftime("%Y-%m-%d")
    day1, day2 = tmp_path / "day1.csv", tmp_path / "day2.csv"
    feed[day == "2024-11-27"].drop(columns="stamp").to_csv(day1, index=False)
    feed[(day == "2024-11-28") & (feed["bloc"] != "ru")].drop(columns="stamp").to_csv(day2, index=False)
    store = tmp_path / "detector.duckdb"
    harness.warm_copy(reference.store, store)
    first = run_daily(default_config, [str(day1)], tmp_path / "out1", store)
    assert first.n_flags > 0
    assert json.loads((tmp_path / "out1" / "manifest.json").read_text(encoding="utf-8"))["warnings"] == []
    run_daily(default_config, [str(day2)], tmp_path / "out2", store)
    manifest = json.loads((tmp_path / "out2" / "manifest.json").read_text(encoding="utf-8"))
    assert [w for w in manifest["warnings"] if w.startswith("the input has no ru articles (cn: ")], manifest
