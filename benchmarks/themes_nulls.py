"""Synchronisation statistics and timing nulls of the theme benchmarks (issue #26).

Per theme: its shared burst (the 72-h window where the weaker bloc has most distinct outlets), the
outlet-pair count, their Monte-Carlo p-values under circular time shifts inside the theme's period
(each outlet by its own offset, or the ru bloc by one offset), control coverage, and BH q-values.
Used by ``benchmarks/themes_designs.py``; not a command itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from themes_common import DAY, THEME_BLOCS, Feed

# ---------------------------------------------------------------- synchronisation


def burst(
    times: np.ndarray, blocs: np.ndarray, outlets: np.ndarray, lag: float
) -> tuple[float, str | None, float]:
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
            "pair_stat": stat, "p_outlet": p_outlet, "p_bloc": p_bloc, "burst_stat": bstat,
            "p_burst": p_burst,
            "p_burst_bloc": p_burst_bloc, "p_scan": p_scan, "p_scan_bloc": p_scan_bloc,
            "controls": controls[str(theme)],
        })  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        table["q_outlet"] = bh_qvalues(table["p_outlet"].to_numpy())
        for null in ("bloc", "burst", "burst_bloc", "scan", "scan_bloc"):
            table[f"q_{null}"] = bh_qvalues(table[f"p_{null}"].to_numpy())
    return table


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
    """Monte-Carlo p-value of :func:`burst_stat` (``weighted``: :func:`rarity_weights`) under
    circular shifts inside ``period``: ``mode`` "outlet" (each outlet its own offset) or "bloc"
    (one offset for the whole ru bloc)."""
    lo, hi = period
    n_bins = max(1, int(np.ceil((hi - lo) / BIN)))
    window = max(1, round(lag / BIN))
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
