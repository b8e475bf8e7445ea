"""Shared parts of the theme benchmarks (issue #26): feeds and their cached vectors, windowed and
size-capped agglomerative clustering, the other discovery designs measured, file E injected into a
real background, and the campaign / size figures of one theme assignment. Used by
``benchmarks/themes_designs.py`` and ``benchmarks/themes_bertopic.py``; not a command itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster import hierarchy

from detector.evaluate.theme_metrics import campaign_table, theme_size_summary

DAY = 86_400.0
THEME_BLOCS = ("cn", "ru")  # controls are never theme members for linking (they matter for nulls)


@dataclass
class Feed:
    """One feed with its truth, times (seconds) and unit vectors, rows aligned."""

    name: str
    articles: pd.DataFrame
    truth: pd.DataFrame
    times: np.ndarray
    vectors: np.ndarray
    passages: pd.DataFrame
    passage_vectors: np.ndarray

    @property
    def injected(self) -> set[str]:
        return set(self.truth["id"])


def _vectors(name: str, frame: pd.DataFrame, cache: Path, store_path: Path | None, passages: bool) -> tuple:
    """Article (and passage) vectors of ``frame``, from ``cache`` or embedded through the store."""
    art, pas, meta = (
        cache / f"{name}_articles.npy",
        cache / f"{name}_passages.npy",
        cache / f"{name}_passages.parquet",
    )
    if not art.exists() or (passages and not pas.exists()):
        if store_path is None:
            raise SystemExit(
                f"Error: no cached vectors in {cache}. Fix: pass --store (a copy of the embedding cache)"
            )
        from detector.embed.embedding import EmbeddingStage
        from detector.embed.passages import PassageStage
        from detector.store.store import Store

        cache.mkdir(parents=True, exist_ok=True)
        stage = EmbeddingStage()
        with Store(store_path) as store:
            np.save(art, stage.vectors(store, frame).astype(np.float32))
            if passages:
                splitter = PassageStage(embedding=stage)
                table = splitter.passages(frame)
                np.save(pas, splitter.vectors(store, table).astype(np.float32))
                table.drop(columns=["text"]).to_parquet(meta)
    vectors = np.load(art)
    if not passages:
        return vectors, None, None
    return vectors, pd.read_parquet(meta), np.load(pas)


def seconds(stamps: pd.Series) -> np.ndarray:
    """POSIX seconds of ISO stamps (whatever resolution pandas parses them to)."""
    parsed = pd.to_datetime(stamps, utc=True, format="mixed")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def load_feed(data: Path, name: str, cache: Path, store_path: Path | None) -> Feed:
    articles = pd.read_csv(data / "events" / f"{name}_feed.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(data / "events" / f"{name}_truth.csv", dtype=str)
    times = seconds(articles["published_at"])
    vectors, passages, passage_vectors = _vectors(name, articles, cache, store_path, passages=True)
    return Feed(name, articles, truth, times, vectors, passages, passage_vectors)


def centre_by_language(vectors: np.ndarray, languages: np.ndarray) -> np.ndarray:
    """Subtract each language's mean vector and re-normalise: USE puts every language in its own
    offset region; without this, same-language genre similarity dominates cross-bloc links."""
    out = vectors.astype(np.float64, copy=True)
    for language in np.unique(languages):
        rows = languages == language
        out[rows] -= out[rows].mean(axis=0)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


# ---------------------------------------------------------------- windows


def window_starts(times: np.ndarray, width: float, stride: float) -> np.ndarray:
    start, end = float(times.min()), float(times.max())
    n = max(1, int(np.ceil(max(end - start - width, 0.0) / stride)) + 1)
    return start + stride * np.arange(n)


def windowed(
    times: np.ndarray, width_days: float, cluster: Callable[[np.ndarray], list[np.ndarray]]
) -> list[np.ndarray]:
    """Labels (-1 = none) from clustering half-overlapping windows, one labelling per cut that
    ``cluster`` returns for a window's rows: a window's cluster is kept when its median time falls
    in the window's core (the middle half; the first and last windows' cores reach the period's
    ends), so the cores tile the period and a burst near a window edge is whole in the next
    window. An item in two kept clusters stays in the first."""
    width, stride = width_days * DAY, width_days * DAY / 2
    starts = window_starts(times, width, stride)
    out: list[np.ndarray] = []
    next_label: list[int] = []
    for k, start in enumerate(starts):
        rows = np.flatnonzero((times >= start) & (times < start + width))
        if len(rows) < 2:
            continue
        lo = -np.inf if k == 0 else start + width / 4
        hi = np.inf if k == len(starts) - 1 else start + 3 * width / 4
        for cut, local in enumerate(cluster(rows)):
            if cut == len(out):
                out.append(np.full(len(times), -1, dtype=np.int64))
                next_label.append(0)
            labels = out[cut]
            for c in np.unique(local[local >= 0]):
                members = rows[local == c]
                if lo <= np.median(times[members]) < hi:
                    labels[members[labels[members] < 0]] = next_label[cut]
                    next_label[cut] += 1
    return out


def capped_cut(tree: np.ndarray, threshold: float, max_size: int) -> np.ndarray:
    """Flat clusters of a dendrogram: the nodes merged at most ``threshold`` high, except that a
    node of more than ``max_size`` leaves is replaced by its children until each part fits: a
    theme is never a sweep, and an oversized topic splits where it is least coherent."""
    n = len(tree) + 1
    labels = np.full(n, -1, dtype=np.int64)
    root = hierarchy.to_tree(tree)
    stack, next_label = [root], 0
    while stack:
        node = stack.pop()
        if node.is_leaf() or (node.dist <= threshold and node.count <= max_size):
            labels[node.pre_order()] = next_label
            next_label += 1
        else:
            stack.extend([node.get_left(), node.get_right()])
    return labels


def agglomerative(
    vectors: np.ndarray, linkage: str, thresholds: list[float], max_size: int | None = None
) -> list[np.ndarray]:
    """Agglomerative labels at each cut from one dendrogram (scipy): Ward merge heights on unit
    vectors, or average-linkage cosine distances; with ``max_size``, a size-capped cut."""
    if len(vectors) < 2:
        return [np.zeros(len(vectors), dtype=np.int64) for _ in thresholds]
    if linkage == "ward":
        tree = hierarchy.linkage(vectors.astype(np.float64), method="ward")
    else:
        tree = hierarchy.linkage(vectors.astype(np.float64), method="average", metric="cosine")
    if max_size is not None:
        return [capped_cut(tree, t, max_size) for t in thresholds]
    return [hierarchy.fcluster(tree, t, criterion="distance").astype(np.int64) - 1 for t in thresholds]


def with_time(vectors: np.ndarray, times: np.ndarray, days_per_unit: float) -> np.ndarray:
    """Unit vectors with time appended as one more coordinate, ``days_per_unit`` days = 1.0
    (the distance between unrelated articles is about 1.2-1.4 on unit vectors)."""
    column = (times - times.min()) / (days_per_unit * DAY)
    return np.hstack([vectors, column[:, None]]).astype(np.float32)


def members_frame(feed: Feed, labels: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    """theme_members-like frame (``theme_id, id, bloc, outlet, published_at``) for themes of at
    least two articles; ``labels`` index ``rows`` of the feed."""
    keep = labels >= 0
    frame = feed.articles.iloc[rows[keep]][["id", "bloc", "outlet", "published_at"]].copy()
    frame.insert(0, "theme_id", labels[keep].astype(str))
    frame = frame.drop_duplicates(["theme_id", "id"])
    sizes = frame.groupby("theme_id")["id"].transform("size")
    return frame[sizes >= 2].reset_index(drop=True)


def evaluate(feed: Feed, members: pd.DataFrame) -> dict[str, float]:
    """Campaign rule, leader accuracy and size statistics of one theme assignment; a theme's
    leader is the bloc of its earliest cn or ru article (measured better than the start of its
    shared burst: 2024 9 vs 7 of 12 found)."""
    table = campaign_table(members, feed.truth)
    summary = theme_size_summary(members, len(feed.articles), sorted(feed.injected))
    grouped = int(table["grouped"].sum())
    return {
        "campaigns_found": int(table["found"].sum()),
        "campaigns_grouped": grouped,
        "leader_accuracy": float(table.loc[table["grouped"], "leader_right"].mean())
        if grouped
        else float("nan"),
        **summary,
    }


def bloc_first(
    feed: Feed,
    vectors: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    link_quantile: float,
    width_days: float = 7.0,
    max_size: int | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """Design (a): Ward clusters within each bloc (windowed), then each cn cluster joined with the
    ru cluster it and only it prefers (mutual best centroid cosine) when that cosine beats the
    ``link_quantile`` of the null: centroid cosines of cn and ru clusters whose median times lie
    more than two windows apart (same genre, other period). Returns labels over ``rows`` and the
    calibrated cut."""
    blocs = feed.articles["bloc"].to_numpy()[rows]
    times = feed.times[rows]
    labels = np.full(len(rows), -1, dtype=np.int64)
    offset = 0
    for bloc in THEME_BLOCS:
        own = np.flatnonzero(blocs == bloc)
        units = rows[own]
        local = windowed(
            times[own],
            width_days,
            lambda r, u=units: agglomerative(vectors[u[r]], "ward", [threshold], max_size),
        )[0]
        labels[own[local >= 0]] = local[local >= 0] + offset
        offset += int(local.max()) + 1 if (local >= 0).any() else 0
    ids = np.unique(labels[labels >= 0])
    cents = np.stack([vectors[rows[labels == c]].mean(axis=0) for c in ids])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    cbloc = np.array([blocs[labels == c][0] for c in ids])
    cmed = np.array([np.median(times[labels == c]) for c in ids])
    cn, ru = np.flatnonzero(cbloc == "cn"), np.flatnonzero(cbloc == "ru")
    sims = cents[cn] @ cents[ru].T
    gap = np.abs(cmed[cn][:, None] - cmed[ru][None, :])
    near = gap <= width_days * DAY / 2
    far = gap > 2 * width_days * DAY
    null = sims[far]
    cut = float(np.quantile(null, link_quantile)) if len(null) >= 20 else float("nan")
    masked = np.where(near, sims, -np.inf)
    best_ru, best_cn = masked.argmax(axis=1), masked.argmax(axis=0)
    merged = labels.copy()
    for i, j in enumerate(best_ru):
        if best_cn[j] == i and near[i, j] and (np.isnan(cut) or sims[i, j] >= cut):
            merged[labels == ids[ru[j]]] = ids[cn[i]]
    return merged, {"link_cut": cut, "null_pairs": float(len(null))}


def hdbscan_pca(vectors: np.ndarray, dims: int, min_cluster_size: int, seed: int = 0) -> np.ndarray:
    """BERTopic's recipe without UMAP: PCA to ``dims`` then HDBSCAN (leaf selection keeps
    topic-scale clusters instead of a few giant ones); -1 = noise."""
    from sklearn.cluster import HDBSCAN
    from sklearn.decomposition import PCA

    if len(vectors) <= max(dims, min_cluster_size):
        return np.full(len(vectors), -1, dtype=np.int64)
    reduced = PCA(n_components=dims, random_state=seed).fit_transform(vectors)
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=1, cluster_selection_method="leaf")
    return model.fit_predict(reduced).astype(np.int64)


# ---------------------------------------------------------------- file E in a real background

CN_OUTLETS = ("CGTN", "Global Times", "Xinhua")
RU_OUTLETS = ("RT", "TASS", "Sputnik")


def e_vectors(data: Path, cache: Path, store_path: Path | None) -> np.ndarray:
    """Vectors of file E's en and ru rows (in file order), from ``cache`` or embedded through the
    store copy (``benchmarks/themes_designs.py`` fills the cache for ``themes_bertopic.py``)."""
    path = cache / "E_articles.npy"
    if not path.exists():
        e = pd.read_csv(data / "e_propaganda_diary_narratives.csv", dtype=str, keep_default_na=False)
        _vectors("E", e[e["language"].isin(["en", "ru"])].reset_index(drop=True), cache, store_path, False)
    return np.load(path)


def e_in_background(
    data: Path, background: Feed, e_vectors: np.ndarray, period_days: float, seed: int = 0
) -> tuple[Feed, np.ndarray]:
    """File E's quotes (one language version per quote, en or ru, chosen at random: an en version
    is published by a cn outlet, a ru version by a ru outlet, as detector/evaluate/inject.py
    does) placed uniformly at random inside the last ``period_days`` of ``background``'s real
    articles (its injected events and campaigns removed). Returns the feed (injected quotes
    listed in its truth with their ``narrative_id`` as ``event_id``) and, per article, the
    label (``None`` for background articles: singleton classes in B-cubed)."""
    rng = np.random.default_rng(seed)
    e = pd.read_csv(data / "e_propaganda_diary_narratives.csv", dtype=str, keep_default_na=False)
    e = e[e["language"].isin(["en", "ru"])].reset_index(drop=True)  # the rows e_vectors hold
    picks = [int(rng.choice(idx)) for _, idx in sorted(e.groupby("quote_id").indices.items())]
    quotes = e.iloc[picks].reset_index(drop=True)
    keep = ~background.articles["id"].isin(background.injected).to_numpy()
    end = float(background.times[keep].max())
    start = max(float(background.times[keep].min()), end - period_days * DAY)
    keep &= background.times >= start
    stamps = rng.uniform(start, end, size=len(quotes))
    bloc = np.where(quotes["language"] == "en", "cn", "ru")
    outlets = [str(rng.choice(CN_OUTLETS if b == "cn" else RU_OUTLETS)) for b in bloc]
    injected = pd.DataFrame({
        "id": "e" + quotes["quote_id"], "outlet": outlets, "bloc": bloc, "language": quotes["language"],
        "published_at": pd.to_datetime(stamps, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "title": "", "text": quotes["text"], "url": "",
    })  # fmt: skip
    articles = pd.concat([background.articles[keep], injected], ignore_index=True)
    truth = pd.DataFrame(
        {"event_id": quotes["narrative_id"], "id": injected["id"], "kind": "narrative", "leader": ""}
    )
    vectors = np.vstack([background.vectors[keep], e_vectors[picks]])
    times = np.concatenate([background.times[keep], stamps])
    labels = np.array([None] * int(keep.sum()) + list(quotes["narrative_id"]), dtype=object)
    empty = background.passages.iloc[:0]
    feed = Feed(
        f"E_in_{background.name}", articles, truth, times, vectors, empty, np.zeros((0, vectors.shape[1]))
    )
    return feed, labels


# ---------------------------------------------------------------- the recommendation

PERIOD_DAYS = 28.0  # the stage's default period; windows of this width, half-overlapping
MAX_THEME = 60  # the sweep limit, used as the cap of the dendrogram cut
WARD_CUT = np.inf  # no height limit: the cap alone decides (measured: cuts >= 2.5 give the same themes)


def recommended_labels(
    feed: Feed, rows: np.ndarray, period_days: float = PERIOD_DAYS, max_theme: int = MAX_THEME
) -> np.ndarray:
    """The recommended discovery: Ward on the raw USE article vectors of cn and ru articles over
    the period, cut into the largest dendrogram nodes of at most ``max_theme`` articles."""
    vectors = feed.vectors[rows]
    return windowed(
        feed.times[rows], period_days, lambda r: agglomerative(vectors[r], "ward", [WARD_CUT], max_theme)
    )[0]


def leiden_time_knn(
    vectors: np.ndarray, times: np.ndarray, k: int, horizon_days: float, resolution: float, seed: int = 0
) -> np.ndarray:
    """Design (b), graph form: Leiden (CPM, ``resolution`` in cosine units) on the k-nearest-
    neighbour graph of articles at most ``horizon_days`` apart (cosine weights); needs
    ``leidenalg`` and ``igraph``."""
    import igraph
    import leidenalg

    order = np.argsort(times)
    v, t = vectors[order], times[order]
    edges: dict[tuple[int, int], float] = {}
    horizon = horizon_days * DAY
    for i in range(len(v)):
        lo, hi = np.searchsorted(t, t[i] - horizon), np.searchsorted(t, t[i] + horizon, side="right")
        sims = v[lo:hi] @ v[i]
        sims[i - lo] = -np.inf
        for j in np.argsort(-sims)[:k]:
            a, b = sorted((i, int(j) + lo))
            edges[a, b] = max(edges.get((a, b), 0.0), float(sims[j]))
    graph = igraph.Graph(n=len(v), edges=list(edges))
    graph.es["weight"] = list(edges.values())
    part = leidenalg.find_partition(
        graph, leidenalg.CPMVertexPartition, weights="weight", resolution_parameter=resolution, seed=seed
    )
    labels = np.empty(len(v), dtype=np.int64)
    labels[order] = np.asarray(part.membership, dtype=np.int64)
    return labels
