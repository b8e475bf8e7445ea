"""`detector eval` / `detector tune`: help texts and clean one-line domain errors (no model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.main import main


@pytest.mark.parametrize(("command", "option"), [("eval", "--data"), ("tune", "--data"), ("bury", "--host")])
def test_commands_have_help(command: str, option: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert option in result.output


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


def test_bury_writes_an_events_set_and_names_an_unknown_host(tmp_path: Path) -> None:
    feed = tmp_path / "x_feed.csv"
    feed.write_text(
        "id,outlet,bloc,language,published_at,title,text,url\n"
        "e1,CGTN,cn,en,2022-03-08T10:00Z,,The story.,\n"
        "e2,RT,ru,ru,2022-03-08T12:00Z,,История.,\n"
        "m1,MFA,cn,en,2022-03-08T07:00Z,,First answer.,\n"
        "m2,MFA,cn,en,2022-03-08T07:00Z,,Second answer.,\n"
    )
    (tmp_path / "x_truth.csv").write_text("event_id,id,kind,leader\nev1,e1,claim,cn\nev1,e2,claim,cn\n")
    prefix = tmp_path / "out" / "b"
    result = CliRunner().invoke(main, ["bury", str(feed), "--host", "MFA", "--out", str(prefix)])
    assert result.exit_code == 0, result.output
    assert "1 buried claim" in result.output
    buried = (tmp_path / "out" / "b_feed.csv").read_text()
    assert "m1" not in buried  # the day's answers now live inside the event's document
    assert (tmp_path / "out" / "b_truth.csv").read_text().count("buried claim") == 2
    wrong = CliRunner().invoke(main, ["bury", str(feed), "--host", "Nobody", "--out", str(prefix)])
    assert wrong.exit_code == 2
    assert "no items of outlet 'Nobody'" in wrong.output
