"""Watchlist recall on the campaign feeds: each dev claim's own summary as a watched narrative.

For every claim of file E (``claim`` column, English only, one statement per entry), track it
over a store holding ``campaigns_<year>_feed.csv`` and measure

* recall: the share of that claim's injected articles (its ``claim`` and ``campaign`` events;
  truth events are mapped to claims through their quotes' text) that hit, pooled over claims,
  and the same for campaign articles alone;
* off-target: hits on articles that belong to no injected event of that claim, per 1,000
  articles of the feed, averaged over claims (real coverage of the claim in the background
  counts here too, so it is an upper bound).

Usage (stores with the feed ingested, e.g. copies of /work/baseline/<tag>/detector.duckdb)::

    python benchmarks/watch_claims.py --data ../shared/data --store 2024=c24.duckdb \
        --store 2022=c22.duckdb --json out/watch_claims.json

Prints one table per year (rows: alpha) and writes the figures with the machine and its load.

``--via-themes`` adds the theme route (issue #26 item 5): the theme stage runs over the feed's span
(``run_themes``, nothing saved), each theme's centroid is the L2-normalised mean of its members'
article vectors, a claim's score with a theme is its statement's cosine to the centroid minus the
centroid's mean cosine to the background bank (the article route's correction), and a claim hits
every member of each theme scoring at least a cut ``t``. ``t`` is one number per store, swept; the
route is compared with the article route at the same off-target rate (the theme cut with the most
recall whose off-target per 1,000 is at most the article route's at that ``alpha``), and the cut
matched on 2024 at each ``alpha`` is also applied to 2022 unchanged (held out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from detector.config import load_config
from detector.pipeline.stages import Stages
from detector.pipeline.themes import run_themes, theme_scope
from detector.store.store import Store
from detector.watch import Filters, NarrativeTracker
from detector.watch.calibrate import BACKGROUND
from detector.watch.units import Units
from detector.watch.watchlist import WatchedNarrative, Watchlist

ALPHAS = (0.01, 0.005, 0.002, 0.001, 0.0005)
SHOWN = ("recall", "campaign_recall", "off_target_per_1k")


def claim_watchlist(claims: pd.DataFrame) -> Watchlist:
    entries = claims.groupby("claim_id", sort=True)["claim"].first()
    return Watchlist(tuple(WatchedNarrative(cid, text, (text,)) for cid, text in entries.items()), "file E")


def claim_articles(feed: pd.DataFrame, truth: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Truth rows with ``claims``: the claims of the article's event (the claims its quotes share)."""
    of_text: dict[str, set[str]] = {}
    for text, cid in zip(claims["text"].str.strip(), claims["claim_id"], strict=True):
        of_text.setdefault(text, set()).add(cid)
    text = dict(zip(feed["id"], feed["text"].fillna("").str.strip(), strict=True))
    truth = truth.assign(quote_claims=truth["id"].map(lambda i: of_text.get(text[i], set())))
    event_claims = {
        eid: set.intersection(*group["quote_claims"]) or set.union(*group["quote_claims"])
        for eid, group in truth.groupby("event_id")
    }
    return truth.assign(claims=truth["event_id"].map(event_claims))


def measure(
    hits: pd.DataFrame, truth: pd.DataFrame, watchlist: Watchlist, n_articles: int
) -> dict[str, float]:
    found = total = camp_found = camp_total = 0
    off = []
    for narrative in watchlist.narratives:
        mine = truth[truth["claims"].map(lambda s, c=narrative.id: c in s)]
        targets = set(mine.loc[mine["kind"].isin(["claim", "campaign"]), "id"])
        campaign = set(mine.loc[mine["kind"] == "campaign", "id"])
        hit = set(hits.loc[hits["watch_id"] == narrative.id, "id"])
        found, total = found + len(hit & targets), total + len(targets)
        camp_found, camp_total = camp_found + len(hit & campaign), camp_total + len(campaign)
        off.append(len(hit - set(mine["id"])) / n_articles * 1000)
    return {
        "recall": round(found / max(total, 1), 3),
        "campaign_recall": round(camp_found / max(camp_total, 1), 3),
        "off_target_per_1k": round(float(np.mean(off)), 2),
        "off_target_per_1k_median": round(float(np.median(off)), 2),
        "targets": total,
        "campaign_targets": camp_total,
    }


def feed_span(feed: pd.DataFrame) -> tuple[datetime, datetime]:
    """``[first day, day after the last)`` of the feed's articles (naive UTC), the theme period."""
    stamps = pd.to_datetime(feed["published_at"], utc=True).dt.tz_localize(None)
    return stamps.min().floor("D").to_pydatetime(), (
        stamps.max().floor("D") + pd.Timedelta(days=1)
    ).to_pydatetime()


def load_units(db: Store, stages: Stages, period: tuple[datetime, datetime]) -> Units:
    """The store's articles in ``period`` split into passages as a daily run splits them (the
    calibration background and the candidates, as in ``detector/pipeline/watch.py``)."""
    articles = db.articles_between(*period).reset_index(drop=True)
    articles = articles.assign(channel_type=articles["outlet"].map(stages.registry.channel_type))
    split = stages.splitter.passages(articles)
    return Units(articles, split, stages.splitter.vectors(db, split))


def theme_scores(
    stages: Stages, db: Store, watchlist: Watchlist, period: tuple[datetime, datetime]
) -> tuple[np.ndarray, list[set[str]]]:
    """Corrected cosine (claims x themes) of each claim's statement with each theme's centroid, and
    each theme's member ids, over the themes the stage finds in ``period``."""
    members = run_themes(stages, db, period, None).report.members
    scope = theme_scope(db, stages.embedding, *period)
    row = {fid: k for k, fid in enumerate(scope.articles["id"])}
    groups = [set(g["id"]) for _, g in members.groupby("theme_id", sort=True)]
    centroids = np.stack([scope.vectors[[row[i] for i in g]].mean(axis=0) for g in groups])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    texts = [n.statements[0] for n in watchlist.narratives] + list(BACKGROUND)
    vectors = stages.embedding.embed_texts(db, texts)[0]
    statements, background = vectors[: len(watchlist)], vectors[len(watchlist) :]
    corrected = statements @ centroids.T - (centroids @ background.T).mean(axis=1)[None, :]
    return corrected, groups


def theme_hits(scores: np.ndarray, groups: list[set[str]], watchlist: Watchlist, cut: float) -> pd.DataFrame:
    """One row per (claim, member of a theme whose score is at least ``cut``)."""
    rows = [
        (narrative.id, fid)
        for k, narrative in enumerate(watchlist.narratives)
        for j in np.flatnonzero(scores[k] >= cut)
        for fid in groups[j]
    ]
    return pd.DataFrame(rows, columns=["watch_id", "id"]).drop_duplicates()


def theme_curve(
    scores: np.ndarray, groups: list[set[str]], truth: pd.DataFrame, watchlist: Watchlist, n_articles: int
) -> list[dict[str, float]]:
    """The theme route at every distinct cut (each claim's score with each theme), high to low."""
    cuts = np.unique(np.round(scores, 4))[::-1]
    return [
        {
            "cut": float(cut),
            **measure(theme_hits(scores, groups, watchlist, cut), truth, watchlist, n_articles),
        }
        for cut in cuts
    ]


def matched(curve: list[dict[str, float]], off_target: float) -> dict[str, float]:
    """The cut with the most recall whose off-target rate is at most ``off_target`` (highest cut if none)."""
    within = [row for row in curve if row["off_target_per_1k"] <= off_target] or curve[:1]
    return max(within, key=lambda row: (row["recall"], row["campaign_recall"], row["cut"]))


def at_cut(curve: list[dict[str, float]], cut: float) -> dict[str, float]:
    """The curve's row at the lowest cut that is at least ``cut`` (a cut carried from another store)."""
    above = [row for row in curve if row["cut"] >= cut]
    return (
        above[-1] if above else {**curve[0], "recall": 0.0, "campaign_recall": 0.0, "off_target_per_1k": 0.0}
    )


def compare(
    results: dict[str, list[dict[str, float]]], curves: dict[str, list[dict[str, float]]]
) -> dict[str, object]:
    """Per year and alpha: the article route, the theme route at its off-target rate, and (for the
    years after the first) the theme route at the cut matched on the first year."""
    first = next(iter(curves))
    rows = []
    for year, curve in curves.items():
        for article in results[year]:
            same = matched(curve, article["off_target_per_1k"])
            row = {"year": year, "alpha": article["alpha"]} | {f"article_{k}": article[k] for k in SHOWN}
            row |= {"theme_cut": same["cut"]} | {f"theme_{k}": same[k] for k in SHOWN}
            if year != first:
                cut = matched(
                    curves[first],
                    next(r for r in results[first] if r["alpha"] == article["alpha"])["off_target_per_1k"],
                )["cut"]
                carried = at_cut(curve, cut)
                row |= {"carried_cut": cut} | {f"carried_{k}": carried[k] for k in SHOWN}
            rows.append(row)
    print("\nvia themes (theme cut matched to the article route's off-target rate at each alpha):")
    print(pd.DataFrame(rows).to_string(index=False))
    return {"comparison": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="the shared data folder (file E and events/)")
    parser.add_argument("--store", action="append", required=True, help="YEAR=store.duckdb (repeat)")
    parser.add_argument("--config", default="configs/default.toml")
    parser.add_argument("--no-background-correction", action="store_true")
    parser.add_argument("--via-themes", action="store_true", help="add the theme route (issue #26 item 5)")
    parser.add_argument("--json", default="out/watch_claims.json")
    args = parser.parse_args()
    data = Path(args.data)
    claims = pd.read_csv(data / "e_propaganda_diary_narratives.csv")
    watchlist = claim_watchlist(claims)
    config = load_config(args.config)
    stages = Stages.from_config(config)
    stage = stages.splitter
    tracker = NarrativeTracker(
        alpha=max(ALPHAS), background_correction=not args.no_background_correction, permutations=0
    )
    results: dict[str, list[dict[str, float]]] = {}
    curves: dict[str, list[dict[str, float]]] = {}
    theme_counts: dict[str, dict[str, int]] = {}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    for spec in args.store:
        year, store_path = spec.split("=", 1)
        feed = pd.read_csv(data / "events" / f"campaigns_{year}_feed.csv")
        truth = claim_articles(feed, pd.read_csv(data / "events" / f"campaigns_{year}_truth.csv"), claims)
        with Store(store_path) as db:
            units = load_units(db, stages, feed_span(feed))
            result = tracker.track_units(db, stage.embedding, watchlist, units, Filters())
            if args.via_themes:
                scores, groups = theme_scores(stages, db, watchlist, feed_span(feed))
                curves[year] = theme_curve(scores, groups, truth, watchlist, len(units.articles))
                theme_counts[year] = {"themes": len(groups), "members": len(set().union(*groups))}
        rows = []
        for alpha in ALPHAS:
            figures = measure(
                result.hits[result.hits["p_value"] <= alpha], truth, watchlist, len(units.articles)
            )
            rows.append({"alpha": alpha, **figures})
        results[year] = rows
        print(f"\ncampaigns_{year}: {len(units.articles)} articles, {len(watchlist)} claims watched")
        print(pd.DataFrame(rows).to_string(index=False))
    report: dict[str, object] = {
        "results": results,
        "background_correction": not args.no_background_correction,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min": load},
    }
    if args.via_themes:
        report["via_themes"] = compare(results, curves) | {"theme_counts": theme_counts, "curves": curves}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
