"""Event level: run the real daily pipeline on a feed with injected events and score its flags.

The pipeline is driven only through ``detector.pipeline.daily.run_daily`` and read back only
through its ``members.parquet`` (the exact twin of ``members.csv``: feed ids verbatim, where the
CSV guards cells against spreadsheet formulas), so this keeps working while the method inside
changes.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from detector.config import Config
from detector.evaluate.data import load_feed_events
from detector.evaluate.metrics import EventScores, Narrative, score_events
from detector.pipeline.daily import RunSummary, run_daily

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventRun:
    """One feed through the pipeline: its scores against the truth, and the run's own summary."""

    feed: str
    scores: EventScores
    run: RunSummary


def feed_store(store: Path, feed: Path) -> Path:
    """The store file for one feed, beside ``store``.

    The pipeline scores every stored article inside the feed's time span, so two feeds covering
    the same days (e.g. one background with different injections) must not share a store; each
    gets its own, keyed by the feed's content, and keeps its embedding cache across runs.
    """
    digest = hashlib.sha256(feed.read_bytes()).hexdigest()[:8]
    return store.with_name(f"{store.stem}-{feed.stem}-{digest}{store.suffix or '.duckdb'}")


def read_narratives(members_file: Path) -> list[Narrative]:
    """Flagged narratives from a ``members.parquet`` (``narrative_id, id, bloc, published_at`` ...)."""
    if not members_file.is_file():
        return []
    members = pd.read_parquet(members_file, columns=["narrative_id", "id", "bloc", "published_at"])
    if members.empty:
        return []
    narratives = []
    for nid, group in members.groupby("narrative_id", sort=True):
        # Leader = bloc of the earliest cn-or-ru member; control articles say nothing about it.
        blocs = group[group["bloc"].isin(["cn", "ru"])].sort_values(["published_at", "id"])
        first = str(blocs["bloc"].iloc[0]) if len(blocs) else ""
        narratives.append(Narrative(str(nid), frozenset(group["id"]), first))
    return narratives


def evaluate_feed(
    config: Config,
    feed_path: Path,
    truth_path: Path,
    store: Path,
    out_dir: Path | None = None,
) -> EventRun:
    """Run ``run_daily`` on ``feed_path`` (store beside ``store``) and score it against the truth."""
    feed, events = load_feed_events(feed_path, truth_path)
    with tempfile.TemporaryDirectory(prefix="eval-") as tmp:
        out = out_dir or Path(tmp)
        summary = run_daily(config, [str(feed_path)], out, feed_store(store, feed_path))
        narratives = read_narratives(out / "members.parquet")
    scores = score_events(events, narratives, len(feed))
    log.info(
        "%s: recall %s, %.2f false flags / 1k, %.1f s",
        feed_path.name, scores.recall_by_kind, scores.false_flags_per_1000, summary.seconds,
    )  # fmt: skip
    return EventRun(str(feed_path), scores, summary)


def event_row(run: EventRun) -> dict[str, object]:
    """One flat table row of an :class:`EventRun`."""
    s = run.scores
    row: dict[str, object] = {"feed": Path(run.feed).name, "articles": run.run.n_articles}
    for kind, recall in s.recall_by_kind.items():
        row[f"recall_{kind}"] = recall
        row[f"found_{kind}"] = f"{s.found_by_kind[kind]}/{s.events_by_kind[kind]}"
    row |= {
        "mean_recall": s.mean_recall,
        "leader_accuracy": s.leader_accuracy,
        "flagged": s.n_flagged,
        "sweeps": s.n_sweeps,
        "false_flags": s.n_false_flags,
        "false_flags_per_1k": s.false_flags_per_1000,
        "seconds": run.run.seconds,
    }
    return row
