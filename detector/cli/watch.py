"""``detector track`` and ``detector search``: follow a named narrative across blocs and languages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd

from detector.cli.options import (
    DEFAULT_OUT,
    config_option,
    domain_errors,
    load_cli_config,
    out_option,
    store_option,
)
from detector.errors import ConfigError, NotFoundError
from detector.sources.registry import CHANNEL_TYPES, UNKNOWN_CHANNEL

if TYPE_CHECKING:
    from detector.config import Config
    from detector.store.store import Store
    from detector.watch import Filters
filter_options = [
    click.option(
        "--since", default=None, help="Only articles published on or after this UTC date (YYYY-MM-DD)."),
    click.option("--until", default=None, help="Only articles published before this UTC date (YYYY-MM-DD)."),
    click.option("--bloc", "blocs", multiple=True, type=click.Choice(["cn", "ru", "control"]),
                 help="Report only hits of this bloc (repeat for several)."),
    click.option("--channel-type", "channel_types", multiple=True,
                 type=click.Choice([*CHANNEL_TYPES, UNKNOWN_CHANNEL]),
                 help="Report only hits of this channel type (repeat for several)."),
]  # fmt: skip


def with_filters(func: Any) -> Any:
    for option in reversed(filter_options):
        func = option(func)
    return func


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date. Fix: write YYYY-MM-DD (UTC).") from None
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    when: datetime = stamp.to_pydatetime().replace(tzinfo=None)
    return when


def check_scope(db: Store, filters: Filters) -> None:
    """Refuse a scope without articles (or without any of the asked blocs) before anything is
    embedded or scored: one line naming the scope and what the store holds."""
    from detector.watch.units import FAR_FUTURE, FAR_PAST

    since, until = filters.since, filters.until
    if since is not None and until is not None and since >= until:
        raise ConfigError(
            f"--since {since:%Y-%m-%d} is not before --until {until:%Y-%m-%d}: the scope is empty. "
            "Fix: swap them, or leave one out."
        )
    scope = db.bloc_counts(since or FAR_PAST, until or FAR_FUTURE)
    span = f"from {since:%Y-%m-%d}" if since else ""
    span += f"{' ' if span else ''}before {until:%Y-%m-%d}" if until else ""
    if not scope:
        held = sum(db.bloc_counts(FAR_PAST, FAR_FUTURE).values())
        raise NotFoundError(
            f"store {db.path} holds no article published {span or 'at all'} ({held} in all). Fix: "
            + (
                "widen or drop --since/--until."
                if held
                else "load feeds first (`detector run` or `detector ingest`)."
            )
        )
    if filters.blocs and not set(filters.blocs) & set(scope):
        found = ", ".join(f"{n} {bloc}" for bloc, n in scope.items())
        raise NotFoundError(
            f"store {db.path} holds no article of bloc {'/'.join(filters.blocs)}{' ' + span if span else ''} "
            f"(it holds {found}). Fix: drop --bloc or pick one of those blocs, or load that bloc's feeds."
        )


def parts(config: Config) -> tuple[Any, Any, Any]:
    """The passage stage, outlet registry and tracker ``config`` describes."""
    from detector.pipeline.stages import Stages

    stages = Stages.from_config(config)
    return stages.splitter, stages.registry, stages.tracker


def existing_store(config: Config, store_path: str | None) -> Path:
    """``--store``, else the store ``detector run`` wrote with this config and the default --out."""
    from detector.pipeline.daily import store_file
    from detector.store.reader import missing_store

    path = store_file(config, Path(DEFAULT_OUT), store_path)
    if not path.is_file():
        raise NotFoundError(missing_store(path))
    return path


@click.command("track")
@config_option
@click.option("--watchlist", "-w", "watchlist_path", type=click.Path(dir_okay=False), required=True,
              help="Watchlist TOML (docs/watchlists.md; e.g. configs/watchlist.toml).")  # fmt: skip
@store_option
@out_option("Folder for watch_hits.csv, watch_summary.csv, watch_daily.csv, watch.html.", required=True)
@with_filters
@click.option("--alpha", type=float, default=None, help="p-value cut of a hit (overrides [watch] alpha).")
@domain_errors
def track_command(
    config_path: str | None,
    watchlist_path: str,
    store_path: str | None,
    out_dir: str,
    since: str | None,
    until: str | None,
    blocs: tuple[str, ...],
    channel_types: tuple[str, ...],
    alpha: float | None,
) -> None:
    """Track watched narratives over a store: every article and passage is scored against every
    narrative's statements and calibrated against the store's own background; per narrative the
    hits with their matching passage, first appearance per bloc, daily counts and the cn-ru
    lead/lag with permutation tests. --since/--until set the scope (and the background);
    --bloc/--channel-type only filter the reported hits."""
    from detector.pipeline.manifest import environment
    from detector.pipeline.preflight import check_writable
    from detector.store.store import Store
    from detector.watch import Filters, load_watchlist
    from detector.watch.output import write_track_reports

    config = load_cli_config(config_path)
    if alpha is not None:
        config = config.override("watch", alpha=alpha)
    watchlist = load_watchlist(watchlist_path)
    filters = Filters(_date(since, "--since"), _date(until, "--until"), blocs, channel_types)
    check_writable(Path(out_dir), "--out")  # before any work, not at the first report
    store = existing_store(config, store_path)
    stage, registry, tracker = parts(config)
    with Store(store) as db:
        check_scope(db, filters)
        result = tracker.track(db, stage, registry, watchlist, filters)
    manifest = {
        "command": "track",
        "started_at": datetime.now(UTC).isoformat(),
        "watchlist": str(watchlist_path),
        "store": str(store),
        "filters": {"since": since, "until": until, "bloc": list(blocs), "channel_type": list(channel_types)},
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "config_source": config.source.as_dict(),
        "model_id": stage.embedding.model_id,
        "seed": config.run.seed,
        "environment": environment(),
    }
    paths = write_track_reports(Path(out_dir), result, watchlist, manifest)
    click.echo(
        f"{len(result.hits)} hits of {len(watchlist)} narratives over "
        f"{result.facts['articles_in_scope']} articles -> {paths['hits']}"
    )


@click.command("search")
@click.argument("text")
@config_option
@store_option
@with_filters
@click.option(
    "--top", "-k", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Matches to show."
)
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Also write them to this CSV."
)
@domain_errors
def search_command(
    text: str,
    config_path: str | None,
    store_path: str | None,
    since: str | None,
    until: str | None,
    blocs: tuple[str, ...],
    channel_types: tuple[str, ...],
    top: int,
    csv_path: str | None,
) -> None:
    """The articles of the store closest to TEXT (any language; matches cross languages), with
    time, outlet, bloc, cosine, a calibrated p-value and the matching passage."""
    from detector.cli.options import print_table
    from detector.pipeline.preflight import check_writable
    from detector.report.writer import write_csv
    from detector.store.store import Store
    from detector.times import iso_utc
    from detector.watch import Filters, search
    from detector.watch.search import SEARCH_COLUMNS

    if not text.strip():
        raise ConfigError(
            'search text is empty. Fix: pass a statement, e.g. detector search "US biolabs in Ukraine".'
        )
    config = load_cli_config(config_path)
    filters = Filters(_date(since, "--since"), _date(until, "--until"), blocs, channel_types)
    if csv_path:
        check_writable(Path(csv_path).absolute().parent, "--csv")
    store = existing_store(config, store_path)
    stage, registry, tracker = parts(config)
    with Store(store) as db:
        check_scope(db, filters)
        found = search(db, stage, registry, text, filters, top, tracker)
    if csv_path:
        write_csv(found, Path(csv_path), SEARCH_COLUMNS)
    shown = found.assign(
        p_value=found["p_value"].map(lambda p: f"{p:.2g}"),
        published_at=found["published_at"].map(iso_utc),
        title=found["title"].fillna("").str.slice(0, 60),
        passage=found["passage"].str.replace(r"\s+", " ", regex=True).str.slice(0, 80),
    )[
        [
            "rank",
            "p_value",
            "similarity",
            "published_at",
            "outlet",
            "bloc",
            "language",
            "id",
            "title",
            "passage",
        ]
    ]
    print_table(f"Closest to: {text}", shown)
