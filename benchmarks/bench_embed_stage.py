"""The embed stage against the bare model on the same texts, in one process (issue #28, item 1).

Per repeat, alternating (the machine is shared: ratios of runs made back to back are the figures
to trust):

* **bare**: the model encodes the batches a cold run plans for the feed's texts (article texts,
  then the passages of split articles) with the stage's own encoder (``[embed] threads`` batches
  side by side), nothing else around it;
* **stage**: what the `embed` lap of `detector run` does on a fresh store: article texts, cache
  look-up, batch plan, model, cache writes, read-back, passage split, the same for passages.

Both use one loaded model object (loading is outside both timings), so the difference is what
the stage adds to the model. Reports wall and CPU seconds (``time.process_time``: all threads of
this process) and the stage's throughput as a share of the bare model's; checks that the vectors
are byte-identical to the bare model's.

    python benchmarks/bench_embed_stage.py --feed ../shared/data/events/campaigns_2022_feed.csv \
        --articles 2000 --repeats 2 [--profile stage.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.config import Config, load_config
from detector.embed.embedding import Batch, EmbeddingStage
from detector.embed.passages import PassageStage
from detector.pipeline.daily import read_feeds
from detector.pipeline.stages import Stages
from detector.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS_2022 = Path("/work/shared/data/events/campaigns_2022_feed.csv")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def planned(
    stage: EmbeddingStage, passages: PassageStage | None, articles: pd.DataFrame, work: Path
) -> list[Batch]:
    """Every batch a cold run encodes, in order: the articles' plan, then the passages' plan
    (whose texts equal to an article text are cached by then, so not in it)."""
    texts = stage.texts(articles)
    with Store(work / "plan.duckdb") as empty:
        batches = [batch for shard in stage.plan(empty, texts) for batch in shard]
        if passages is not None:
            known = set(texts)
            extra = [t for t in passages.passages(articles)["text"] if t not in known]
            batches += [b for shard in stage.plan(empty, extra) for b in shard]
    return batches


def bare(stage: EmbeddingStage, batches: list[Batch]) -> tuple[dict[str, Any], np.ndarray]:
    before, start, cpu = load(), time.perf_counter(), time.process_time()
    with ExitStack() as stack:  # the stage's own calls: `threads` batches side by side
        vectors = list(stage.encoder(stack)([[t for _, t in batch] for batch in batches]))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = sum(len(b) for b in batches)
    figures = {"texts": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
               "texts_per_s": round(n / wall, 1), "load_before": before, "load_after": load()}  # fmt: skip
    return figures, np.vstack(vectors)


def staged(
    stage: EmbeddingStage, passages: PassageStage | None, articles: pd.DataFrame, store: Path
) -> dict[str, Any]:
    """The embed lap of `run_daily` (detector/pipeline/daily.py) on a fresh store."""
    before, start, cpu = load(), time.perf_counter(), time.process_time()
    with Store(store) as db:
        db.upsert_articles(articles)
        stored = db.articles_between(articles["published_at"].min().tz_convert(None).to_pydatetime(),
                                     articles["published_at"].max().tz_convert(None).to_pydatetime()
                                     + pd.Timedelta(seconds=1))  # fmt: skip
        setup = time.perf_counter()
        texts = stage.texts(stored)
        n = stage.ensure_cached(db, texts)
        stage.cached_vectors(db, texts)
        if passages is not None:
            frame = passages.passages(stored)
            n += stage.ensure_cached(db, frame["text"].tolist())
            stage.cached_vectors(db, frame["text"].tolist())
        end = time.perf_counter()
    cpu = time.process_time() - cpu
    figures = {"texts": n, "wall_s": round(end - setup, 2), "store_setup_s": round(setup - start, 2),
               "cpu_s": round(cpu, 2), "texts_per_s": round(n / (end - setup), 1),
               "load_before": before, "load_after": load()}  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", type=Path, default=CAMPAIGNS_2022)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.toml")
    parser.add_argument("--articles", type=int, default=2000, help="the feed's first N articles (0 = all)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", type=Path, help="cProfile the last stage run into this file")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / f"embed_stage_{date.today()}.json"
    )
    args = parser.parse_args()
    config: Config = load_config(args.config)
    articles = read_feeds(config, [str(args.feed)]).articles
    if args.articles:
        articles = articles.sort_values(["published_at", "id"]).head(args.articles).reset_index(drop=True)
    stages = Stages.from_config(config)
    stage, passages = stages.embedding, stages.splitter if stages.by_passage else None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        work = Path(tmp)
        batches = planned(stage, passages, articles, work)
        stage.embedder.encode([batches[0][0][1]])  # loads the model outside both timings
        for repeat in range(args.repeats):
            b, reference = bare(stage, batches)
            profiler = cProfile.Profile() if args.profile and repeat == args.repeats - 1 else None
            if profiler:
                profiler.enable()
            s = staged(stage, passages, articles, work / f"stage{repeat}.duckdb")
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            with Store(work / f"stage{repeat}.duckdb") as db:
                cached = stage.cached_vectors(db, [t for batch in batches for _, t in batch])
            row = {"repeat": repeat, "bare": b, "stage": s,
                   "throughput_share": round(s["texts_per_s"] / b["texts_per_s"], 3),
                   "cpu_ratio": round(s["cpu_s"] / b["cpu_s"], 3),
                   "identical": bool(np.array_equal(cached, reference))}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
              "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
              "feed": str(args.feed), "articles": len(articles), "rows": rows}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
