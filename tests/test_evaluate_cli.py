"""`detector eval` / `detector tune`: help texts and clean one-line domain errors (no model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli import main


@pytest.mark.parametrize("command", ["eval", "tune"])
def test_commands_have_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--data" in result.output


def test_eval_rejects_an_unknown_data_file_in_one_line(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.csv"
    unknown.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["eval", "-d", str(unknown), "--store", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "not a labelled file" in result.output


def test_tune_needs_event_feeds_with_their_truth(tmp_path: Path) -> None:
    feed = tmp_path / "x_feed.csv"
    feed.write_text("id,outlet,bloc,language,published_at,title,text,url\n")
    result = CliRunner().invoke(main, ["tune", "-d", str(feed), "--out", str(tmp_path / "t.toml")])
    assert result.exit_code == 2
    assert "x_truth.csv" in result.output
