"""``detector show THEME_ID`` and ``detector report --run`` for a run's themes, from a real store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.report.theme_html import ThemeReport
from detector.report.writer import write_reports
from detector.store.store import Store
from tests.report.test_theme_report import theme_report

MANIFEST = {"run_id": "run-t", "counts": {}}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ThemeReport]:
    """``(store, out dir, themes)``: a finished run that stored its themes and wrote its reports."""
    tmp = tmp_path_factory.mktemp("show")
    report, store, out = theme_report(), tmp / "s.duckdb", tmp / "out"
    out.mkdir()
    flags = pd.DataFrame({"rank": pd.Series(dtype=int), "narrative_id": pd.Series(dtype=str)})
    members = pd.DataFrame({"narrative_id": pd.Series(dtype=str), "id": pd.Series(dtype=str)})
    with Store(store) as db:
        db.start_run("run-t", "m", "model", datetime(2024, 11, 27))
        db.save_themes("run-t", report.themes, report.members)
        write_reports(out, flags, members, MANIFEST, themes=report)
        db.put_report_frames("run-t", {"flags": flags, "members": members})
        db.finish_run("run-t", flags, MANIFEST, datetime(2024, 11, 27, 1))
    return store, out, report


def test_show_prints_a_themes_facts_members_and_volumes(stored: tuple[Path, Path, ThemeReport]) -> None:
    store, _, report = stored
    tid = str(report.themes["theme_id"].iloc[0])
    result = CliRunner().invoke(main, ["show", tid, "--store", str(store)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert f"{tid} (run run-t, flagged)" in result.output
    assert "keywords (ru): биолаборатория; пентагон" in result.output
    assert "q-value 0.004" in result.output
    for article in report.members.loc[report.members["theme_id"] == tid, "id"]:
        assert article in result.output
    assert "Articles per day" in result.output
    assert "█" in result.output  # the day with most articles
    assert "Timeline" in result.output


def test_show_says_when_a_theme_has_no_q_value_and_shows_hostile_text_as_text(
    stored: tuple[Path, Path, ThemeReport],
) -> None:
    store, _, report = stored
    tid = str(report.themes["theme_id"].iloc[1])
    result = CliRunner().invoke(main, ["show", tid, "--store", str(store)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "q-value — (period 7 days: no timing null has power)" in result.output
    assert "\u202e" not in result.output
    assert "⟦U+202E⟧" in result.output


def test_show_an_unknown_theme_is_one_error_line(stored: tuple[Path, Path, ThemeReport]) -> None:
    store, _, _ = stored
    missing = CliRunner().invoke(main, ["show", "T20240101-00000000", "--store", str(store)])
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines() == [
        f"Error: theme T20240101-00000000 is not in any finished run in {store}. "
        "themes.csv lists a run's themes."
    ]


def test_report_run_writes_the_theme_reports_byte_identical(
    stored: tuple[Path, Path, ThemeReport], tmp_path: Path
) -> None:
    store, out, _ = stored
    again = tmp_path / "again"
    result = CliRunner().invoke(
        main, ["report", "--run", "run-t", "--out", str(again), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    for name in ("themes.csv", "theme_members.csv", "theme_daily.csv", "report.html"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
