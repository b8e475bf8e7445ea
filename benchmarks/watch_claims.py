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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from detector.config import load_config
from detector.pipeline.stages import Stages
from detector.store.store import Store
from detector.watch import Filters, NarrativeTracker
from detector.watch.units import load_units
from detector.watch.watchlist import WatchedNarrative, Watchlist

ALPHAS = (0.01, 0.005, 0.002, 0.001, 0.0005)


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="the shared data folder (file E and events/)")
    parser.add_argument("--store", action="append", required=True, help="YEAR=store.duckdb (repeat)")
    parser.add_argument("--config", default="configs/default.toml")
    parser.add_argument("--no-background-correction", action="store_true")
    parser.add_argument("--json", default="out/watch_claims.json")
    args = parser.parse_args()
    data = Path(args.data)
    claims = pd.read_csv(data / "e_propaganda_diary_narratives.csv")
    watchlist = claim_watchlist(claims)
    config = load_config(args.config)
    stages = Stages.from_config(config)
    stage, registry = stages.splitter, stages.registry
    tracker = NarrativeTracker(
        alpha=max(ALPHAS), background_correction=not args.no_background_correction, permutations=0
    )
    results: dict[str, list[dict[str, float]]] = {}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    for spec in args.store:
        year, store_path = spec.split("=", 1)
        feed = pd.read_csv(data / "events" / f"campaigns_{year}_feed.csv")
        truth = claim_articles(feed, pd.read_csv(data / "events" / f"campaigns_{year}_truth.csv"), claims)
        with Store(store_path) as db:
            units = load_units(db, stage, registry)
            result = tracker.track_units(db, stage.embedding, watchlist, units, Filters())
        rows = []
        for alpha in ALPHAS:
            figures = measure(
                result.hits[result.hits["p_value"] <= alpha], truth, watchlist, len(units.articles)
            )
            rows.append({"alpha": alpha, **figures})
        results[year] = rows
        print(f"\ncampaigns_{year}: {len(units.articles)} articles, {len(watchlist)} claims watched")
        print(pd.DataFrame(rows).to_string(index=False))
    report = {
        "results": results,
        "background_correction": not args.no_background_correction,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min": load},
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
