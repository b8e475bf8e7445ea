"""The watchlist inside the daily run: ``[watch] watchlist = "…"`` tracks its narratives over the
run's articles, writes the watch reports beside flags.csv and marks flags that are also watched.

A discovered flag is *watched* when at least one of its member articles hits a watched narrative;
``flags.csv`` then names those narratives in its ``watched`` column, and ``watch_hits.csv`` names
the flags each hit belongs to in ``discovered``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from detector.pipeline.stages import Scope, Stages
from detector.store.store import Store
from detector.watch.output import write_track_reports
from detector.watch.track import HIT_COLUMNS, Filters, TrackResult
from detector.watch.units import Units
from detector.watch.watchlist import WatchedNarrative, Watchlist, load_watchlist

RUN_HIT_COLUMNS = [*HIT_COLUMNS, "discovered"]
OUTPUT_NAMES = ("watch_hits.csv", "watch_summary.csv", "watch_daily.csv", "watch.html", "watch_manifest.json")


@dataclass(frozen=True)
class Watched:
    """The run's watch results and its flags with the ``watched`` column."""

    result: TrackResult
    watchlist: Watchlist
    flags: pd.DataFrame


def watch_run(
    stages: Stages,
    scope: Scope,
    db: Store,
    flags: pd.DataFrame,
    members: pd.DataFrame,
    confirmed: tuple[WatchedNarrative, ...] = (),
) -> Watched:
    """Track ``[watch] watchlist`` over the scope's articles (also the calibration background).

    The scope's passages are those the run split and embedded with the same ``[passages]``
    settings; only a run in article mode (none) has them split here."""
    # confirmed: narratives analysts confirmed (docs/review.md), watched beside the watchlist's.
    watchlist = load_watchlist(stages.watchlist) if stages.watchlist else Watchlist((), "")
    named = {n.id for n in watchlist.narratives}
    extra = tuple(n for n in confirmed if n.id not in named)
    watchlist = Watchlist((*watchlist.narratives, *extra), watchlist.path)
    articles = scope.articles.reset_index(drop=True)
    articles = articles.assign(channel_type=articles["outlet"].map(stages.registry.channel_type))
    if scope.passages is None:
        split = stages.splitter.passages(articles)
        units = Units(articles, split, stages.splitter.vectors(db, split))
    else:
        units = Units(articles, scope.passages.passages, scope.passages.vectors)
    result = stages.tracker.track_units(db, stages.embedding, watchlist, units, Filters())
    hits = result.hits
    if not members.empty and not hits.empty:
        flagged = members.groupby("id")["narrative_id"].agg(lambda s: "; ".join(sorted(set(map(str, s)))))
        hits = hits.assign(discovered=[flagged.get(i, "") for i in hits["id"]])
        pairs = members[["narrative_id", "id"]].merge(hits[["id", "watch_id"]], on="id")
        watched = pairs.groupby("narrative_id")["watch_id"].agg(lambda s: "; ".join(sorted(set(s))))
        flags = flags.assign(watched=[watched.get(n, "") for n in flags["narrative_id"]])
    else:
        hits = hits.assign(discovered="")
        flags = flags.assign(watched="") if not flags.empty else flags
    result = TrackResult(hits, result.summary, result.daily, result.facts)
    return Watched(result, watchlist, flags)


def write_run_watch(out_dir: Path, watched: Watched | None, manifest: dict[str, Any]) -> None:
    """Write the run's watch reports, or remove stale ones when the run watches nothing."""
    if watched is None:
        for name in OUTPUT_NAMES:
            (out_dir / name).unlink(missing_ok=True)
        return
    facts = {
        "run_id": manifest["run_id"],
        "watchlist": str(watched.watchlist.path),
        "store": "",
        "command": "run",
    }
    write_track_reports(out_dir, watched.result, watched.watchlist, {**manifest, **facts}, RUN_HIT_COLUMNS)
