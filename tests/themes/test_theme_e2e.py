"""Themes through the real daily pipeline (real model, DuckDB, FAISS) on the bundled sample: the theme
reports, flags.csv's theme_id, report.html's section, `detector show` of a theme and theme ids
kept from one day's run to the next on one store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.config import Config
from detector.pipeline.daily import RunSummary, run_daily
from tests.conftest import SAMPLE_FEED

pytestmark = pytest.mark.e2e


def days(tmp: Path, first: str, last: str) -> Path:
    """The sample's articles published in ``[first, last)``, as a feed file."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    path = tmp / f"feed_{first}_{last}.csv"
    feed[(stamps >= first) & (stamps < last)].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two_days(
    tmp_path_factory: pytest.TempPathFactory, default_config: Config
) -> tuple[Path, Path, RunSummary]:
    """Day 1 (seven days of the sample), then day 2 (the next day added) on the same store."""
    tmp = tmp_path_factory.mktemp("themes")
    store = tmp / "store.duckdb"
    run_daily(default_config, [str(days(tmp, "2024-11-26", "2024-12-03"))], tmp / "day1", store)
    second = run_daily(default_config, [str(days(tmp, "2024-11-26", "2024-12-04"))], tmp / "day2", store)
    return tmp, store, second


def test_the_run_writes_themes_and_flags_name_their_theme(two_days: tuple[Path, Path, RunSummary]) -> None:
    tmp, _, _ = two_days
    themes = pd.read_parquet(tmp / "day2" / "themes.parquet")
    members = pd.read_parquet(tmp / "day2" / "theme_members.parquet")
    assert len(themes)
    assert set(members["theme_id"]) == set(themes["theme_id"])
    flags = pd.read_parquet(tmp / "day2" / "flags.parquet")
    narrative_members = pd.read_parquet(tmp / "day2" / "members.parquet")
    named = flags[flags["theme_id"] != ""]
    assert len(named)  # some flagged moment is part of a theme
    for _, flag in named.iterrows():
        mine = set(narrative_members.loc[narrative_members["narrative_id"] == flag["narrative_id"], "id"])
        assert mine & set(members.loc[members["theme_id"] == flag["theme_id"], "id"])
    page = (tmp / "day2" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Shared themes</h2>" in page
    assert all(f'<a href="#{tid}">' in page for tid in themes["theme_id"])


def test_theme_ids_carry_over_from_the_previous_days_run(two_days: tuple[Path, Path, RunSummary]) -> None:
    tmp, _, _ = two_days
    before = pd.read_parquet(tmp / "day1" / "theme_members.parquet")
    after = pd.read_parquet(tmp / "day2" / "theme_members.parquet")
    kept = set(before["theme_id"]) & set(after["theme_id"])
    assert kept  # most of a theme's articles are still there a day later: its id goes on
    for tid in kept:
        old, new = (
            set(before.loc[before["theme_id"] == tid, "id"]),
            set(after.loc[after["theme_id"] == tid, "id"]),
        )
        assert len(old & new) >= 0.5 * min(len(old), len(new))


def test_show_prints_a_theme_of_the_run(two_days: tuple[Path, Path, RunSummary]) -> None:
    tmp, store, second = two_days
    themes = pd.read_parquet(tmp / "day2" / "themes.parquet")
    tid = str(themes["theme_id"].iloc[0])
    result = CliRunner().invoke(main, ["show", tid, "--store", str(store)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{tid} (run {second.run_id}," in result.output
    members = pd.read_parquet(tmp / "day2" / "theme_members.parquet")
    assert all(i in result.output for i in members.loc[members["theme_id"] == tid, "id"])
