"""What the daily review changes (issue #27): two overlapping daily runs of one store, with an
analyst simulated from an events feed's truth between them.

Day 1 covers the feed's first days, day 2 its last days from the day before day 1 ends (one day
overlaps). After day 1 the simulated analyst confirms every flag that holds an injected event in
both blocs and dismisses every other one (the feed's background has no labelled narratives, so a
flag without an event counts as not one). Day 2 then runs twice on copies of the store: without
the verdicts and with them. The table says how many dismissed narratives day 2 left out or let
back in (with new outlets), whether those let back in hold an event now, the precision of day 2's
flags (event flags / flags) without and with the verdicts, and the confirmed narratives' watch
hits.

    python -m benchmarks.bench_review --feed FEED_feed.csv --store WARM.duckdb [--tag NAME]

``WARM.duckdb`` is a store with the feed's embeddings (copied, never written; articles and runs
are emptied in the copy). Prints a table and writes ``benchmarks/results/review_<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from detector.config import load_config
from detector.pipeline.daily import run_daily
from detector.store.store import Store
from detector.verdicts.exchange import import_file

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "default.toml"


def event_flags(out: Path, truth: pd.DataFrame) -> set[str]:
    """Flags whose members hold one event's articles in both blocs."""
    members = pd.read_parquet(out / "members.parquet")
    joined = members.merge(truth[["id", "event_id"]], on="id")
    blocs = joined.groupby(["narrative_id", "event_id"])["bloc"].agg(lambda s: {"cn", "ru"} <= set(s))
    return {nid for (nid, _), both in blocs.items() if both}


def empty_copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with Store(target) as db, db.transaction() as con:
        for table in ("articles", "runs", "clusters", "flags", "report_rows", "verdicts", "first_flagged"):
            con.execute(f"DELETE FROM {table}")


def measure(feed: Path, store: Path, work: Path) -> dict[str, Any]:
    rows = pd.read_csv(feed, dtype=str, keep_default_na=False)
    truth = pd.read_csv(str(feed).replace("_feed.csv", "_truth.csv"), dtype=str)
    stamps = pd.to_datetime(rows["published_at"], utc=True)
    days = sorted(stamps.dt.normalize().unique())
    cut = days[len(days) // 2]
    day1, day2 = work / "day1.csv", work / "day2.csv"
    rows[stamps < cut + pd.Timedelta(days=1)].to_csv(day1, index=False)
    rows[stamps >= cut].to_csv(day2, index=False)
    config = load_config(CONFIG)
    db = work / "s.duckdb"
    empty_copy(store, db)
    run_daily(config, [str(day1)], work / "o1", db)
    flags1 = pd.read_parquet(work / "o1" / "flags.parquet")
    true1 = event_flags(work / "o1", truth)
    verdicts = flags1[["narrative_id"]].assign(
        verdict=["confirmed" if n in true1 else "dismissed" for n in flags1["narrative_id"]]
    )
    verdicts.to_csv(work / "verdicts.csv", index=False)
    shutil.copyfile(db, work / "without.duckdb")
    import_file(db, str(work / "verdicts.csv"), "simulated analyst")
    run_daily(config, [str(day2)], work / "without", work / "without.duckdb")
    run_daily(config, [str(day2)], work / "with", db)
    without, with_ = (pd.read_parquet(work / o / "flags.parquet") for o in ("without", "with"))
    true_without, true_with = event_flags(work / "without", truth), event_flags(work / "with", truth)
    review = json.loads((work / "with" / "manifest.json").read_text(encoding="utf-8"))["verdicts"]
    dismissed = set(verdicts.loc[verdicts["verdict"] == "dismissed", "narrative_id"])
    hits = work / "with" / "watch_hits.csv"
    hit_rows = (
        pd.read_csv(hits, encoding="utf-8-sig") if hits.is_file() else pd.DataFrame(columns=["watch_id"])
    )
    return {
        "day1": {"articles": int((stamps < cut + pd.Timedelta(days=1)).sum()), "flags": len(flags1),
                 "confirmed": len(true1 & set(flags1["narrative_id"])), "dismissed": len(dismissed)},
        "day2_without_verdicts": {"flags": len(without), "event_flags": len(true_without),
                                  "precision": round(len(true_without) / max(1, len(without)), 3),
                                  "dismissed_flagged_again": len(dismissed & set(without["narrative_id"]))},
        "day2_with_verdicts": {"flags": len(with_), "event_flags": len(true_with),
                               "precision": round(len(true_with) / max(1, len(with_)), 3),
                               "dismissed_left_out": len(review["dismissed_not_flagged"]),
                               "dismissed_resurfaced": len(review["dismissed_resurfaced"]),
                               "resurfaced_holding_an_event": len(set(review["dismissed_resurfaced"])
                                                                  & true_with),
                               "confirmed_tracked": len(review["confirmed_tracked"]),
                               "watch_hits": len(hit_rows)},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feed", required=True, type=Path)
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = measure(args.feed, args.store, Path(folder))
    result |= {"feed": str(args.feed), "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                                    "load_1m": os.getloadavg()[0]}}  # fmt: skip
    for part in ("day1", "day2_without_verdicts", "day2_with_verdicts"):
        print(f"{part:<22} " + ", ".join(f"{k} {v}" for k, v in result[part].items()))
    RESULTS.mkdir(exist_ok=True)
    name = f"review_{args.tag or args.feed.stem}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"-> benchmarks/results/{name}")


if __name__ == "__main__":
    main()
