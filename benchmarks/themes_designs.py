"""Theme discovery designs and synchronisation nulls, measured on the campaign feeds (issue #26).

Measures, on ``campaigns_2024`` (7 days) and ``campaigns_2022`` (65 days), for each discovery
design: the campaign rule (>= 4 of a campaign's 6 articles, cn and ru, in one theme of <= 60
articles, right leader; :mod:`detector.evaluate.theme_metrics`), themes and their sizes, the share
of articles in themes, and cross-bloc themes per 1,000 articles holding no injected article; then,
for the cross-bloc themes of each design, the p-values of several timing nulls, turned into
Benjamini-Hochberg q-values over the run's themes, and the flagged themes per 1,000 articles that
hold no injected article.

Vectors: the default USE article vectors (title + first 2,000 characters) and passage vectors,
read from a copy of the embedding cache (``--store``, e.g. ``cp /work/cache/embeddings.duckdb
/tmp/x.duckdb``) and kept as ``.npy`` in ``--cache``; texts the store lacks are embedded.

Usage::

    python benchmarks/themes_designs.py --data ../shared/data --store /tmp/x.duckdb \
        --cache /tmp/themes-lab --json benchmarks/results/themes_designs.json

Prints one table per feed and writes every figure with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
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
    art, pas, meta = cache / f"{name}_articles.npy", cache / f"{name}_passages.npy", cache / f"{name}_passages.parquet"
    if not art.exists() or (passages and not pas.exists()):
        if store_path is None:
            raise SystemExit(f"Error: no cached vectors in {cache}. Fix: pass --store (a copy of the embedding cache)")
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


def burst_leaders(feed: Feed, members: pd.DataFrame, lag_days: float) -> dict[str, str | None]:
    """Per theme, the leader of its shared burst (:func:`burst`)."""
    times = pd.Series(feed.times, index=feed.articles["id"])
    out: dict[str, str | None] = {}
    for theme, g in members.groupby("theme_id"):
        blocs = g["bloc"].to_numpy()
        out[str(theme)] = burst(times[g["id"]].to_numpy(), blocs, g["outlet"].to_numpy(), lag_days * DAY)[1]
    return out


def evaluate(feed: Feed, members: pd.DataFrame, lag_days: float | None = 4.0) -> dict[str, float]:
    """Campaign rule, leader accuracy and size statistics of one theme assignment; the leader is
    the shared burst's (``lag_days``) or, with ``None``, the theme's earliest article's."""
    leaders = burst_leaders(feed, members, lag_days) if lag_days is not None else None
    table = campaign_table(members, feed.truth, leaders=leaders)
    summary = theme_size_summary(members, len(feed.articles), sorted(feed.injected))
    grouped = int(table["grouped"].sum())
    return {
        "campaigns_found": int(table["found"].sum()),
        "campaigns_grouped": grouped,
        "leader_accuracy": float(table.loc[table["grouped"], "leader_right"].mean()) if grouped else float("nan"),
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
        local = windowed(times[own], width_days, lambda r: agglomerative(vectors[rows[own[r]]], "ward", [threshold], max_size))[0]
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


# ---------------------------------------------------------------- synchronisation


def burst(times: np.ndarray, blocs: np.ndarray, outlets: np.ndarray, lag: float) -> tuple[float, str | None, float]:
    """The theme's shared burst: the window [t, t + lag] (t a member's time) with the most distinct
    outlets in its weaker bloc (then most outlets, then most members; the latest such t, so
    earlier background does not pose as the start). Returns (window start, leader = bloc of the
    window's first member, weaker-bloc outlet count)."""
    best: tuple[int, int, int, float] | None = None
    for t in np.unique(times):
        inside = (times >= t) & (times <= t + lag)
        n_cn = len(set(outlets[inside & (blocs == "cn")]))
        n_ru = len(set(outlets[inside & (blocs == "ru")]))
        key = (min(n_cn, n_ru), n_cn + n_ru, int(inside.sum()), float(t))
        if best is None or key >= best:
            best = key
    assert best is not None
    start = best[3]
    inside = (times >= start) & (times <= start + lag) & np.isin(blocs, THEME_BLOCS)
    first = np.flatnonzero(inside)[np.argmin(times[inside])] if inside.any() else None
    leader = None if first is None or best[0] == 0 else str(blocs[first])
    return start, leader, float(best[0])


def outlet_pairs(shifted: list[np.ndarray], blocs: list[str], lag: float) -> np.ndarray:
    """Per replicate (rows), the number of (cn outlet, ru outlet) pairs with a pair of articles
    at most ``lag`` apart. ``shifted[k]`` holds outlet k's times, shape (replicates, articles)."""
    cn = [k for k, b in enumerate(blocs) if b == "cn"]
    ru = [k for k, b in enumerate(blocs) if b == "ru"]
    total = np.zeros(shifted[0].shape[0], dtype=np.int64)
    for a in cn:
        for b in ru:
            gap = np.abs(shifted[a][:, :, None] - shifted[b][:, None, :]).min(axis=(1, 2))
            total += gap <= lag
    return total


def shift_pvalue(
    times: np.ndarray,
    blocs: np.ndarray,
    outlets: np.ndarray,
    period: tuple[float, float],
    lag: float,
    mode: str,
    rng: np.random.Generator,
    replicates: int = 999,
) -> tuple[float, float]:
    """Monte-Carlo p-value of the outlet-pair statistic under a circular time shift within the
    period: ``mode`` "outlet" shifts every outlet's series by its own offset (keeps each outlet's
    rate and its own clumping, breaks co-movement between outlets), "bloc" shifts the whole ru
    bloc by one offset (keeps each bloc's internal synchrony, breaks only the cn-ru alignment).
    Returns (observed statistic, p)."""
    lo, hi = period
    span = hi - lo
    keep = np.isin(blocs, THEME_BLOCS)
    times, blocs, outlets = times[keep], blocs[keep], outlets[keep]
    keys = sorted(set(zip(blocs, outlets, strict=True)))
    series = [times[(blocs == b) & (outlets == o)] - lo for b, o in keys]
    kinds = [b for b, _ in keys]
    observed = int(outlet_pairs([s[None, :] for s in series], kinds, lag)[0])
    if mode == "outlet":
        offsets = [rng.uniform(0, span, size=(replicates, 1)) for _ in series]
    else:
        common = rng.uniform(0, span, size=(replicates, 1))
        offsets = [common if b == "ru" else np.zeros((replicates, 1)) for b in kinds]
    shifted = [(s[None, :] + off) % span for s, off in zip(series, offsets, strict=True)]
    null = outlet_pairs(shifted, kinds, lag)
    return float(observed), float((1 + (null >= observed).sum()) / (replicates + 1))


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values."""
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def control_coverage(feed: Feed, vectors: np.ndarray, members: pd.DataFrame, lag: float) -> dict[str, int]:
    """Per theme, control articles that would join it: within ``lag`` of the theme's time range
    and at least as close to its centroid as its median member (controls are never members; this
    asks whether outlets outside both blocs covered the same thing at the same time)."""
    pos = pd.Series(np.arange(len(feed.articles)), index=feed.articles["id"])
    ctrl = np.flatnonzero(feed.articles["bloc"].to_numpy() == "control")
    out: dict[str, int] = {}
    for theme, group in members.groupby("theme_id"):
        rows = pos[group["id"]].to_numpy()
        cent = vectors[rows].mean(axis=0)
        cent /= np.linalg.norm(cent)
        own = np.median(vectors[rows] @ cent)
        t0, t1 = feed.times[rows].min() - lag, feed.times[rows].max() + lag
        near = ctrl[(feed.times[ctrl] >= t0) & (feed.times[ctrl] <= t1)]
        out[str(theme)] = int((vectors[near] @ cent >= own).sum()) if len(near) else 0
    return out


def theme_period(feed: Feed, times: np.ndarray, period_days: float | None) -> tuple[float, float]:
    """The period a theme was found in: the whole feed, or the ``period_days`` window around
    the theme's median time inside the feed (its discovery window; shifting over a longer span
    than the one it was clustered in would spread a theme the clustering made compact in time)."""
    lo, hi = float(feed.times.min()), float(feed.times.max()) + 1.0
    if period_days is None or hi - lo <= period_days * DAY:
        return lo, hi
    start = min(max(float(np.median(times)) - period_days * DAY / 2, lo), hi - period_days * DAY)
    return start, start + period_days * DAY


def sync_table(
    feed: Feed,
    vectors: np.ndarray,
    members: pd.DataFrame,
    lag_days: float,
    period_days: float | None,
    seed: int = 0,
    replicates: int = 999,
) -> pd.DataFrame:
    """Per cross-bloc theme: size, outlets per bloc, injected share, burst leader, outlet-pair
    statistic and its p-values under the outlet-level and the one-bloc circular shift (inside
    the theme's period), control coverage; q-values (BH over the cross-bloc themes)."""
    rng = np.random.default_rng(seed)
    lag = lag_days * DAY
    injected = feed.injected
    campaign = set(feed.truth.loc[feed.truth["kind"] == "campaign", "id"])
    times = pd.Series(feed.times, index=feed.articles["id"])
    controls = control_coverage(feed, vectors, members, lag)
    rows = []
    for theme, g in members.groupby("theme_id"):
        blocs, outlets = g["bloc"].to_numpy(), g["outlet"].to_numpy()
        if not {"cn", "ru"} <= set(blocs):
            continue
        t = times[g["id"]].to_numpy()
        _, leader, weak = burst(t, blocs, outlets, lag)
        period = theme_period(feed, t, period_days)
        t = np.clip(t, period[0], period[1] - 1.0)
        stat, p_outlet = shift_pvalue(t, blocs, outlets, period, lag, "outlet", rng, replicates)
        _, p_bloc = shift_pvalue(t, blocs, outlets, period, lag, "bloc", rng, replicates)
        bstat, p_burst = burst_pvalue(t, blocs, outlets, period, lag, "outlet", rng, replicates)
        _, p_burst_bloc = burst_pvalue(t, blocs, outlets, period, lag, "bloc", rng, replicates)
        _, p_scan = burst_pvalue(t, blocs, outlets, period, lag, "outlet", rng, replicates, weighted=True)
        _, p_scan_bloc = burst_pvalue(t, blocs, outlets, period, lag, "bloc", rng, replicates, weighted=True)
        rows.append({
            "theme_id": str(theme), "articles": len(g), "outlets_cn": len(set(outlets[blocs == "cn"])),
            "outlets_ru": len(set(outlets[blocs == "ru"])), "injected": int(g["id"].isin(injected).sum()),
            "campaign": int(g["id"].isin(campaign).sum()), "burst_leader": leader, "burst_min_outlets": weak,
            "pair_stat": stat, "p_outlet": p_outlet, "p_bloc": p_bloc, "burst_stat": bstat, "p_burst": p_burst,
            "p_burst_bloc": p_burst_bloc, "p_scan": p_scan, "p_scan_bloc": p_scan_bloc,
            "controls": controls[str(theme)],
        })  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        table["q_outlet"] = bh_qvalues(table["p_outlet"].to_numpy())
        for null in ("bloc", "burst", "burst_bloc", "scan", "scan_bloc"):
            table[f"q_{null}"] = bh_qvalues(table[f"p_{null}"].to_numpy())
    return table


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
    truth = pd.DataFrame({"event_id": quotes["narrative_id"], "id": injected["id"], "kind": "narrative", "leader": ""})
    vectors = np.vstack([background.vectors[keep], e_vectors[picks]])
    times = np.concatenate([background.times[keep], stamps])
    labels = np.array([None] * int(keep.sum()) + list(quotes["narrative_id"]), dtype=object)
    empty = background.passages.iloc[:0]
    feed = Feed(f"E_in_{background.name}", articles, truth, times, vectors, empty, np.zeros((0, vectors.shape[1])))
    return feed, labels


# ---------------------------------------------------------------- the recommendation

PERIOD_DAYS = 28.0  # the stage's default period; windows of this width, half-overlapping
MAX_THEME = 60  # the sweep limit, used as the cap of the dendrogram cut
WARD_CUT = np.inf  # no height limit: the cap alone decides (measured: cuts >= 2.5 give the same themes)


def recommended_labels(feed: Feed, rows: np.ndarray, period_days: float = PERIOD_DAYS, max_theme: int = MAX_THEME) -> np.ndarray:
    """The recommended discovery: Ward on the raw USE article vectors of cn and ru articles over
    the period, cut into the largest dendrogram nodes of at most ``max_theme`` articles."""
    vectors = feed.vectors[rows]
    return windowed(feed.times[rows], period_days, lambda r: agglomerative(vectors[r], "ward", [WARD_CUT], max_theme))[0]


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


BIN = 6 * 3600.0  # time resolution of the burst statistic


def burst_stat(
    bins: list[np.ndarray], kinds: list[str], n_bins: int, window: int, weights: list[float] | None = None
) -> np.ndarray:
    """Per replicate, the shared-burst statistic over circular windows of ``window`` bins: the
    weaker bloc's count of distinct outlets present in the window (each outlet counting
    ``weights[k]``, default 1), plus (tie-break, < 1) the share of all the theme's outlets in it;
    the best window's value. ``bins[k]``: outlet k's bin indices, shape (replicates, n)."""
    reps = bins[0].shape[0]
    weights = weights or [1.0] * len(bins)
    counts = {b: np.zeros((reps, n_bins)) for b in THEME_BLOCS}
    total = np.zeros((reps, n_bins))
    for idx, kind, weight in zip(bins, kinds, weights, strict=True):
        present = window_presence(idx, n_bins, window)
        counts[kind] += weight * present
        total += present
    score = np.minimum(counts["cn"], counts["ru"]) + total / (len(kinds) + 1.0)
    return score.max(axis=1)


def window_presence(idx: np.ndarray, n_bins: int, window: int) -> np.ndarray:
    """(replicates, n_bins) booleans: does the circular window starting at each bin hold one of
    the outlet's articles (bin indices ``idx``, shape (replicates, n))?"""
    reps = idx.shape[0]
    present = np.zeros((reps, n_bins), dtype=bool)
    rows = np.repeat(np.arange(reps), idx.shape[1])
    for offset in range(window):  # an article in bin j makes the windows starting j-window+1..j hold it
        present[rows, (idx.ravel() - offset) % n_bins] = True
    return present


def rarity_weights(series: list[np.ndarray], n_bins: int, window: int) -> list[float]:
    """-log of the share of windows an outlet's theme articles cover: invariant under circular
    shifts, so the null stays exact; an outlet present all period long weighs ~0, one that
    covers the theme once weighs most (a scan statistic with each outlet's own baseline)."""
    return [float(-np.log(window_presence(s[None, :] % n_bins, n_bins, window).mean())) for s in series]


def burst_pvalue(
    times: np.ndarray,
    blocs: np.ndarray,
    outlets: np.ndarray,
    period: tuple[float, float],
    lag: float,
    mode: str,
    rng: np.random.Generator,
    replicates: int = 999,
    weighted: bool = False,
) -> tuple[float, float]:
    """Monte-Carlo p-value of :func:`burst_stat` (``weighted``: :func:`rarity_weights`) under circular shifts inside ``period``:
    ``mode`` "outlet" (each outlet its own offset), "bloc" (one offset for the whole ru bloc) or
    "both" (each outlet its own offset, the bloc-level alignment broken too: the same as outlet)."""
    lo, hi = period
    n_bins = max(1, int(np.ceil((hi - lo) / BIN)))
    window = max(1, int(round(lag / BIN)))
    keep = np.isin(blocs, THEME_BLOCS)
    times, blocs, outlets = times[keep], blocs[keep], outlets[keep]
    keys = sorted(set(zip(blocs, outlets, strict=True)))
    series = [((times[(blocs == b) & (outlets == o)] - lo) // BIN).astype(np.int64) for b, o in keys]
    kinds = [b for b, _ in keys]
    weights = rarity_weights(series, n_bins, window) if weighted else None
    observed = float(burst_stat([s[None, :] % n_bins for s in series], kinds, n_bins, window, weights)[0])
    if mode == "outlet":
        offsets = [rng.integers(0, n_bins, size=(replicates, 1)) for _ in series]
    else:
        common = rng.integers(0, n_bins, size=(replicates, 1))
        offsets = [common if b == "ru" else np.zeros((replicates, 1), dtype=np.int64) for b in kinds]
    shifted = [(s[None, :] + off) % n_bins for s, off in zip(series, offsets, strict=True)]
    null = burst_stat(shifted, kinds, n_bins, window, weights)
    return observed, float((1 + (null >= observed - 1e-9).sum()) / (replicates + 1))
