"""``detector themes``: the shared themes of a store's articles over a period, on their own
(the daily run does the same step over its rolling period; docs/method.md "Themes")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from detector.cli.options import config_option, domain_errors, out_option, store_option
from detector.cli.review import run_store


def parse_day(value: str, option: str) -> datetime:
    """A ``YYYY-MM-DD`` (or ISO-8601) UTC instant as a naive datetime, or a one-line error."""
    from detector.errors import ConfigError

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date. Fix: write it as YYYY-MM-DD (UTC).") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@click.command("themes")
@store_option
@click.option("--since", required=True, help="First day of the period (YYYY-MM-DD, UTC, inclusive).")
@click.option("--until", required=True, help="Day after the period (YYYY-MM-DD, UTC, exclusive).")
@out_option("Folder for themes.csv, theme_members.csv, theme_daily.csv and manifest.json.", required=True)
@config_option
@domain_errors
def themes_command(store_path: str | None, since: str, until: str, out_dir: str, config_path: str) -> None:
    """Find the themes both blocs carry in the store's articles of [--since, --until): their
    keywords per language, members, timing per bloc and q-values. The store's runs are not
    changed; theme ids continue those of its latest run with themes."""
    from detector.config import load_config
    from detector.errors import NotFoundError
    from detector.pipeline.preflight import check_writable
    from detector.pipeline.themes_command import themes_between

    store = run_store(config_path, store_path)
    if not store.exists():
        raise NotFoundError(
            f"store {store} does not exist. Fix: pass the store `detector run` wrote (--store)."
        )
    check_writable(Path(out_dir), "--out")
    window = parse_day(since, "--since"), parse_day(until, "--until")
    found = themes_between(load_config(config_path), store, *window, Path(out_dir))
    summary = found.summary
    note = f" ({summary['null_note']})" if summary.get("null_note") else ""
    click.echo(f"{summary['themes']} themes, {summary['flagged']} flagged{note} -> {out_dir}")
