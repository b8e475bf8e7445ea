"""Backfill at scale into a grown store (#29 item 4): days of 20,000 articles, on the Ray engine.

    python -m benchmarks.bench_backfill_store --store /tmp/bench_growth/growth.duckdb \\
        --days 2 --per-day 20000 --json benchmarks/results/backfill_store.json

**The feed.** ``--days`` days of ``--per-day`` articles each, the days after the growth store's
fixed day (:mod:`benchmarks.bench_growth`): copies of random dev-feed articles with new ids and a
marker in every paragraph, as the growth store's history is made, so every text is new to the
cache (the backfill is cold: every passage is embedded by the model).

**The run.** The store is copied (with its archive index) and ``detector run --engine ray`` of
the whole feed runs on the copy under ``/usr/bin/time`` (wall, CPU, peak RSS): one local Ray
instance of ``--cpus`` CPUs with ``--workers`` embedding actors of one thread each. Prints
a table and writes ``--json`` with the run's stage seconds (from its manifest), the texts
embedded, articles per second and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.bench_growth import DAY, copies, originals, timed
from detector.index.archive import archive_path

ROOT = Path(__file__).resolve().parents[1]


def feed(days: int, per_day: int, path: Path) -> int:
    """Write the backfill's feed CSV; returns its number of articles."""
    pool, _ = originals()
    frames = []
    for day in range(days):
        first = 10**9 + day * per_day  # ids apart from the growth store's g-numbered history
        frame, _ = copies(pool, first, per_day, np.random.default_rng(first))
        time_of_day = frame["published_at"] - frame["published_at"].dt.floor("D")
        frame["published_at"] = DAY + pd.Timedelta(days=day + 1) + time_of_day
        frame["id"] = [f"b{k:010d}" for k in range(first, first + per_day)]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out = out.assign(published_at=out["published_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    columns = ["id", "outlet", "bloc", "language", "published_at", "title", "text", "url"]
    out[columns].to_csv(path, index=False)
    return len(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a store bench_growth grew")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_backfill_store"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    n = feed(args.days, args.per_day, args.work / "feed.csv")
    copy = args.work / "store.duckdb"
    shutil.copyfile(args.store, copy)
    shutil.copyfile(archive_path(args.store), archive_path(copy))
    out = args.work / "out"
    config = args.work / "ray.toml"  # overrides only these keys of the packaged defaults
    config.write_text(
        f'[engine]\nkind = "ray"\ncpus = {args.cpus}\nworkers = {args.workers}\n\n[embed]\nthreads = 1\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    inputs = ["-i", str(args.work / "feed.csv"), "-o", str(out), "--store", str(copy)]
    command = ["run", "-c", str(config), *inputs]
    load = os.getloadavg()
    run = timed(command, env)
    manifest = json.loads((out / "manifest.json").read_text())
    summary = run.pop("stdout").strip().splitlines()
    result: dict[str, Any] = {
        "articles": n, "days": args.days, "per_day": args.per_day, "cpus": args.cpus,
        "workers": args.workers, **run, "articles_per_s": round(n / run["wall_s"], 1),
        "timings_s": manifest["timings_s"], "embedded": manifest["counts"]["embedded"],
        "load_before": load, "load_after": os.getloadavg(), "summary": summary[-1] if summary else "",
    }  # fmt: skip
    print(json.dumps(result, indent=1, default=str))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
