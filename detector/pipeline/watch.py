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

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageMatcher, PassageStage
from detector.sources.registry import OutletRegistry
from detector.store.store import Store
from detector.watch.output import write_track_reports
from detector.watch.track import HIT_COLUMNS, Filters, NarrativeTracker, TrackResult
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


def tracker_for(config: Config) -> NarrativeTracker:
    """The tracker ``[watch]`` describes, with ``[score]``'s permutation test and ``[run]``'s seed
    (the same null model as the discovered narratives)."""
    options = config.arguments("watch")
    del options["watchlist"]
    score = config.arguments("score")
    return NarrativeTracker(
        **options,
        permutations=score["permutations"],
        null_span_hours=score["null_span_hours"],
        random_state=config.run.seed,
    )


def watch_passages(config: Config, embedding: EmbeddingStage) -> PassageStage:
    """The ``[passages]`` splitter. Watched narratives are matched per passage even when the run
    clusters whole articles (``unit = "article"``): a paragraph of a transcript is what must hit."""
    options = config.arguments("passages")
    del options["unit"]
    return PassageStage(**options, embedding=embedding)


def watch_run(
    config: Config,
    db: Store,
    embedding: EmbeddingStage,
    registry: OutletRegistry,
    articles: pd.DataFrame,
    flags: pd.DataFrame,
    members: pd.DataFrame,
    run_passages: PassageMatcher | None = None,
    confirmed: tuple[WatchedNarrative, ...] = (),
) -> Watched:
    """Track ``[watch] watchlist`` over the run's ``articles`` (also the calibration background).

    ``run_passages`` are the passages the run split and embedded from the same ``articles`` and
    ``[passages]`` settings; only a run in article mode (``None``) has them split here.
    ``confirmed``: narratives analysts confirmed (docs/review.md), watched beside the watchlist's."""
    path = config.arguments("watch")["watchlist"]
    watchlist = load_watchlist(path) if path else Watchlist((), "")
    named = {n.id for n in watchlist.narratives}
    extra = tuple(n for n in confirmed if n.id not in named)
    watchlist = Watchlist((*watchlist.narratives, *extra), watchlist.path)
    scope = articles.reset_index(drop=True).assign(channel_type=articles["outlet"].map(registry.channel_type))
    if run_passages is None:
        stage = watch_passages(config, embedding)
        passages = stage.passages(scope)
        units = Units(scope, passages, stage.vectors(db, passages))
    else:
        units = Units(scope, run_passages.passages, run_passages.vectors)
    result = tracker_for(config).track_units(db, embedding, watchlist, units, Filters())
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
