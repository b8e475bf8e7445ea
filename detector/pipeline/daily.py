"""The daily job: ingest a feed, embed what is new, cluster the windows it touches, score, report.

Idempotent and incremental: the run id is derived from the method and the input's content, so a
re-run replaces its own rows; embeddings come from the store's cache; windows sit on a fixed grid,
so yesterday's clusters are reused as today's "previous window" and narrative ids carry over.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageMatcher, PassageStage
from detector.faults import checkpoint
from detector.index import CrossBlocSearcher, VectorIndex
from detector.io import file_sha256
from detector.narratives.cluster import Lineage, Window, WindowClusterer, iter_narratives
from detector.parallel import Mapper, serial_map
from detector.pipeline.engine import Engine, LocalEngine, make_engine
from detector.pipeline.limits import MemoryGuard
from detector.pipeline.manifest import environment
from detector.report.findings import Findings, assemble_findings
from detector.report.writer import write_csv, write_reports
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader, IngestResult
from detector.sources.registry import OutletRegistry
from detector.store.store import Store

log = logging.getLogger(__name__)


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


def run_id_for(method_hash: str, articles: pd.DataFrame) -> str:
    digest = hashlib.sha256(method_hash.encode())
    for article_id, chash in zip(articles["id"], articles["content_hash"], strict=True):
        digest.update(f"{article_id}\x1f{chash}\n".encode())
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
    with Store(store_file(config, out_dir, store)) as db:
        interrupted = db.start_run(run_id, method, embedding.model_id, started.replace(tzinfo=None))
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
        db.replace_clusters(method, clusters)
        checkpoint("clustered")
        lap("cluster")
        found = score_narratives(
            db, scorer, links, embedding, method, clusters, articles, vectors, matcher, engine.map
        )
        lap("score")
        manifest = {
            "run_id": run_id,
            "started_at": started.isoformat(),
            "config": config.to_dict(),
            "config_hash": config.config_hash(),
            "method_hash": method,
            "model_id": embedding.model_id,
            "seed": config.run.seed,
            "inputs": [{"path": f, "sha256": file_sha256(f)} for f in feed.files],
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
                "flags": len(found.flags),
            },
            "environment": environment(),
        }
        if not feed.rejected.empty:
            write_csv(feed.rejected, out_dir / "rejected.csv", list(feed.rejected.columns))
        else:  # a stale rejected.csv from an earlier run would be read as this run's
            (out_dir / "rejected.csv").unlink(missing_ok=True)
        lap("report")
        manifest["timings_s"] = timings
        write_reports(out_dir, found.flags, found.members, manifest, pairs=found.pairs, outlets=found.outlets)
        db.put_report_frames(run_id, vars(found))  # so `detector report --run` can re-write them
        checkpoint("reported")
        db.finish_run(run_id, found.flags, manifest, datetime.now(UTC).replace(tzinfo=None))
    total = round(sum(timings.values()), 3)
    log.info("run %s: %d flags, %.1f s", run_id, len(found.flags), total)
    return RunSummary(run_id, str(out_dir), len(feed.articles), n_embedded, len(found.flags), total)


def raise_empty(feed: IngestResult) -> None:
    from detector.errors import InputError

    raise InputError(
        ", ".join(feed.files), f"no valid rows ({len(feed.rejected)} rejected)",
        "see rejected rows and fix the feed",
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
    step = pd.Timedelta(hours=clusterer.step_hours)

    def previous_of(window: Window) -> pd.DataFrame:
        return db.clusters_of_window(method, (window.start - step).replace(tzinfo=None))

    units = None if matcher is None else (matcher.vectors, matcher.passages["article_pos"].to_numpy())
    return clusterer.run(articles, vectors, windows, previous_of, units, mapper)


def score_narratives(
    db: Store,
    scorer: SyncScorer,
    links: LinkClassifier,
    embedding: EmbeddingStage,
    method: str,
    clusters: pd.DataFrame,
    scope: pd.DataFrame,
    scope_vectors: np.ndarray,
    matcher: PassageMatcher | None = None,
    mapper: Mapper = serial_map,
) -> Findings:
    """Score every narrative this run touched, over all its stored members (earlier runs too).

    ``scope`` (with ``scope_vectors``) are the run's articles; its control articles are the
    baseline for the shared-news check.
    """
    touched = sorted(clusters["narrative_id"].unique())
    members = db.narrative_members(method, touched)
    if members.empty:
        return Findings.empty()
    articles = members.drop_duplicates("id").sort_values(["published_at", "id"]).reset_index(drop=True)
    vectors = embedding.vectors(db, articles)
    position = pd.Series(np.arange(len(articles)), index=articles["id"])
    narratives = [
        (nid, position.loc[ids].tolist())
        for nid, ids in iter_narratives(members[["narrative_id", "article_id"]])
    ]
    is_control = (scope["bloc"] == "control").to_numpy()
    flags, pairs = scorer.score_all(
        narratives,
        articles,
        vectors,
        scope[is_control].reset_index(drop=True),
        scope_vectors[is_control],
        matcher,
        mapper,
    )
    if flags.empty:
        return Findings.empty()
    return assemble_findings(
        flags, pairs, narratives, articles, vectors, members, links, passages=matcher is not None
    )
