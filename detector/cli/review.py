"""``detector report`` and ``detector show``: a finished run's reports again, and one narrative on the
terminal, from the store (nothing is recomputed)."""

from __future__ import annotations

from pathlib import Path

import click

from detector.cli.options import (
    DEFAULT_OUT,
    config_option,
    domain_errors,
    load_cli_config,
    out_option,
    store_option,
)
from detector.sources.registry import CHANNEL_TYPES, UNKNOWN_CHANNEL


def run_store(config_path: str | None, store_path: str | None) -> Path:
    """The store ``detector run`` wrote with this config and the default ``--out``."""
    from detector.pipeline.daily import store_file

    return store_file(load_cli_config(config_path), Path(DEFAULT_OUT), store_path)


@click.command("report")
@click.option("--run", "run_id", required=True, help="Run id (first word of `detector run`'s output).")
@out_option("Folder for the reports.", required=True)
@config_option
@store_option
@click.option(
    "--channel-type", "channel_types", multiple=True, type=click.Choice([*CHANNEL_TYPES, UNKNOWN_CHANNEL]),
    help="Keep only narratives that reached this channel type (repeat for any of several).",
)  # fmt: skip
@domain_errors
def report_command(
    run_id: str, out_dir: str, config_path: str | None, store_path: str | None, channel_types: tuple[str, ...]
) -> None:
    """Write a finished run's reports again from the store, without recomputing anything.

    Every CSV comes out byte-identical to the run's own (unless filtered with --channel-type).
    """
    from detector.pipeline.preflight import check_writable
    from detector.report.review import rewrite_reports

    check_writable(Path(out_dir), "--out")
    paths = rewrite_reports(run_store(config_path, store_path), run_id, Path(out_dir), channel_types)
    click.echo(f"{run_id}: {', '.join(Path(p).name for p in paths.values())} -> {out_dir}")


@click.command("show")
@click.argument("narrative_id")
@config_option
@store_option
@click.option("--run", "run_id", default=None, help="Run id; default: the newest run that holds it.")
@domain_errors
def show_command(
    narrative_id: str, config_path: str | None, store_path: str | None, run_id: str | None
) -> None:
    """Print a flagged narrative's (N…, flags.csv) or a theme's (T…, themes.csv) articles and
    timelines."""
    from detector.report.review import print_narrative
    from detector.report.theme_review import is_theme_id, print_theme

    show = print_theme if is_theme_id(narrative_id) else print_narrative
    show(run_store(config_path, store_path), narrative_id, run_id)
