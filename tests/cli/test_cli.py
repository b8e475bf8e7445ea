"""The command line's shape: every command answers --help, shared options are one definition, and
`backfill` is `run` (no model loaded)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from detector.cli.main import main


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_answers_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_backfill_is_run_with_its_engine_option() -> None:
    assert main.commands["backfill"] is main.commands["run"]
    assert "--engine" in {opt for p in main.commands["run"].params for opt in p.opts}


@pytest.mark.parametrize("name", ["--store", "--config"])
def test_a_shared_option_is_the_same_everywhere(name: str) -> None:
    found = {
        (p.default, p.help, p.required)
        for command in main.commands.values()
        for p in command.params
        if isinstance(p, click.Option) and name in p.opts
    }
    assert len(found) == 1, found
