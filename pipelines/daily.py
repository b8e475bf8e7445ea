"""The daily job: ingest a feed, embed what is new, cluster the windows it touches, score, report.

Idempotent and incremental: the run id is derived from the method and the input's content, so a
re-run replaces its own rows; embeddings come from the store's cache; windows sit on a fixed grid,
so the clusters earlier runs stored for the windows a run re-clusters (and for the window before
its first) name its narratives, and ids carry over (:mod:`detector.lineage`). A run on which no
cross-bloc narrative can form says why in the manifest's ``warnings``
(:mod:`pipelines.run_warnings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from detector.amplification import outlet_edges
from detector.channels import add_channels
from detector.cluster import Window, WindowClusterer, iter_narratives
from detector.config import Config
from detector.embed import EmbeddingStage
from detector.faults import checkpoint
from detector.index import CrossBlocSearcher
from detector.ingest import FeedReader, IngestResult
from detector.limits import MemoryGuard
from detector.lineage import Lineage
from detector.links import LinkClassifier
from detector.parallel import Mapper, serial_map
from detector.passages import PassageMatcher, PassageStage
from detector.registry import OutletRegistry
from detector.report import file_sha256, write_csv, write_reports
from detector.score import SyncScorer
from detector.store import Store
from pipelines.engine import Engine, LocalEngine, make_engine
from pipelines.manifest import environment
from pipelines.run_warnings import run_warnings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    out_dir: str
    n_articles: int
    n_embedded: int
    n_flags: int
    seconds: float


def load_registry(config: Config) -> OutletRegistry:
    return OutletRegistry.from_toml(config.resolve_path(config.ingest.registry))


def read_feeds(config: Config, inputs: list[str], engine: Engine | None = None) -> IngestResult:
    registry = load_registry(config)
    options = {k: v for k, v in asdict(config.ingest).items() if k != "registry"}
    return FeedReader(registry, **options).read(inputs, (engine or LocalEngine()).map_files)


def engine_for(config: Config) -> Engine:
    """The engine ``[engine]`` names (a relative ``shard_dir`` is relative to the config)."""
    options = asdict(config.engine)
    if options["shard_dir"]:
        options["shard_dir"] = str(config.resolve_path(options["shard_dir"]))
    return make_engine(**options)


def store_path(config: Config, out_dir: Path) -> Path:
    """``[store] path``, or ``<out>/detector.duckdb`` when it is empty."""
    return config.resolve_path(config.store.path) if config.store.path else out_dir / "detector.duckdb"


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

    feed = read_feeds(config, inputs, engine)
    checkpoint("ingested")
    lap("ingest")
    if feed.articles.empty:
        raise_empty(feed)
    embedding = EmbeddingStage(**asdict(config.embed))
    clusterer = WindowClusterer(
        **asdict(config.cluster),
        random_state=config.run.seed,
        searcher=CrossBlocSearcher(**asdict(config.index)),
    )
    scorer = SyncScorer(**asdict(config.score), random_state=config.run.seed)
    links = LinkClassifier(load_registry(config), **asdict(config.links))
    guard = MemoryGuard(**asdict(config.limits))
    method = config.method_hash()
    run_id = run_id_for(method, feed.articles)
    with Store(store or store_path(config, out_dir)) as db:
        interrupted = db.start_run(run_id, method, embedding.model_id, started.replace(tzinfo=None))
        upserted = db.upsert_articles(feed.articles)
        checkpoint("stored")
        lap("store")
        windows = clusterer.windows(feed.articles["published_at"])
        scope = (windows[0].start.replace(tzinfo=None), windows[-1].end.replace(tzinfo=None))
        passage_chars = config.passages.max_chars if config.passages.unit == "passage" else 0
        guard.check(*db.scope_size(*scope), passage_chars)  # before anything large is loaded
        articles = db.articles_between(*scope)
        texts = embedding.texts(articles)
        n_embedded = engine.embed(embedding, db, texts)
        vectors = embedding.cached_vectors(db, texts)
        matcher = None
        if config.passages.unit == "passage":
            stage = PassageStage(**asdict(config.passages), embedding=embedding)
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
                "dropped": len(lineage.dropped),
                "flags": len(found.flags),
            },
            "lineage": lineage.as_dict(),
            "warnings": run_warnings(feed.articles, articles, windows, clusters),
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

    def stored_of(window: Window) -> pd.DataFrame:
        return db.clusters_of_window(method, window.start.replace(tzinfo=None))

    units = None if matcher is None else (matcher.vectors, matcher.passages["article_pos"].to_numpy())
    return clusterer.run(articles, vectors, windows, stored_of, units, mapper)


@dataclass(frozen=True)
class Findings:
    """What the scorer found: the report tables."""

    flags: pd.DataFrame
    members: pd.DataFrame
    pairs: pd.DataFrame
    outlets: pd.DataFrame


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
    empty = Findings(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), outlet_edges(pd.DataFrame()))
    touched = sorted(clusters["narrative_id"].unique())
    members = db.narrative_members(method, touched)
    if members.empty:
        return empty
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
        return empty
    flagged = set(flags["narrative_id"])
    rows, labels = [], {}
    for nid, pos in narratives:
        if nid not in flagged:
            continue
        centre = vectors[pos].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        sims = vectors[pos] @ centre
        group = articles.iloc[pos].assign(narrative_id=nid, similarity_to_centre=np.round(sims, 4))
        strength = members[members["narrative_id"] == nid].groupby("article_id")["membership"].max()
        group["membership"] = group["id"].map(strength).round(4)
        group["rescued"] = group["membership"] == 0  # joined as a near-copy, not through an edge
        labels[nid] = narrative_label(group)
        rows.append(group)
    flags.insert(0, "rank", np.arange(1, len(flags) + 1))
    flags.insert(2, "label", flags["narrative_id"].map(labels))
    pairs["link_type"] = links.label_pairs(pairs, articles)
    flags["path"] = flags["narrative_id"].map(spread_paths(pd.concat(rows), links.registry))
    order = {nid: i for i, nid in enumerate(flags["narrative_id"])}
    member_rows = pd.concat(rows, ignore_index=True)
    member_rows = member_rows.sort_values(
        ["narrative_id", "published_at", "id"], key=lambda s: s.map(order) if s.name == "narrative_id" else s
    ).reset_index(drop=True)
    pairs = pairs.sort_values(
        ["narrative_id", "pair_rank"], key=lambda s: s.map(order) if s.name == "narrative_id" else s
    )
    if matcher is not None:
        member_rows = member_rows.merge(member_passages(pairs), on=["narrative_id", "id"], how="left")
    flags, member_rows, pairs = add_channels(flags, member_rows, pairs.reset_index(drop=True), links.registry)
    return Findings(flags, member_rows, pairs, outlet_edges(member_rows, pairs))


def narrative_label(group: pd.DataFrame) -> str:
    """Title (or start of the text) of the member closest to the centre, by the rounded
    ``similarity_to_centre`` the reports show; ties go to the earliest, then the smallest feed id.

    Ties are the rule, not the exception: the two members of a pair are equally close to their
    mean, and the unrounded cosines then differ only by float noise, which differs between a
    fresh and an incremental store (vectors embedded in other batches).
    """
    ranked = group.sort_values(
        ["similarity_to_centre", "published_at", "id"], ascending=[False, True, True], kind="stable"
    )
    central = ranked.iloc[0]
    return " ".join(str(central["title"] or central["text"]).split())[:120]


def member_passages(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (narrative, article): the passage of its most similar evidence pair (ties: the better
    ranked pair), with offsets."""
    fields = ["id", "passage", "passage_start", "passage_end"]
    sides = [
        pairs[["narrative_id", "similarity", "pair_rank", *(f"{side}_{f}" for f in fields)]].set_axis(
            ["narrative_id", "similarity", "pair_rank", *fields], axis=1
        )
        for side in ("cn", "ru")
    ]
    best = pd.concat(sides).sort_values(
        ["narrative_id", "id", "similarity", "pair_rank"], ascending=[True, True, False, True], kind="stable"
    )
    return best.drop_duplicates(["narrative_id", "id"]).drop(columns=["similarity", "pair_rank"])


def spread_paths(members: pd.DataFrame, registry: OutletRegistry) -> dict[str, str]:
    """Per narrative, its outlets in order of first appearance with channel type and language:
    ``RT [state_media/ru] -> Global Times [state_media/en] -> PRC MFA spokesperson [diplomatic/en]``."""
    paths = {}
    for nid, group in members.groupby("narrative_id", sort=True):
        first = group.sort_values(["published_at", "id"]).drop_duplicates(["outlet", "language"])
        steps = []
        for outlet, language in zip(first["outlet"], first["language"], strict=True):
            entry = registry.get(outlet)
            steps.append(f"{outlet} [{entry.channel_type if entry else 'unknown'}/{language}]")
        paths[str(nid)] = " -> ".join(steps)
    return paths
