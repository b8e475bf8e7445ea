"""``detector run`` (alias ``backfill``) and ``detector ingest``: the daily job and loading feeds."""

from __future__ import annotations

from pathlib import Path

import click

from detector.cli.options import (
    config_option,
    domain_errors,
    input_option,
    load_cli_config,
    out_option,
    sheet_option,
    store_option,
)


@click.command("run")
@config_option
@input_option
@out_option("Folder for reports (and the store, unless [store] path or --store is set).")
@store_option
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="Where the stages run (overrides [engine] kind); ray needs pip install '.[ray]'.",
)
@sheet_option
@domain_errors
def run_command(
    config_path: str | None,
    inputs: tuple[str, ...],
    out_dir: str,
    store_path: str | None,
    engine: str | None,
    sheet: str | None,
) -> None:
    """The daily job: ingest, embed (cached), cluster, score and write reports.

    Idempotent: re-running on the same input embeds nothing and writes identical flags.csv. For
    backfills of months or years, --engine ray reads files, clusters windows and scores narratives
    on a Ray cluster and embeds texts with an actor pool into Parquet shards that a re-run after a
    crash does not embed again: same results as the local engine (docs/scaling.md).
    """
    from detector.pipeline.daily import run_daily

    config = load_cli_config(config_path)
    if engine is not None:
        config = config.override("engine", kind=engine)
    if sheet is not None:
        config = config.override("ingest", sheet=sheet)
    summary = run_daily(config, list(inputs), Path(out_dir), Path(store_path) if store_path else None)
    click.echo(
        f"{summary.run_id}: {summary.n_articles} articles, {summary.n_embedded} embedded, "
        f"{summary.n_flags} flagged narratives in {summary.seconds:.1f} s on {config.engine.kind} "
        f"-> {summary.out_dir}/flags.csv"
    )  # fmt: skip


@click.command("ingest")
@config_option
@input_option
@out_option("Folder whose detector.duckdb is the store, unless [store] path or --store is set.")
@store_option
@sheet_option
@domain_errors
def ingest_command(
    config_path: str | None, inputs: tuple[str, ...], out_dir: str, store_path: str | None, sheet: str | None
) -> None:
    """Validate feeds and load their articles into the store (no embedding, no scoring)."""
    from detector.pipeline.daily import read_feeds, store_file
    from detector.pipeline.preflight import check_store_writable
    from detector.store.store import Store

    config = load_cli_config(config_path)
    if sheet is not None:
        config = config.override("ingest", sheet=sheet)
    store = store_file(config, Path(out_dir), store_path)
    check_store_writable(store)
    feed = read_feeds(config, list(inputs))
    with Store(store) as db:
        counts = db.upsert_articles(feed.articles)
    click.echo(
        f"{len(feed.articles)} valid rows from {len(feed.files)} file(s): {counts['new']} new, "
        f"{counts['updated']} updated, {counts['unchanged']} unchanged; {len(feed.rejected)} rejected"
    )
