"""``detector verdicts import`` and ``detector verdicts export``: the analysts' verdicts in and out
of the store (docs/review.md)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from detector.cli.options import domain_errors

store_required = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False), required=True,
    help="The DuckDB store the flags came from (what `detector run` wrote: out/detector.duckdb unless "
    "told otherwise).",
)  # fmt: skip


@click.group("verdicts")
def verdicts_group() -> None:
    """Analysts' verdicts on flagged narratives: confirmed, dismissed, unsure (docs/review.md)."""


@verdicts_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@store_required
@click.option("--by", "analyst", default=None,
              help="Who decided, for rows whose verdict_by is empty (default: your user name).")  # fmt: skip
@domain_errors
def import_command(file: str, store_path: str, analyst: str | None) -> None:
    """Import verdicts from FILE: flags.csv (or themes.csv) with its verdict column filled in, as
    a spreadsheet saves it, or the CSV saved from report.html. Only narrative_id / theme_id and
    the verdict* columns are read. The whole file is checked first; nothing is written unless
    every row is valid. Importing the same file again changes nothing."""
    from detector.verdicts.exchange import import_file

    result = import_file(Path(store_path), file, analyst or getpass.getuser())
    counts = ", ".join(f"{n} {v}" for v, n in sorted(result.by_verdict.items())) or "none"
    click.echo(
        f"verdicts: {result.appended} recorded ({counts}), {result.unchanged} unchanged -> {store_path}"
    )


@verdicts_group.command("export")
@store_required
@click.option("--out", "-o", "out_path", type=click.Path(dir_okay=False), required=True,
              help="CSV of the current verdicts (importable); the history goes beside it as "
              "<name>_history.csv.")  # fmt: skip
@domain_errors
def export_command(store_path: str, out_path: str) -> None:
    """Write the current verdicts (one row per narrative or theme) and their whole history."""
    from detector.pipeline.preflight import check_writable
    from detector.verdicts.exchange import export_file

    check_writable(Path(out_path).absolute().parent, "--out")  # before reading the store
    current, past, n = export_file(Path(store_path), Path(out_path))
    click.echo(f"{n} current verdicts -> {current}; history -> {past}")
