"""Backfill throughput: the local engine against the Ray engine with 1 and 2 embedding workers.

Data: the bundled sample (data/sample/feed_2024.csv, 1,171 real articles over 6 days), or any
feed given with ``--feed``, cut into daily shards. Every run is a whole cold backfill
(`run_daily` into an empty store: ingest, embed every text, cluster, score, report), because
embedding is what bounds a backfill. The Ray runs join one local Ray instance (``--cpus`` CPUs,
started once, its start-up time reported apart, as a cluster outlives a backfill); each run still
starts its own actor pool, loading the model once per actor, as a real backfill does.

    python benchmarks/bench_backfill.py              # 1 repeat per setting
    python benchmarks/bench_backfill.py --repeats 3  # best of 3

Prints a table and writes benchmarks/results/backfill_<date>.json. "overhead" compares a Ray
row with the local row on the same number of cores: local articles/s / Ray articles/s - 1.
The machine is shared: the load average before and after each run is recorded with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.config import Config, load_config
from detector.pipeline.daily import engine_for, run_daily
from detector.pipeline.engine import LocalEngine

ROOT = Path(__file__).resolve().parents[1]
FEED = ROOT / "data" / "sample" / "feed_2024.csv"


@dataclass(frozen=True)
class Setting:
    name: str
    engine: str
    workers: int
    threads: int  # [embed] threads: per actor on Ray

    @property
    def cores(self) -> int:
        return self.threads * max(self.workers, 1)


SETTINGS = (
    Setting("local, 1 thread", "local", 0, 1),
    Setting("local, 2 threads", "local", 0, 2),
    Setting("ray, 1 worker x 1 thread", "ray", 1, 1),
    Setting("ray, 1 worker x 2 threads", "ray", 1, 2),
    Setting("ray, 2 workers x 1 thread", "ray", 2, 1),
)


def daily_shards(folder: Path, source: Path) -> str:
    feed = pd.read_csv(source, dtype=str, keep_default_na=False)
    day = pd.to_datetime(feed["published_at"], utc=True).dt.strftime("%Y-%m-%d")
    for value, group in feed.groupby(day):
        group.to_csv(folder / f"feed_{value}.csv", index=False)
    return str(folder / "feed_*.csv")


def configure(base: Config, setting: Setting) -> Config:
    return replace(
        base,
        embed=replace(base.embed, threads=setting.threads),
        engine=replace(base.engine, kind=setting.engine, workers=setting.workers),
    )


def measure(base: Config, setting: Setting, shards: str, work: Path) -> dict[str, Any]:
    config = configure(base, setting)
    engine = LocalEngine() if setting.engine == "local" else engine_for(config)
    out = Path(tempfile.mkdtemp(dir=work))
    load_before = os.getloadavg()[0]
    cpu_before = os.times()
    start = time.perf_counter()
    summary = run_daily(config, [shards], out, out / "detector.duckdb", engine)
    seconds = time.perf_counter() - start
    cpu = os.times()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {
        "setting": setting.name, "engine": setting.engine, "workers": setting.workers,
        "threads": setting.threads, "cores": setting.cores, "articles": summary.n_articles,
        "embedded": summary.n_embedded, "flags": summary.n_flags, "seconds": round(seconds, 2),
        "articles_per_s": round(summary.n_articles / seconds, 1),
        "driver_cpu_s": round((cpu.user - cpu_before.user) + (cpu.system - cpu_before.system), 1),
        **{f"{stage}_s": value for stage, value in manifest["timings_s"].items()},
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per setting; the fastest is kept")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--object-store-mb", type=int, default=256)
    parser.add_argument("--feed", type=Path, default=FEED, help="feed to cut into daily shards")
    parser.add_argument(
        "--settings", nargs="+", choices=[s.name for s in SETTINGS], help="run only these (default: all)"
    )
    parser.add_argument("--tag", default="", help="suffix of the JSON file name")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    import ray

    began = time.perf_counter()
    ray.init(
        num_cpus=args.cpus, object_store_memory=args.object_store_mb * 2**20, include_dashboard=False,
        logging_level=logging.WARNING,
    )  # fmt: skip
    ray_start_s = round(time.perf_counter() - began, 2)
    base = load_config(ROOT / "configs" / "default.toml")
    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    shards = daily_shards(work, args.feed)
    rows = []
    for setting in [s for s in SETTINGS if not args.settings or s.name in args.settings]:
        runs = [measure(base, setting, shards, work) for _ in range(args.repeats)]
        best = max(runs, key=lambda r: r["articles_per_s"])
        best["all_seconds"] = [r["seconds"] for r in runs]
        print({k: best[k] for k in ("setting", "seconds", "articles_per_s", "embed_s", "load_before")})
        rows.append(best)
    ray.shutdown()
    local = {r["cores"]: r["articles_per_s"] for r in rows if r["engine"] == "local"}
    for row in rows:
        if row["engine"] == "ray" and row["cores"] in local:
            row["overhead_vs_local_same_cores"] = round(local[row["cores"]] / row["articles_per_s"] - 1, 3)
    table = pd.DataFrame(rows)
    columns = ["setting", "cores", "seconds", "articles_per_s", "overhead_vs_local_same_cores", "ingest_s",
               "embed_s", "cluster_s", "score_s", "load_before", "load_after"]  # fmt: skip
    print(table[[c for c in columns if c in table]].to_string(index=False))
    print(f"Ray instance start: {ray_start_s} s (not in any row)")
    out = (
        ROOT
        / "benchmarks"
        / "results"
        / f"backfill_{date.today():%Y%m%d}{'_' + args.tag if args.tag else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{os.cpu_count()} cores, shared", "feed": str(args.feed),
            "shards": len(list(work.glob("feed_*.csv"))), "ray_start_s": ray_start_s,
            "ray_cpus": args.cpus, "repeats": args.repeats}  # fmt: skip
    out.write_text(json.dumps({**meta, "rows": rows}, indent=2, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
