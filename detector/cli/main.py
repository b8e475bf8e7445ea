"""Command line: a thin layer over the library. Domain errors become one clean line and exit 2.

One module per command group: :mod:`detector.cli.daily` (run, backfill, ingest),
:mod:`detector.cli.review` (report, show), :mod:`detector.cli.evaluation` (eval, tune, bury),
:mod:`detector.cli.watch` (track, search), :mod:`detector.cli.verdicts` (verdicts),
:mod:`detector.cli.starter` (init, --version),
:mod:`detector.cli.prune` (prune), :mod:`detector.cli.themes` (themes); the
options they share are defined once in :mod:`detector.cli.options`. Each command imports the
library lazily, so ``detector --help`` answers at once.
"""

from __future__ import annotations

import logging

import click

from detector.cli.daily import ingest_command, run_command
from detector.cli.evaluation import bury_command, eval_command, tune_command
from detector.cli.prune import prune_command
from detector.cli.review import report_command, show_command
from detector.cli.starter import init_command, version_option
from detector.cli.themes import themes_command
from detector.cli.verdicts import verdicts_group
from detector.cli.watch import search_command, track_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@version_option
@click.option("-v", "--verbose", count=True, help="-v for progress logs, -vv for debug logs.")
def main(verbose: int) -> None:
    """Find one narrative published near-simultaneously by Chinese- and Russian-bloc state
    channels, across languages, with the evidence."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


main.add_command(init_command)
main.add_command(run_command)
# `backfill` was `run` with --engine; scripts that call it keep working.
main.add_command(run_command, "backfill")
main.add_command(ingest_command)
main.add_command(report_command)
main.add_command(show_command)
main.add_command(eval_command)
main.add_command(tune_command)
main.add_command(bury_command)
main.add_command(track_command)
main.add_command(search_command)
main.add_command(themes_command)
main.add_command(verdicts_group)
main.add_command(prune_command)


if __name__ == "__main__":  # `python -m detector.cli.main` runs from a checkout without installing
    main()
