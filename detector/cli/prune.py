"""``detector prune``: retention for a store that grows every day (detector.store.prune)."""

from __future__ import annotations

import click

from detector.cli.options import config_option, domain_errors, store_option


@click.command("prune")
@click.option(
    "--before", required=True, help="UTC date (YYYY-MM-DD): articles published before it are dropped."
)
@config_option
@store_option
@click.option(
    "--compact/--no-compact",
    default=True,
    show_default=True,
    help="Rewrite the store file afterwards so it shrinks on disk (DuckDB keeps freed space).",
)
@domain_errors
def prune_command(before: str, config_path: str, store_path: str | None, compact: bool) -> None:
    """Drop the articles published before --before, their passages and cached vectors. Runs,
    flags and their stored report rows stay: `detector show` and `detector report` work for every
    run, pruned narratives included. One transaction: safe to kill at any point."""
    import pandas as pd

    from detector.cli.options import load_cli_config
    from detector.cli.review import run_store
    from detector.errors import ConfigError, NotFoundError
    from detector.pipeline.archive import update_archive
    from detector.pipeline.stages import Stages
    from detector.store import prune as retention
    from detector.store.store import Store

    try:
        stamp = pd.Timestamp(before)
    except ValueError:
        raise ConfigError(f"--before {before!r} is not a date. Fix: write it as YYYY-MM-DD (UTC).") from None
    when = (stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")).tz_localize(None)
    config = load_cli_config(config_path)
    path = run_store(config_path, store_path)
    if not path.is_file():
        raise NotFoundError(f"store {path} does not exist. Fix: pass --store the file `detector run` wrote.")
    stages = Stages.from_config(config)
    with Store(path) as db:
        counts = retention.prune(db, when.to_pydatetime(), stages.embedding.texts)
        update_archive(db, stages.splitter)  # the pruned units leave the index
        sizes = retention.compact(db) if compact else None
    shrunk = f"; {sizes[0] / 1e6:.1f} -> {sizes[1] / 1e6:.1f} MB on disk" if sizes else ""
    click.echo(
        f"pruned {counts['articles']} articles, {counts['units']} passages, {counts['vectors']} vectors "
        f"before {when:%Y-%m-%d}{shrunk}"
    )
