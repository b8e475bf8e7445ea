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
from pathlib import Path

import numpy as np
import pandas as pd
from themes_common import (
    DAY,
    MAX_THEME,
    PERIOD_DAYS,
    THEME_BLOCS,
    WARD_CUT,
    Feed,
    agglomerative,
    bloc_first,
    centre_by_language,
    e_vectors,
    evaluate,
    hdbscan_pca,
    leiden_time_knn,
    load_feed,
    members_frame,
    recommended_labels,
    windowed,
)
from themes_nulls import bh_qvalues, sync_table

from detector.evaluate.theme_metrics import campaign_table

# ---------------------------------------------------------------- the sweep

NULLS = ("outlet", "bloc", "burst", "burst_bloc", "scan", "scan_bloc")


def design_labels(feed: Feed, rows: np.ndarray, design: str, period_days: float) -> np.ndarray:
    """Labels over ``rows`` of one named design (see ``--help``)."""
    v, t = feed.vectors[rows], feed.times[rows]
    if design == "ward-capped":
        return recommended_labels(feed, rows, period_days)
    if design == "ward-cut":
        return windowed(t, period_days, lambda r: agglomerative(v[r], "ward", [2.5]))[0]
    if design == "average-cut":
        return windowed(t, period_days, lambda r: agglomerative(v[r], "average", [0.8]))[0]
    if design == "lang-centred-ward-capped":
        c = centre_by_language(feed.vectors, feed.articles["language"].to_numpy())[rows]
        return windowed(t, period_days, lambda r: agglomerative(c[r], "ward", [WARD_CUT], MAX_THEME))[0]
    if design == "bloc-first":
        return bloc_first(feed, feed.vectors, rows, np.inf, 0.9, period_days, MAX_THEME // 2)[0]
    if design == "hdbscan-pca":
        return windowed(t, period_days, lambda r: [hdbscan_pca(v[r], 50, 5)])[0]
    if design == "leiden":
        return leiden_time_knn(v, t, 10, 3.5, 0.1)
    raise SystemExit(f"Error: unknown design {design!r}. Fix: use one of {', '.join(DESIGNS)}")


DESIGNS = (
    "ward-capped",
    "ward-cut",
    "average-cut",
    "lang-centred-ward-capped",
    "bloc-first",
    "hdbscan-pca",
    "leiden",
)


def flag_summary(
    feed: Feed, members: pd.DataFrame, lag_days: float, period_days: float, replicates: int
) -> list[dict[str, object]]:
    """Per null: campaigns found with q <= 0.1, flagged themes and those holding no injected article
    per 1,000 articles, over the family of cross-bloc themes of <= 60 articles with >= 2 outlets in
    each bloc (a shift-invariant pre-filter, so each null stays exact)."""
    span_days = (feed.times.max() - feed.times.min()) / DAY
    period = None if span_days <= period_days else period_days
    table = sync_table(feed, feed.vectors, members, lag_days, period, replicates=replicates)
    family = table[(table["articles"] <= MAX_THEME) & (table["outlets_cn"] >= 2) & (table["outlets_ru"] >= 2)]
    campaigns = campaign_table(members, feed.truth)
    out, n_articles = [], len(feed.articles)
    for null in NULLS:
        q = bh_qvalues(family[f"p_{null}"].to_numpy())
        flagged = family[q <= 0.1]
        found = campaigns[campaigns["leader_right"] & campaigns["theme_id"].isin(set(flagged["theme_id"]))]
        out.append({
            "feed": feed.name, "null": null, "family": len(family), "flagged": len(flagged),
            "campaigns_q_le_0.1": len(found),
            "flagged_without_injected_per_1k": 1000.0 * int((flagged["injected"] == 0).sum()) / n_articles,
            "min_p": float(family[f"p_{null}"].min()) if len(family) else float("nan"),
            "p_floor": 1.0 / (replicates + 1), "span_days": round(span_days, 1),
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/themes-lab"), help="vector cache folder (.npy)"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="a COPY of the embedding store, to fill the cache"
    )
    parser.add_argument(
        "--feeds", nargs="+", default=["campaigns_2024", "campaigns_2022"], help="events/ feeds"
    )
    parser.add_argument(
        "--designs", nargs="+", default=list(DESIGNS[:5]), choices=DESIGNS, help="designs to run"
    )
    parser.add_argument(
        "--period-days", type=float, default=PERIOD_DAYS, help="discovery window and null span"
    )
    parser.add_argument("--lag-days", type=float, default=3.0, help="the burst window of the timing nulls")
    parser.add_argument("--replicates", type=int, default=1999, help="Monte-Carlo shifts per theme")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    e_vectors(args.data, args.cache, args.store)  # file E's vectors, for themes_bertopic.py
    designs, flags = [], []
    for name in args.feeds:
        feed = load_feed(args.data, name, args.cache, args.store)
        rows = np.flatnonzero(feed.articles["bloc"].isin(THEME_BLOCS).to_numpy())
        for design in args.designs:
            started = time.process_time()
            members = members_frame(feed, design_labels(feed, rows, design, args.period_days), rows)
            figures = evaluate(feed, members)
            designs.append(
                {"feed": name, "design": design, "cpu_s": round(time.process_time() - started, 1), **figures}
            )
            if design == "ward-capped":
                flags += flag_summary(feed, members, args.lag_days, args.period_days, args.replicates)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(pd.DataFrame(designs).round(3).to_string(index=False))
        print(pd.DataFrame(flags).round(4).to_string(index=False))
    if args.json:
        machine = {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        }
        payload = {
            "machine": machine,
            "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2),
        }
        payload |= {
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "designs": designs,
            "flags": flags,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
