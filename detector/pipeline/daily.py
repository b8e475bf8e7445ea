"""The daily job: ingest a feed, embed what is new, cluster the windows it touches, score, report.

Idempotent and incremental: the run id is derived from the method and the input's content, so a
re-run replaces its own rows; embeddings come from the store's cache; windows sit on a fixed grid,
so the clusters earlier runs stored for the windows a run re-clusters (and for the window before
its first) name its narratives, and ids carry over (:mod:`detector.narratives.lineage`). A run on which no
cross-bloc narrative can form says why in the manifest's ``warnings``
(:mod:`detector.pipeline.run_warnings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.config import Config
from detector.embed.passages import PassageMatcher
from detector.faults import checkpoint
from detector.io import file_sha256
from detector.narratives.cluster import Window, WindowClusterer
from detector.narratives.lineage import Lineage
from detector.parallel import Mapper, serial_map
from detector.pipeline.archive import update_archive
from detector.pipeline.decoys import DecoyRuns, run_decoys
from detector.pipeline.engine import Engine, LocalEngine, make_engine
from detector.pipeline.manifest import environment
from detector.pipeline.preflight import check_store_writable, check_writable
from detector.pipeline.review import review_run
from detector.pipeline.run_warnings import run_warnings
from detector.pipeline.stages import Scope, Stages
from detector.pipeline.themes import ThemeRun, daily_themes
from detector.pipeline.watch import Watched, watch_run, write_run_watch
from detector.report.findings import Findings, assemble_findings, with_theme_ids
from detector.report.writer import write_reports, write_table
from detector.scoring.fdr import NullEstimate
from detector.sources.ingest import IngestResult
from detector.store.store import Store
from detector.watch.watchlist import load_watchlist

log = logging.getLogger(__name__)
MANIFEST_WARNINGS = 100  # input warnings listed in the manifest (all are counted)


@dataclass(frozen=True)
class RunSummary:
    run_id: str  # what one run did, as `detector run` prints it (the manifest has the rest)
    out_dir: str
    n_articles: int
    n_embedded: int
    n_flags: int
    seconds: float


def read_feeds(config: Config, inputs: list[str], engine: Engine | None = None) -> IngestResult:
    """The feeds' valid articles and rejections, read as ``[ingest]`` says."""
    return Stages.from_config(config).reader.read(inputs, (engine or LocalEngine()).map_files)


def engine_for(config: Config) -> Engine:
    """The engine ``[engine]`` names."""
    return make_engine(config.setting("engine", "kind"), **config.arguments("engine"))


def store_file(config: Config, out_dir: Path, store: str | Path | None = None) -> Path:
    """``store`` (``--store``), else ``[store] path``, else ``<out>/detector.duckdb``: the one rule
    every command finds its store by."""
    return Path(store or config.setting("store", "path") or out_dir / "detector.duckdb")


# Every article field a result depends on (title and text through content_hash): an edit to any
# of them is another input, hence another run id. Not source_file/source_row (where it was read).
RUN_ID_FIELDS = ("id", "outlet", "bloc", "language", "published_at", "url", "content_hash")


def run_id_for(method_hash: str, articles: pd.DataFrame) -> str:
    """``run-`` + a hash of the method and every field of every article that changes results."""
    digest = hashlib.sha256(method_hash.encode())
    stamps = articles["published_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for row in zip(*(stamps if f == "published_at" else articles[f] for f in RUN_ID_FIELDS), strict=True):
        digest.update(json.dumps([str(v) for v in row], ensure_ascii=False).encode() + b"\n")
    return f"run-{digest.hexdigest()[:12]}"


class Laps:
    """Seconds per stage of a run, in the order the stages ran (the manifest's ``timings_s``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.clock = time.perf_counter()

    def __call__(self, stage: str, reached: str = "") -> None:
        """``stage`` ends here; ``reached`` names the checkpoint (:mod:`detector.faults`) passed."""
        if reached:
            checkpoint(reached)
        now = time.perf_counter()
        self.timings[stage] = round(now - self.clock, 3)
        self.clock = now


def run_daily(
    config: Config, inputs: list[str], out_dir: Path, store: Path | None = None, engine: Engine | None = None
) -> RunSummary:
    """Run the whole pipeline on ``inputs`` and write reports into ``out_dir``, on ``engine``
    (default: the one ``[engine]`` names, closed at the end; a given engine stays open)."""
    if engine is None:
        engine = engine_for(config)
        try:
            return run_daily(config, inputs, out_dir, store, engine)
        finally:
            engine.close()
    lap, started = Laps(), datetime.now(UTC)
    store, stages = prepare_run(config, out_dir, store)
    feed = stages.reader.read(inputs, engine.map_files)
    lap("ingest", "ingested")
    if feed.articles.empty:
        raise_empty(feed)
    method = config.method_hash()
    run = RunFacts(run_id_for(method, feed.articles), method, started, feed)
    model_id = stages.embedding.model_id  # a model_path that is no model fails here, before a store exists
    with Store(store) as db:
        run.interrupted = db.start_run(run.run_id, method, model_id, started.replace(tzinfo=None))
        run.upserted = db.upsert_articles(feed.articles)
        lap("store", "stored")
        windows = stages.clusterer.windows(feed.articles["published_at"])
        scope, run.n_embedded = load_scope(stages, db, windows, engine)
        lap("embed", "embedded")
        clusters, lineage = cluster_windows(db, stages.clusterer, method, windows, scope, engine.map)
        db.replace_clusters(method, clusters, [w.start.replace(tzinfo=None) for w in windows])
        lap("cluster", "clustered")
        stages.scorer.fit(scope.articles, scope.vectors)
        decoy_runs = run_decoys(stages, scope, db, engine.map)
        lap("decoys")
        found, null = score_narratives(stages, scope, db, method, clusters, decoy_runs, engine.map)
        review = review_run(config, db, run.run_id, found, lineage)  # docs/review.md: analysts' verdicts
        found = review.findings
        lap("score")
        watched = None
        if stages.watchlist or review.tracked:  # docs/watchlists.md: watched narratives
            watched = watch_run(stages, scope, db, found.flags, found.members, review.tracked)
            found = replace(found, flags=watched.flags)
            lap("watch")
        themed = daily_themes(stages, db, windows, run.run_id)  # docs/method.md §6: shared themes
        if themed is not None:  # a flag inside a theme names it
            found = with_theme_ids(found, themed.report.members)
            lap("themes")
        manifest = run_manifest(
            config, stages, run, scope, windows, clusters, lineage, found, decoy_runs, null
        )
        manifest |= {"verdicts": review.summary, "themes": themed.summary if themed else {"enabled": False}}
        write_rejected(out_dir, feed)
        lap("report")
        manifest["timings_s"] = lap.timings
        record_run(out_dir, db, run.run_id, found, manifest, watched, themed)
        if stages.by_passage:  # article mode embeds no passages; search and track add them when asked
            update_archive(db, stages.splitter)  # after the run is recorded: a derived index
    total = round(sum(lap.timings.values()), 3)
    log.info("run %s: %d flags, %.1f s", run.run_id, len(found.flags), total)
    return RunSummary(run.run_id, str(out_dir), len(feed.articles), run.n_embedded, len(found.flags), total)


def prepare_run(config: Config, out_dir: Path, store: Path | None) -> tuple[Path, Stages]:
    """What can be refused before any work (an ``--out`` or store that cannot be written, a
    missing or broken watchlist), not after it; the run's store file and its stages."""
    path = store_file(config, out_dir, store)
    check_writable(out_dir, "--out")
    check_store_writable(path)
    stages = Stages.from_config(config)
    if stages.watchlist:
        load_watchlist(stages.watchlist)
    return path, stages


def record_run(
    out_dir: Path,
    db: Store,
    run_id: str,
    found: Findings,
    manifest: dict[str, Any],
    watched: Watched | None,
    themed: ThemeRun | None,
) -> None:
    """Write the run's reports (the watch reports first, so report.html can link to them), keep
    their rows in the store (so ``detector report --run`` can re-write them), record it finished."""
    write_run_watch(out_dir, watched, manifest)
    write_reports(
        out_dir, found.flags, found.members, manifest, pairs=found.pairs, outlets=found.outlets,
        themes=themed.report if themed is not None else None,
    )  # fmt: skip
    db.put_report_frames(run_id, vars(found))
    checkpoint("reported")
    db.finish_run(run_id, found.flags, manifest, datetime.now(UTC).replace(tzinfo=None))


@dataclass
class RunFacts:
    """What the manifest says of a run besides its results, filled in as the run goes."""

    run_id: str
    method: str
    started: datetime
    feed: IngestResult
    interrupted: list[str] = field(default_factory=list)
    upserted: dict[str, int] = field(default_factory=dict)
    n_embedded: int = 0


def load_scope(stages: Stages, db: Store, windows: list[Window], engine: Engine) -> tuple[Scope, int]:
    """The stored articles of every window the run touches, embedded (what the cache lacks) and,
    in passage mode, split into passages; with how many texts had to be embedded."""
    bounds = (windows[0].start.replace(tzinfo=None), windows[-1].end.replace(tzinfo=None))
    splitter = stages.splitter
    stages.guard.check(
        *db.scope_size(*bounds), splitter.max_chars if stages.by_passage else 0
    )  # before loading
    articles = db.articles_between(*bounds)
    embedding = stages.embedding
    texts = embedding.texts(articles)
    n_embedded = engine.embed(embedding, db, texts)
    vectors = embedding.cached_vectors(db, texts)
    if not stages.by_passage:
        return Scope(articles, vectors), n_embedded
    split = splitter.passages(articles)
    passage_texts = split["text"].tolist()
    n_embedded += engine.embed(embedding, db, passage_texts)
    passages = PassageMatcher(split, embedding.cached_vectors(db, passage_texts))
    return Scope(articles, vectors, passages), n_embedded


def run_manifest(
    config: Config,
    stages: Stages,
    run: RunFacts,
    scope: Scope,
    windows: list[Window],
    clusters: pd.DataFrame,
    lineage: Lineage,
    found: Findings,
    decoy_runs: DecoyRuns,
    null: dict[str, Any],
) -> dict[str, Any]:
    """The run's manifest (``manifest.json``; ``timings_s`` is added once the reports are due)."""
    feed = run.feed
    return {
        "run_id": run.run_id,
        "started_at": run.started.isoformat(),
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "config_source": config.source.as_dict(),
        "method_hash": run.method,
        "model_id": stages.embedding.model_id,
        "seed": config.run.seed,
        "inputs": [
            {"path": f, "sha256": file_sha256(f), **how}  # how: format, delimiter, encoding ...
            for f, how in zip(feed.files, feed.sources, strict=True)
        ],
        "input_warnings": feed.warnings.head(MANIFEST_WARNINGS).to_dict("records"),
        "interrupted_runs_superseded": run.interrupted,
        "counts": {
            **feed.counts(),
            "articles": run.upserted,
            "articles_in_scope": len(scope.articles),
            "embedded": run.n_embedded,
            "windows": len(windows),
            "cluster_rows": len(clusters),
            "narratives": int(clusters["narrative_id"].nunique()),
            "merges": len(lineage.merges),
            "splits": len(lineage.splits),
            "dropped": len(lineage.dropped),
            "flags": len(found.flags),
            "rows_warned": len(feed.warnings),
        },
        "decoys": decoy_runs.summary(),
        "null": null,
        "lineage": lineage.as_dict(),
        "warnings": run_warnings(feed.articles, scope.articles, windows, clusters),
        "environment": environment(),
    }


def write_rejected(out_dir: Path, feed: IngestResult) -> None:
    """``rejected.csv`` of the feed's rejected rows; none, when nothing was rejected."""
    if not feed.rejected.empty:
        write_table(feed.rejected, out_dir / "rejected.csv", list(feed.rejected.columns))
    else:  # a stale rejected.csv from an earlier run would be read as this run's
        for stale in ("rejected.csv", "rejected.parquet"):
            (out_dir / stale).unlink(missing_ok=True)


def raise_empty(feed: IngestResult) -> None:
    from detector.errors import InputError

    # Nothing is written for a run that stops here, so the message carries the first reason.
    first = f"; the first: {feed.rejected['reason'].iloc[0]}" if not feed.rejected.empty else ""
    raise InputError(
        ", ".join(feed.files), f"no valid rows ({len(feed.rejected)} rejected{first})",
        "fix the feed (with on_bad_row = 'error' the run stops at each problem in turn)",
    )  # fmt: skip


def cluster_windows(
    db: Store,
    clusterer: WindowClusterer,
    method: str,
    windows: list[Window],
    scope: Scope,
    mapper: Mapper = serial_map,
) -> tuple[pd.DataFrame, Lineage]:

    def stored_of(window: Window) -> pd.DataFrame:
        return db.clusters_of_window(method, window.start.replace(tzinfo=None))

    return clusterer.run(scope.articles, scope.vectors, windows, stored_of, scope.units(), mapper)


def score_narratives(
    stages: Stages,
    scope: Scope,
    db: Store,
    method: str,
    clusters: pd.DataFrame,
    decoy_runs: DecoyRuns,
    mapper: Mapper = serial_map,
) -> tuple[Findings, dict[str, Any]]:
    """Score every narrative this run touched, over all its stored members (earlier runs too),
    and flag those the decoys say are unlikely to be chance; with what the manifest says of it.

    The scope's control articles are the baseline for the shared-news check.
    """
    scorer = stages.scorer
    null: dict[str, Any] = {"target_fdr": scorer.target_fdr, "estimated": bool(decoy_runs.shifts)}
    members = db.narrative_members(method, sorted(clusters["narrative_id"].unique()))
    if members.empty:
        return Findings.empty(), null | null_summary(pd.DataFrame(), pd.DataFrame(), None)
    articles = members.drop_duplicates("id").sort_values(["published_at", "id"]).reset_index(drop=True)
    narrated = Scope(articles, stages.embedding.vectors(db, articles))
    narratives = narrated.narratives(members)
    candidates, pairs = scorer.score_all(
        narratives, articles, narrated.vectors, *scope.control(), scope.passages, mapper
    )
    flags, estimate = scorer.select(
        candidates,
        decoy_runs.candidates if decoy_runs.shifts else None,
        decoy_runs.real_opportunity,
        decoy_runs.decoy_opportunity,
    )
    null |= null_summary(candidates, flags, estimate)
    if flags.empty:
        return Findings.empty(), null
    pairs = pairs[pairs["narrative_id"].isin(set(flags["narrative_id"]))]
    findings = assemble_findings(
        flags, pairs, narratives, articles, narrated.vectors, members, stages.links,
        scope.passages,
    )  # fmt: skip
    return findings, null


def null_summary(
    candidates: pd.DataFrame, flags: pd.DataFrame, estimate: NullEstimate | None
) -> dict[str, Any]:
    """What the manifest says of the decoys' verdict: the candidates, the evidence cut the target
    FDR implied, and how many of the run's flags are expected to be chance (the plain estimate)."""
    summary: dict[str, Any] = {"candidates": len(candidates)}
    if estimate is None or flags.empty:
        return summary | {"evidence_threshold": None, "expected_false_flags": 0.0 if estimate else None}
    threshold = float(flags["evidence"].min())
    expected = float(estimate.expected_at(np.array([threshold]))[0])
    return summary | {
        "evidence_threshold": threshold, "expected_false_flags": round(expected, 3),
        "decoy_draws": round(estimate.draws, 3),
        "q_resolution": estimate.resolution(flags["q_value"].to_numpy()),
    }  # fmt: skip
