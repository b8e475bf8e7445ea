"""Run the four evaluation levels on the labelled development data and collect their tables."""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.evaluate.clusters import cluster_table
from detector.evaluate.data import (
    DataFiles,
    load_narratives,
    load_parallel,
    load_semeval,
    sample_narrative_pairs,
)
from detector.evaluate.events import EventRun, evaluate_feed, event_row, feed_store
from detector.evaluate.pairs import PairSet, embed_frame, pair_table, score_pairs
from detector.evaluate.themes import ThemeRun, score_themes
from detector.pipeline.daily import run_daily
from detector.sources.registry import language_pair
from detector.store.store import Store

log = logging.getLogger(__name__)

LEVELS = ("pair", "cluster", "event", "theme")


@dataclass
class Evaluation:
    """Tables per level (name -> DataFrame), the scored pairs (for PR curves) and run facts."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    pair_sets: list[PairSet] = field(default_factory=list)
    event_runs: list[EventRun] = field(default_factory=list)
    theme_runs: list[ThemeRun] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": {name: _records(table) for name, table in self.tables.items()},
            "seconds": self.seconds,
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    # JSON has no NaN: undefined metrics (e.g. AUC with one class) become null.
    rows = table.to_dict(orient="records")
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()} for r in rows]


def evaluate(
    config: Config,
    files: DataFiles,
    store: Path,
    levels: tuple[str, ...] = LEVELS,
    n_pairs: int = 200,
    seed: int = 0,
) -> Evaluation:
    """Evaluate ``config`` on ``files``.

    ``store`` caches embeddings of the pair and cluster levels; each event feed gets its own store
    beside it (see :func:`detector.evaluate.events.feed_store`). ``n_pairs`` caps each kind of
    file-E pair per language pair.
    """
    result = Evaluation()
    if {"pair", "cluster"} & set(levels) and (files.narratives or files.semeval_pairs or files.parallel):
        clock = time.perf_counter()
        stage = EmbeddingStage(**config.arguments("embed"))
        with Store(store) as db:
            if files.narratives is not None:
                narratives = load_narratives(files.narratives)
                vectors = embed_frame(stage, db, narratives)
                if "pair" in levels:
                    pairs = sample_narrative_pairs(narratives, n_pairs, seed)
                    scored = score_pairs(config, "E", pairs, vectors[pairs["i"]], vectors[pairs["j"]])
                    result.pair_sets.append(scored)
                    result.tables["pairs_E_claim"] = pair_table(scored, "claim")
                    result.tables["pairs_E_translation"] = pair_table(scored, "translation")
                if "cluster" in levels:
                    result.tables["clusters_E"] = cluster_table(config, narratives, vectors, seed)
            if files.semeval_pairs is not None and "pair" in levels:
                semeval_level(config, stage, db, files.semeval_pairs, result)
            if files.parallel is not None and "pair" in levels:
                parallel = load_parallel(files.parallel)
                p_vectors = embed_frame(stage, db, parallel)
                # Same document, other sentence: the same story in other words ("story").
                p_pairs = sample_narrative_pairs(parallel, n_pairs, seed).replace(
                    {"kind": {"claim": "story"}}
                )
                scored = score_pairs(
                    config, "parallel", p_pairs, p_vectors[p_pairs["i"]], p_vectors[p_pairs["j"]]
                )
                result.pair_sets.append(scored)
                result.tables["pairs_parallel_translation"] = pair_table(scored, "translation")
                result.tables["pairs_parallel_story"] = pair_table(scored, "story")
        result.seconds["pair+cluster"] = round(time.perf_counter() - clock, 1)
    if {"event", "theme"} & set(levels) and files.feeds:
        feed_levels(config, files, store, levels, result)
    return result


def semeval_level(config: Config, stage: EmbeddingStage, db: Store, path: Path, result: Evaluation) -> None:
    """Pair level on file G (SemEval-2022 Task 8): ``Overall <= 2`` similar against ``>= 3``."""
    g_pairs, articles = load_semeval(path)
    g_vectors = embed_frame(stage, db, articles)
    position = pd.Series(range(len(articles)), index=articles["id"])
    g_pairs = g_pairs.assign(
        language_pair=[language_pair(a, b) for a, b in zip(g_pairs["lang1"], g_pairs["lang2"], strict=True)],
        kind=g_pairs["label"].map({1: "similar", 0: "negative"}),
    )
    scored = score_pairs(
        config,
        "G",
        g_pairs[["language_pair", "kind", "label"]],
        g_vectors[position.loc[g_pairs["id1"]].to_numpy()],
        g_vectors[position.loc[g_pairs["id2"]].to_numpy()],
    )
    result.pair_sets.append(scored)
    result.tables["pairs_G"] = pair_table(scored)


def feed_levels(
    config: Config, files: DataFiles, store: Path, levels: tuple[str, ...], result: Evaluation
) -> None:
    """The event and theme levels: one pipeline run per event feed, its tables into ``result``."""
    clock = time.perf_counter()
    for feed, truth in files.feeds:
        run_feed(config, feed, truth, store, levels, result)
    if "event" in levels:
        result.tables["events"] = pd.DataFrame([event_row(r) for r in result.event_runs])
    if "theme" in levels:
        result.tables["themes"] = pd.DataFrame([r.row for r in result.theme_runs])
        campaigns = [r.campaigns for r in result.theme_runs if not r.campaigns.empty]
        if campaigns:
            result.tables["theme_campaigns"] = pd.concat(campaigns, ignore_index=True)
    done = "+".join(level for level in ("event", "theme") if level in levels)
    result.seconds[done] = round(time.perf_counter() - clock, 1)


def run_feed(
    config: Config, feed: Path, truth: Path, store: Path, levels: tuple[str, ...], result: Evaluation
) -> None:
    """One run of the pipeline on ``feed``, scored at the event and/or theme level (one run serves
    both: the theme stage is part of the daily run)."""
    with tempfile.TemporaryDirectory(prefix="eval-") as tmp:
        out = Path(tmp)
        if "event" in levels:
            event_run = evaluate_feed(config, feed, truth, store, out)
            result.event_runs.append(event_run)
            summary = event_run.run
        else:
            summary = run_daily(config, [str(feed)], out, feed_store(store, feed))
        if "theme" in levels:
            result.theme_runs.append(score_themes(out, feed, truth, summary))
