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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageMatcher, PassageStage
from detector.faults import checkpoint
from detector.index import CrossBlocSearcher, VectorIndex
from detector.io import file_sha256
from detector.narratives.cluster import Window, WindowClusterer, iter_narratives
from detector.narratives.lineage import Lineage
from detector.parallel import Mapper, serial_map
from detector.pipeline.decoys import DecoyResult, run_decoys
from detector.pipeline.engine import Engine, LocalEngine, make_engine
from detector.pipeline.limits import MemoryGuard
from detector.pipeline.manifest import environment
from detector.pipeline.preflight import check_store_writable, check_writable
from detector.pipeline.run_warnings import run_warnings
from detector.pipeline.themes import daily_themes
from detector.pipeline.watch import watch_run, write_run_watch
from detector.report.findings import Findings, assemble_findings, with_theme_ids
from detector.report.writer import write_reports, write_table
from detector.scoring.fdr import NullEstimate
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader, IngestResult
from detector.sources.registry import OutletRegistry
from detector.store.store import Store

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


def load_registry(config: Config) -> OutletRegistry:
    return OutletRegistry.from_toml(Path(config.arguments("ingest")["registry"]))


def read_feeds(
    config: Config, inputs: list[str], engine: Engine | None = None, registry: OutletRegistry | None = None
) -> IngestResult:
    """The feeds' valid articles and rejections (``registry``: the run's, else read from ``[ingest]``)."""
    options = config.arguments("ingest")
    del options["registry"]
    reader = FeedReader(registry or load_registry(config), **options)
    return reader.read(inputs, (engine or LocalEngine()).map_files)


def passage_stage(config: Config, embedding: EmbeddingStage) -> PassageStage | None:
    """The passage stage, or ``None`` when ``[passages] unit = "article"`` (article vectors only):
    the one place that switch is read."""
    options = config.arguments("passages")
    if options.pop("unit") == "article":
        return None
    return PassageStage(**options, embedding=embedding)


def engine_for(config: Config) -> Engine:
    """The engine ``[engine]`` names."""
    return make_engine(**config.arguments("engine"))


def store_file(config: Config, out_dir: Path, store: str | Path | None = None) -> Path:
    """``store`` (``--store``), else ``[store] path``, else ``<out>/detector.duckdb``: the one rule
    every command finds its store by."""
    return Path(store or config.arguments("store")["path"] or out_dir / "detector.duckdb")


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
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    started = datetime.now(UTC)

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    store = store_file(config, out_dir, store)
    check_writable(out_dir, "--out")  # before any work: not after it, at the first report
    check_store_writable(store)
    registry = load_registry(config)  # read once: the reader and the link classifier share it
    feed = read_feeds(config, inputs, engine, registry)
    checkpoint("ingested")
    lap("ingest")
    if feed.articles.empty:
        raise_empty(feed)
    embedding = EmbeddingStage(**config.arguments("embed"))
    stage = passage_stage(config, embedding)
    clusterer = WindowClusterer(
        **config.arguments("cluster"),
        random_state=config.run.seed,
        searcher=CrossBlocSearcher(VectorIndex(**config.arguments("index"))),
    )
    scorer = SyncScorer(**config.arguments("score"), random_state=config.run.seed)
    links = LinkClassifier(registry, **config.arguments("links"))
    guard = MemoryGuard(**config.arguments("limits"))
    method = config.method_hash()
    run_id = run_id_for(method, feed.articles)
    model_id = embedding.model_id  # a model_path that is no model fails here, before a store exists
    with Store(store) as db:
        interrupted = db.start_run(run_id, method, model_id, started.replace(tzinfo=None))
        upserted = db.upsert_articles(feed.articles)
        checkpoint("stored")
        lap("store")
        windows = clusterer.windows(feed.articles["published_at"])
        scope = (windows[0].start.replace(tzinfo=None), windows[-1].end.replace(tzinfo=None))
        passage_chars = stage.max_chars if stage is not None else 0
        guard.check(*db.scope_size(*scope), passage_chars)  # before anything large is loaded
        articles = db.articles_between(*scope)
        texts = embedding.texts(articles)
        n_embedded = engine.embed(embedding, db, texts)
        vectors = embedding.cached_vectors(db, texts)
        matcher = None
        if stage is not None:
            passages = stage.passages(articles)
            passage_texts = passages["text"].tolist()
            n_embedded += engine.embed(embedding, db, passage_texts)
            matcher = PassageMatcher(passages, embedding.cached_vectors(db, passage_texts))
        checkpoint("embedded")
        lap("embed")
        clusters, lineage = cluster_windows(
            db, clusterer, method, windows, articles, vectors, matcher, engine.map
        )
        db.replace_clusters(method, clusters, [w.start.replace(tzinfo=None) for w in windows])
        checkpoint("clustered")
        lap("cluster")
        scorer.fit(articles, vectors)
        decoys = run_decoys(
            db,
            clusterer,
            scorer,
            embedding,
            stage,
            articles,
            vectors,
            matcher,
            links.republication_similarity,
            engine.map,
        )
        lap("decoys")
        found, null = score_narratives(
            db, scorer, links, embedding, method, clusters, articles, vectors, decoys, matcher, engine.map
        )
        lap("score")
        watched = None
        if config.watch.watchlist:  # docs/watchlists.md: watched narratives beside the discovered ones
            watched = watch_run(
                config, db, embedding, links.registry, articles, found.flags, found.members, matcher
            )
            found = replace(found, flags=watched.flags)
            lap("watch")
        themed = daily_themes(config, db, embedding, stage, scope, run_id)
        if themed is not None:  # docs/method.md "Themes"; a flag inside a theme names it
            found = with_theme_ids(found, themed.report.members)
            lap("themes")
        manifest = {
            "run_id": run_id,
            "started_at": started.isoformat(),
            "config": config.to_dict(),
            "config_hash": config.config_hash(),
            "method_hash": method,
            "model_id": embedding.model_id,
            "seed": config.run.seed,
            "inputs": [
                {"path": f, "sha256": file_sha256(f), **how}  # how: format, delimiter, encoding ...
                for f, how in zip(feed.files, feed.sources, strict=True)
            ],
            "input_warnings": feed.warnings.head(MANIFEST_WARNINGS).to_dict("records"),
            "interrupted_runs_superseded": interrupted,
            "counts": {
                **feed.counts(),
                "articles": upserted,
                "articles_in_scope": len(articles),
                "embedded": n_embedded,
                "windows": len(windows),
                "cluster_rows": len(clusters),
                "narratives": int(clusters["narrative_id"].nunique()),
                "merges": len(lineage.merges),
                "splits": len(lineage.splits),
                "dropped": len(lineage.dropped),
                "flags": len(found.flags),
                "rows_warned": len(feed.warnings),
            },
            "decoys": decoys.summary(),
            "null": null,
            "lineage": lineage.as_dict(),
            "themes": themed.summary if themed is not None else {"enabled": False},
            "warnings": run_warnings(feed.articles, articles, windows, clusters),
            "environment": environment(),
        }
        if not feed.rejected.empty:
            write_table(feed.rejected, out_dir / "rejected.csv", list(feed.rejected.columns))
        else:  # a stale rejected.csv from an earlier run would be read as this run's
            for stale in ("rejected.csv", "rejected.parquet"):
                (out_dir / stale).unlink(missing_ok=True)
        lap("report")
        manifest["timings_s"] = timings
        write_run_watch(out_dir, watched, manifest)  # first, so report.html can link to them
        write_reports(
            out_dir, found.flags, found.members, manifest, pairs=found.pairs, outlets=found.outlets,
            themes=themed.report if themed is not None else None,
        )  # fmt: skip
        db.put_report_frames(run_id, vars(found))  # so `detector report --run` can re-write them
        checkpoint("reported")
        db.finish_run(run_id, found.flags, manifest, datetime.now(UTC).replace(tzinfo=None))
    total = round(sum(timings.values()), 3)
    log.info("run %s: %d flags, %.1f s", run_id, len(found.flags), total)
    return RunSummary(run_id, str(out_dir), len(feed.articles), n_embedded, len(found.flags), total)


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
    articles: pd.DataFrame,
    vectors: np.ndarray,
    matcher: PassageMatcher | None = None,
    mapper: Mapper = serial_map,
) -> tuple[pd.DataFrame, Lineage]:

    def stored_of(window: Window) -> pd.DataFrame:
        return db.clusters_of_window(method, window.start.replace(tzinfo=None))

    units = None if matcher is None else (matcher.vectors, matcher.passages["article_pos"].to_numpy())
    return clusterer.run(articles, vectors, windows, stored_of, units, mapper)


def score_narratives(
    db: Store,
    scorer: SyncScorer,
    links: LinkClassifier,
    embedding: EmbeddingStage,
    method: str,
    clusters: pd.DataFrame,
    scope: pd.DataFrame,
    scope_vectors: np.ndarray,
    decoys: DecoyResult,
    matcher: PassageMatcher | None = None,
    mapper: Mapper = serial_map,
) -> tuple[Findings, dict[str, Any]]:
    """Score every narrative this run touched, over all its stored members (earlier runs too),
    and flag those the decoys say are unlikely to be chance; with what the manifest says of it.

    ``scope`` (with ``scope_vectors``) are the run's articles; its control articles are the
    baseline for the shared-news check.
    """
    null: dict[str, Any] = {"target_fdr": scorer.target_fdr, "estimated": bool(decoys.shifts)}
    touched = sorted(clusters["narrative_id"].unique())
    members = db.narrative_members(method, touched)
    if members.empty:
        return Findings.empty(), null | null_summary(pd.DataFrame(), pd.DataFrame(), None)
    articles = members.drop_duplicates("id").sort_values(["published_at", "id"]).reset_index(drop=True)
    vectors = embedding.vectors(db, articles)
    position = pd.Series(np.arange(len(articles)), index=articles["id"])
    narratives = [
        (nid, position.loc[ids].tolist())
        for nid, ids in iter_narratives(members[["narrative_id", "article_id"]])
    ]
    is_control = (scope["bloc"] == "control").to_numpy()
    candidates, pairs = scorer.score_all(
        narratives,
        articles,
        vectors,
        scope[is_control].reset_index(drop=True),
        scope_vectors[is_control],
        matcher,
        mapper,
    )
    flags, estimate = scorer.select(
        candidates,
        decoys.candidates if decoys.shifts else None,
        decoys.real_opportunity,
        decoys.decoy_opportunity,
    )
    null |= null_summary(candidates, flags, estimate)
    if flags.empty:
        return Findings.empty(), null
    pairs = pairs[pairs["narrative_id"].isin(set(flags["narrative_id"]))]
    findings = assemble_findings(
        flags, pairs, narratives, articles, vectors, members, links, passages=matcher is not None
    )
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
    }  # fmt: skip
