"""Command line: a thin layer over the library. Domain errors become one clean line and exit 2."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from detector import __version__
from detector.commands.common import config_option, domain_errors
from detector.commands.evaluation import bury_command, eval_command, tune_command
from detector.commands.watch import search_command, track_command
from detector.config import load_config
from detector.registry import CHANNEL_TYPES, UNKNOWN_CHANNEL

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False), default="out/detector.duckdb",
    show_default=True, help="DuckDB store file a run wrote.",
)  # fmt: skip
input_option = click.option(
    "--input", "-i", "inputs", multiple=True, required=True,
    help="Feed file or glob (CSV, JSONL or Parquet); repeat for several.",
)  # fmt: skip
out_option = click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    default="out",
    show_default=True,
    help="Folder for reports (and the store, unless [store] path is set).",
)
store_override_option = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="DuckDB store file (overrides [store] path).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="detector")
@click.option("-v", "--verbose", count=True, help="-v for progress logs, -vv for debug logs.")
def main(verbose: int) -> None:
    """Find one narrative published near-simultaneously by Chinese- and Russian-bloc state
    channels, across languages, with the evidence."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@config_option
@input_option
@out_option
@store_override_option
@domain_errors
def run(config_path: str, inputs: tuple[str, ...], out_dir: str, store_path: str | None) -> None:
    """The daily job: ingest, embed (cached), cluster, score and write reports.

    Idempotent: re-running on the same input embeds nothing and writes identical flags.csv.
    """
    from pipelines.daily import run_daily

    config = load_config(config_path)
    summary = run_daily(config, list(inputs), Path(out_dir), Path(store_path) if store_path else None)
    click.echo(
        f"{summary.run_id}: {summary.n_articles} articles, {summary.n_embedded} embedded, "
        f"{summary.n_flags} flagged narratives in {summary.seconds:.1f} s -> {summary.out_dir}/flags.csv"
    )


@main.command()
@config_option
@input_option
@out_option
@store_override_option
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="Where the stages run (overrides [engine] kind); ray needs pip install '.[ray]'.",
)
@domain_errors
def backfill(
    config_path: str, inputs: tuple[str, ...], out_dir: str, store_path: str | None, engine: str | None
) -> None:
    """The daily job over many feed shards at once (months, years), on the engine of choice.

    Same stages and results as `run`; with --engine ray, files are read, windows clustered and
    narratives scored on a Ray cluster, and texts embedded by an actor pool into Parquet shards
    that a re-run after a crash does not embed again. See docs/scaling.md.
    """
    from dataclasses import replace

    from pipelines.daily import run_daily

    config = load_config(config_path)
    if engine is not None:
        config = replace(config, engine=replace(config.engine, kind=engine))
    summary = run_daily(config, list(inputs), Path(out_dir), Path(store_path) if store_path else None)
    click.echo(
        f"{summary.run_id}: {summary.n_articles} articles, {summary.n_embedded} embedded, "
        f"{summary.n_flags} flagged narratives in {summary.seconds:.1f} s on {config.engine.kind} "
        f"-> {summary.out_dir}/flags.csv"
    )  # fmt: skip


@main.command()
@config_option
@input_option
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="DuckDB store file to load the articles into.",
)
@domain_errors
def ingest(config_path: str, inputs: tuple[str, ...], store_path: str) -> None:
    """Validate feeds and load their articles into the store (no embedding, no scoring)."""
    from detector.store import Store
    from pipelines.daily import read_feeds

    config = load_config(config_path)
    feed = read_feeds(config, list(inputs))
    with Store(store_path) as db:
        counts = db.upsert_articles(feed.articles)
    click.echo(
        f"{len(feed.articles)} valid rows from {len(feed.files)} file(s): {counts['new']} new, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged; {len(feed.rejected)} rejected"
    )


@main.command()
@click.option("--run", "run_id", required=True, help="Run id (first word of `detector run`'s output).")
@click.option(
    "--out", "-o", "out_dir", type=click.Path(file_okay=False), required=True, help="Folder for the reports."
)
@store_option
@click.option(
    "--channel-type", "channel_types", multiple=True, type=click.Choice([*CHANNEL_TYPES, UNKNOWN_CHANNEL]),
    help="Keep only narratives that reached this channel type (repeat for any of several).",
)  # fmt: skip
@domain_errors
def report(run_id: str, out_dir: str, store_path: str, channel_types: tuple[str, ...]) -> None:
    """Write a finished run's reports again from the store, without recomputing anything.

    Every CSV comes out byte-identical to the run's own (unless filtered with --channel-type).
    """
    from detector.review import rewrite_reports

    paths = rewrite_reports(Path(store_path), run_id, Path(out_dir), channel_types)
    click.echo(f"{run_id}: {', '.join(Path(p).name for p in paths.values())} -> {out_dir}")


@main.command()
@click.argument("narrative_id")
@store_option
@click.option("--run", "run_id", default=None, help="Run id; default: the newest run that flagged it.")
@domain_errors
def show(narrative_id: str, store_path: str, run_id: str | None) -> None:
    """Print a flagged narrative's articles and a timeline per outlet."""
    from detector.review import print_narrative

    print_narrative(Path(store_path), narrative_id, run_id)


main.add_command(eval_command)
main.add_command(tune_command)
main.add_command(bury_command)
main.add_command(track_command)
main.add_command(search_command)


if __name__ == "__main__":  # `python -m detector.cli` runs from a checkout without installing
    main()
