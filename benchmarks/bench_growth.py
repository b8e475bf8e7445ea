"""A year in the store: the daily run, search, tracking, show and report as the store grows (#29).

    python -m benchmarks.bench_growth --quick --json benchmarks/results/growth_quick.json
    python -m benchmarks.bench_growth --sizes 10000 100000 300000 1000000 --json results/growth_full.json

**The stores.** Real feed text, resampled: every history article is a copy of a random article of
the four dev feeds (``/work/shared/data/events``: events and campaigns, 2022 and 2024), with a new
id, a date ``DENSITY`` articles a day back from the fixed day (the store grows backwards in time,
so a bigger store is a longer history at the same daily volume, as a year of daily runs makes it),
and a marker ``·<hex id>`` at the end of its title and of each paragraph, so that its passages are
new texts (new cache rows) whose split is that of the original. Its passage vectors are the
original passage's real USE vector plus Gaussian noise, ``normalise(v + sigma * g / sqrt(d))``
with ``sigma = 0.25``: cosine 0.97 to the original and ~0.94 between two copies of one article
(a republication, reworded), never identical; the noise also lowers a copy's cosine to other
articles by ~6 % (sigma 0.62 lowered it 28 %: nearest neighbours at 0.49 instead of 0.60).
``--check`` compares them with real vectors (nearest-neighbour cosines, the watchlist
statements' best matches). Units and vectors are written straight
into the store (no model call); the store starts as a copy of the embedding cache of the dev
feeds (``/work/cache/embeddings.duckdb``), so the fixed day's own texts are cached: the daily run
is cold for its articles (ingest, clustering, decoys, scoring, the archive update) but embeds
nothing, which keeps the model's speed (and the machine's load on it) out of a growth figure.

**The measurements**, per size, each a child process under ``/usr/bin/time`` (wall, CPU, peak
RSS), on a copy of the store (so every size sees the day for the first time): ``detector run`` of
the fixed day (2022-03-16 of events_2022, 277 articles, the biolabs day), ``detector search``
, ``detector track`` with ``configs/watchlist.toml`` over
the last 30 days and over the whole store, ``detector show`` of the run's first flag and
``detector report`` of the run; then search (3 calls) and track (30 days: 2 calls, all: 1) called
in one process, which times an answer without the interpreter's start-up; the store's and the
index's size on disk. Prints a table and writes ``--json``: ``search_s`` and ``track_*_s`` are
the last in-process call, ``daily_run_s`` the run's wall seconds (``daily_run_cpu_s`` its CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.embed.embedding import EmbeddingStage, normalise, text_hash
from detector.embed.passages import PassageStage
from detector.index.archive import ArchiveIndex, archive_path, split_key
from detector.sources.ingest import content_hash
from detector.store import unit_sample
from detector.store import units as unit_table
from detector.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
FEEDS = Path("/work/shared/data/events")
CACHE = Path("/work/cache/embeddings.duckdb")
DAY = pd.Timestamp("2022-03-16", tz="UTC")
DENSITY = 320  # history articles a day: 10k articles = 31 days, the decoy pool's 30 days of history
SIGMA = 0.25
CHUNK = 50_000
QUERY = "The United States runs secret military biological laboratories in Ukraine."


def originals() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(pool, day)``: the dev feeds' articles other than the fixed day's, and the fixed day's."""
    frames = [pd.read_csv(FEEDS / f"{name}_feed.csv", dtype=str, keep_default_na=False)
              for name in ("events_2022", "campaigns_2022", "events_2024", "campaigns_2024")]  # fmt: skip
    pool = pd.concat(frames).drop_duplicates("id").reset_index(drop=True)
    pool["published_at"] = pd.to_datetime(pool["published_at"], utc=True)
    on_day = (pool["published_at"].dt.floor("D") == DAY) & pool["id"].isin(frames[0]["id"])
    return pool[~on_day].reset_index(drop=True), pool[on_day].reset_index(drop=True)


def original_vectors(
    db: Store, stage: PassageStage, pool: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The pool's articles whose passages are all cached; all their passage vectors in one array
    and, per article, the row of its first passage and how many it has (``offsets``, ``counts``)."""
    passages = stage.passages(pool)
    hashes = [text_hash(t) for t in passages["text"]]
    cached = db.cached_hashes(hashes, stage.embedding.model_id)
    passages["hash"] = hashes
    complete = passages.groupby("article_pos")["hash"].agg(lambda h: all(x in cached for x in h))
    keep = complete[complete].index.to_numpy()
    kept = passages[passages["article_pos"].isin(keep)].sort_values(["article_pos", "index"])
    vectors = db.get_embeddings(kept["hash"].tolist(), stage.embedding.model_id)
    counts = kept.groupby("article_pos").size().loc[keep].to_numpy()
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    return pool.iloc[keep].reset_index(drop=True), vectors, np.c_[offsets, counts]


def mark(value: str, tag: str) -> str:
    return (
        "\n".join(f"{line} {tag}" if line.strip() else line for line in value.split("\n")) if value else value
    )


def copies(
    pool: pd.DataFrame, first: int, n: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` copies of random pool articles, numbered from ``first``: the frame and the originals."""
    source = rng.integers(0, len(pool), n)
    frame = pool.iloc[source].reset_index(drop=True)
    number = np.arange(first, first + n)
    tags = [f"·{k:x}" for k in number]
    frame["id"] = [f"g{k:08d}" for k in number]
    frame["title"] = [mark(t, tag) for t, tag in zip(frame["title"], tags, strict=True)]
    frame["text"] = [mark(t, tag) for t, tag in zip(frame["text"], tags, strict=True)]
    time_of_day = frame["published_at"] - frame["published_at"].dt.floor("D")
    frame["published_at"] = DAY - pd.to_timedelta(number // DENSITY + 1, unit="D") + time_of_day
    frame["content_hash"] = [content_hash(t, b) for t, b in zip(frame["title"], frame["text"], strict=True)]
    frame["source_file"], frame["source_row"] = "bench_growth", number
    return frame, source


def grow(
    db: Store, stage: PassageStage, pool: pd.DataFrame, vectors: np.ndarray, spans: np.ndarray, target: int
) -> None:
    """Add copies until the store holds ``target`` history articles (seeded by the count so far)."""
    split, model = split_key(stage), stage.embedding.model_id
    while (have := db.count("articles")) < target:
        n = min(CHUNK, target - have)
        rng = np.random.default_rng(have)
        frame, source = copies(pool, have, n, rng)
        passages = stage.passages(frame)
        pos = passages["article_pos"].to_numpy()
        offset, count = spans[source[pos], 0], spans[source[pos], 1]
        base = vectors[offset + np.minimum(passages["index"].to_numpy(), count - 1)]
        noisy = normalise(
            base + SIGMA * rng.standard_normal(base.shape).astype(np.float32) / np.sqrt(base.shape[1])
        )
        hashes = [text_hash(t) for t in passages["text"]]
        db.upsert_articles(frame)
        db.put_embeddings(hashes, noisy, model)
        unit_table.replace_units(db, split, frame, passages, hashes)
        print(f"  store: {have + n:,} history articles", flush=True)


def timed(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``detector ARGS`` under /usr/bin/time -v: wall and CPU seconds, peak RSS, output."""
    start, load = time.perf_counter(), os.getloadavg()[0]
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "detector", *args],
                          env=env, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"detector {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    stats = dict(re.findall(r"^\s*(.+?): (.+)$", proc.stderr, re.M))
    cpu = float(stats["User time (seconds)"]) + float(stats["System time (seconds)"])
    rss = int(stats["Maximum resident set size (kbytes)"]) / 1024**2
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_gb": round(rss, 3), "load": load,
            "stdout": proc.stdout}  # fmt: skip


def measure(store: Path, day_feed: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Every command on a copy of ``store`` (the fixed day is new to it)."""
    copy = work / "measure.duckdb"
    shutil.copyfile(store, copy)
    shutil.copyfile(archive_path(store), archive_path(copy))
    out, res = work / "out", dict[str, Any]()
    shutil.rmtree(out, ignore_errors=True)
    res["daily_run"] = timed(["run", "-i", str(day_feed), "-o", str(out), "--store", str(copy)], env)
    manifest = json.loads((out / "manifest.json").read_text())
    res["daily_run"]["timings_s"] = manifest["timings_s"]
    res["daily_run"]["pool_articles"] = manifest["decoys"].get("pool_articles")
    res["search"] = timed(["search", QUERY, "--store", str(copy)], env)
    since = (DAY - timedelta(days=29)).strftime("%Y-%m-%d")
    watch = ["track", "-w", "configs/watchlist.toml", "--store", str(copy), "-o", str(work / "track")]
    res["track_30d"] = timed([*watch, "--since", since], env)
    res["track_all"] = timed(watch, env)
    flags = pd.read_csv(out / "flags.csv")
    if len(flags):
        res["show"] = timed(["show", str(flags["narrative_id"].iloc[0]), "--store", str(copy)], env)
    res["calls"] = in_process(copy, since, env)
    res["report"] = timed(
        ["report", "--run", manifest["run_id"], "-o", str(work / "report"), "--store", str(copy)], env
    )
    for value in res.values():
        value.pop("stdout", None)
    res["store_gb"] = round(store.stat().st_size / 1024**3, 3)
    res["archive_gb"] = round(archive_path(store).stat().st_size / 1024**3, 3)
    copy.unlink()
    archive_path(copy).unlink()
    return res


CALLS = """
import json, sys, time
from datetime import datetime
from detector.cli.watch import parts
from detector.config import load_config
from detector.store.store import Store
from detector.watch import Filters, load_watchlist, search
stage, registry, tracker = parts(load_config("configs/default.toml"))
watchlist = load_watchlist("configs/watchlist.toml")
since = datetime.fromisoformat(sys.argv[2])
out = {}
with Store(sys.argv[1]) as db:
    for name, call in [
        ("search", lambda: search(db, stage, registry, sys.argv[3], Filters(), 20, tracker)),
        ("track_30d", lambda: tracker.track(db, stage, registry, watchlist, Filters(since=since))),
        ("track_all", lambda: tracker.track(db, stage, registry, watchlist, Filters())),
    ]:
        times = []
        for _ in range({"search": 3, "track_30d": 2}.get(name, 1)):
            t = time.perf_counter(); call(); times.append(round(time.perf_counter() - t, 3))
        out[name] = times
print(json.dumps(out))
"""


def in_process(store: Path, since: str, env: dict[str, str]) -> dict[str, Any]:
    """Search and track called in one process (model loaded, index opened by the first call):
    the seconds of each call, without the interpreter's start-up and imports."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", CALLS, str(store), since, QUERY],
                          env=env, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"in-process calls failed:\n{proc.stderr[-3000:]}")
    stats = dict(re.findall(r"^\s*(.+?): (.+)$", proc.stderr, re.M))
    calls: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    calls["peak_rss_gb"] = round(int(stats["Maximum resident set size (kbytes)"]) / 1024**2, 3)
    calls["wall_s"] = round(time.perf_counter() - start, 2)
    calls["cpu_s"] = round(float(stats["User time (seconds)"]) + float(stats["System time (seconds)"]), 2)
    return calls


def check_vectors(db: Store, stage: PassageStage, vectors: np.ndarray, n: int = 4000) -> dict[str, Any]:
    """Real unit vectors against the store's perturbed ones: nearest-neighbour cosines within
    each set and the best cosines of the watchlist's statements."""
    rng = np.random.default_rng(7)
    real = vectors[rng.choice(len(vectors), min(n, len(vectors)), replace=False)]
    far = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))
    _, fake = unit_table.sample_units(db, stage.embedding.model_id, split_key(stage), *far, n, 7)[:2]
    import tomllib

    statements = [s for n_ in tomllib.loads((ROOT / "configs/watchlist.toml").read_text())["narrative"]
                  for s in n_["statements"]]  # fmt: skip
    queries = stage.embedding.embed_texts(db, statements)[0]

    def describe(x: np.ndarray) -> dict[str, float]:
        sims = x @ x.T
        np.fill_diagonal(sims, -1)
        nn = sims.max(axis=1)
        best = np.sort(x @ queries.T, axis=0)[-10:].mean()
        return {"nn_p50": float(np.median(nn)), "nn_p90": float(np.quantile(nn, 0.9)),
                "pairs_over_0.7_per_1k": float((sims > 0.7).sum() / 2 / len(x) * 1000),
                "statement_top10_mean": float(best)}  # fmt: skip

    return {"real": describe(real), "perturbed": describe(fake[: len(real)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 10k and 100k")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 300_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_growth"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="compare perturbed with real vectors")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else sorted(args.sizes)
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / "growth.duckdb"
    # Always from the cache: a store an earlier (or interrupted) run grew may hold more than the
    # first size asked for, and growing never shrinks it (one such store measured 496,101 units at
    # "10,000" and "100,000" alike).
    for stale in (store, archive_path(store), store.with_name(store.name + ".lock")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(CACHE, store)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    pool, day = originals()
    day_feed = args.work / "day.csv"
    day.assign(published_at=day["published_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        day_feed, index=False
    )
    stage = PassageStage(embedding=EmbeddingStage())
    with Store(store) as db:
        pool, vectors, spans = original_vectors(db, stage, pool)
    print(f"{len(pool):,} original articles, fixed day {DAY:%Y-%m-%d}: {len(day)} articles")
    results: dict[str, Any] = {
        "sizes": sizes, "density_per_day": DENSITY, "sigma": SIGMA, "per_size": {},
        "machine": f"{os.cpu_count()} cores", "started_load": os.getloadavg(),
    }  # fmt: skip
    for size in sizes:
        with Store(store) as db:
            t0 = time.perf_counter()
            grow(db, stage, pool, vectors, spans, size)
            grown = time.perf_counter() - t0
            t0 = time.perf_counter()
            ArchiveIndex().sync(db, stage)
            indexed = time.perf_counter() - t0
            # The runs of the history's days would have kept the calibration sample (a store's
            # first run past 200k units builds it once): not part of the day's run measured here.
            t0 = time.perf_counter()
            unit_sample.refresh(db, stage.embedding.model_id, split_key(stage))
            sampled = time.perf_counter() - t0
            if args.check and size == sizes[0]:
                results["vector_check"] = check_vectors(db, stage, vectors)
                print(json.dumps(results["vector_check"]), flush=True)
            n_units, n_sampled = db.count("units"), db.count("unit_sample")
        res = measure(store, day_feed, args.work, env)
        res |= {"build_s": round(grown, 1), "index_sync_s": round(indexed, 1), "units": n_units,
                "sample_s": round(sampled, 1), "sample_rows": n_sampled}  # fmt: skip
        results["per_size"][str(size)] = res
        cells = [
            f"{k} {v['wall_s']} s / {v['peak_rss_gb']} GB" for k, v in res.items() if isinstance(v, dict)
        ]
        print(f"{size:>9,}: " + ", ".join(cells), flush=True)
        write(results, args.json)
    table(results)


def write(results: dict[str, Any], path: Path | None) -> None:
    per = results["per_size"]
    results["daily_run_s"] = {s: r["daily_run"]["wall_s"] for s, r in per.items()}
    results["daily_run_cpu_s"] = {s: r["daily_run"]["cpu_s"] for s, r in per.items()}
    for key in ("search", "track_30d", "track_all"):  # warm calls in one process: the last one
        results[f"{key}_s"] = {s: r["calls"][key][-1] for s, r in per.items()}
    results["peak_rss_gb"] = {
        s: max(v["peak_rss_gb"] for v in r.values() if isinstance(v, dict)) for s, r in per.items()
    }
    results["daily_run_peak_rss_gb"] = {s: r["daily_run"]["peak_rss_gb"] for s, r in per.items()}
    results["store_gb"] = {s: r["store_gb"] for s, r in per.items()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1, default=str))


def table(results: dict[str, Any]) -> None:
    keys = ["daily_run", "search", "track_30d", "track_all", "show", "report"]
    print("CLI commands, each a process: wall s (CPU s, peak RSS GB)")
    print("| size | units | " + " | ".join(keys) + " | store GB | index GB |")
    print("|---" * (len(keys) + 4) + "|")
    for size, r in results["per_size"].items():
        cells = [
            f"{r[k]['wall_s']} ({r[k]['cpu_s']}, {r[k]['peak_rss_gb']})" if k in r else "-" for k in keys
        ]
        print(
            f"| {int(size):,} | {r['units']:,} | "
            + " | ".join(cells)
            + f" | {r['store_gb']} | {r['archive_gb']} |"
        )
    print("In one process: seconds of each call (the first opens the index and loads the model)")
    print("| size | search | track 30 d | track all | peak RSS GB |")
    print("|---|---|---|---|---|")
    for size, r in results["per_size"].items():
        c = r["calls"]
        print(f"| {int(size):,} | {c['search']} | {c['track_30d']} | {c['track_all']} | {c['peak_rss_gb']} |")


if __name__ == "__main__":
    main()
