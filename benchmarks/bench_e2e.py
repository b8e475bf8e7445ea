"""A whole `detector run`, cold and warm, next to embedding alone and a D3lta-like baseline (#19).

For each config and feed, alternating configs within each repeat (the machine is shared, so the
ratios of runs made back to back are the figures to trust):

* **cold**: `python -m detector run` in a child process on an empty store: wall seconds, the
  manifest's per-stage ``timings_s``, texts embedded and texts/s, peak RSS of the child;
* **warm**: the same command again on that store (nothing to embed);
* **embed alone**: in this process, a fresh backend encodes the same texts (the articles and
  passages the run embedded, in the batches the stage plans) with nothing else around it;
* **D3lta-like**: on the run's own article vectors, the baseline of VIGINUM's D3lta: FAISS range
  search at cosine >= 0.715, edges kept only between articles at most 72 h apart, connected
  components, a flag for every component with both a cn and a ru article. Timed from vectors in
  memory; scored against the feed's truth file when there is one, like ``detector eval``.

    python benchmarks/bench_e2e.py                                   # sample + campaigns_2022
    python benchmarks/bench_e2e.py --feed data/sample/feed_2024.csv --repeats 3 \
        --config configs/default.toml --config old.toml
    python benchmarks/bench_e2e.py --vs-d3lta --feed ../shared/data/events/campaigns_2022_feed.csv

``--vs-d3lta`` instead runs the real D3lta (``benchmarks/d3lta_run.py`` in D3lta's own
environment, ``--d3lta-python``) and a cold ``detector run`` back to back on the same feed, the
same model and the same ``[embed] max_chars`` truncation, alternating which goes first per repeat,
and prints each side's stage seconds and the ratio of wall times (ours / D3lta).

Prints a table and writes benchmarks/results/e2e_<date>.json with the machine and the load
average before and after every run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.config import Config, load_config
from detector.embed.embedding import EmbeddingStage
from detector.evaluate.data import events_from_truth
from detector.evaluate.metrics import Narrative, score_events
from detector.pipeline.daily import read_feeds
from detector.pipeline.stages import Stages
from detector.store.store import Store
from detector.times import epoch_seconds

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "feed_2024.csv"
CAMPAIGNS_2022 = Path("/work/shared/data/events/campaigns_2022_feed.csv")
D3LTA_PYTHON = Path("/work/venvs/d3lta/bin/python")
D3LTA_THRESHOLD = 0.715
LAG_HOURS = 72.0

log = logging.getLogger("bench_e2e")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def truth_for(feed: Path) -> Path | None:
    """``x_feed.csv`` -> ``x_truth.csv``; the sample's ``feed_2024.csv`` -> ``truth_2024.csv``."""
    for name in (feed.name.replace("_feed.csv", "_truth.csv"), feed.name.replace("feed_", "truth_")):
        if name != feed.name and (feed.parent / name).is_file():
            return feed.parent / name
    return None


def run_child(config: Path, feed: Path, out: Path, store: Path) -> dict[str, Any]:
    """One `detector run` in a child process: wall s, peak RSS and the manifest's figures."""
    command = [sys.executable, "-m", "detector", "run", "--config", str(config), "--input", str(feed)]
    command += ["--out", str(out), "--store", str(store)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    before, start = load(), time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    timings = manifest["timings_s"]
    embedded = manifest["counts"]["embedded"]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "stages_s": timings,
        "stages_sum_s": round(sum(timings.values()), 2),
        "embedded": embedded,
        "embed_texts_per_s": round(embedded / timings["embed"], 1) if embedded else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "flags": manifest["counts"]["flags"],
        "load_before": before,
        "load_after": load(),
    }


def run_texts(config: Config, articles: pd.DataFrame) -> tuple[EmbeddingStage, list[str], list[str]]:
    """The stage, the article texts and every text a cold run embeds (articles and passages)."""
    stage = EmbeddingStage(**config.arguments("embed"))
    article_texts = stage.texts(articles)
    texts = list(article_texts)
    stages = Stages.from_config(config)
    if stages.by_passage:
        texts += stages.splitter.passages(articles)["text"].tolist()
    return stage, article_texts, texts


def embed_alone(config: Config, stage: EmbeddingStage, texts: list[str], work: Path) -> dict[str, Any]:
    """A fresh backend encodes the batches a cold run plans for ``texts`` (an empty store)."""
    with Store(work / "plan.duckdb") as empty:
        batches = [batch for shard in stage.plan(empty, texts) for batch in shard]
    before, start, cpu = load(), time.perf_counter(), time.process_time()
    embedder = EmbeddingStage(**config.arguments("embed")).embedder  # a backend of its own, not loaded
    embedder.encode([batches[0][0][1]])  # loads the model
    loaded = time.perf_counter()
    for batch in batches:
        embedder.encode([text for _, text in batch])
    end, cpu = time.perf_counter(), time.process_time() - cpu
    n = sum(len(batch) for batch in batches)
    return {
        "texts": n,
        "load_s": round(loaded - start, 2),
        "encode_s": round(end - loaded, 2),
        "total_s": round(end - start, 2),
        "cpu_s": round(cpu, 2),
        "texts_per_s": round(n / (end - loaded), 1),
        "load_before": before,
        "load_after": load(),
    }


def d3lta_like(vectors: np.ndarray, articles: pd.DataFrame) -> tuple[list[Narrative], float]:
    """Range search at cosine >= 0.715, the 72 h lag rule, connected components, cn+ru flags."""
    start = time.perf_counter()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    limits, _, neighbours = index.range_search(vectors, D3LTA_THRESHOLD)
    rows = np.repeat(np.arange(len(vectors)), np.diff(limits.astype(np.int64)))
    hours = epoch_seconds(articles["published_at"]) / 3600.0
    keep = (rows < neighbours) & (np.abs(hours[rows] - hours[neighbours]) <= LAG_HOURS)
    n = len(vectors)
    graph = coo_matrix((np.ones(int(keep.sum())), (rows[keep], neighbours[keep])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    frame = pd.DataFrame({"label": labels, "id": articles["id"], "bloc": articles["bloc"], "hour": hours})
    narratives = []
    for label, group in frame.groupby("label"):
        if {"cn", "ru"} <= set(group["bloc"]):
            first = group[group["bloc"].isin(["cn", "ru"])].sort_values("hour").iloc[0]["bloc"]
            narratives.append(Narrative(f"D{label}", frozenset(group["id"]), str(first)))
    return narratives, time.perf_counter() - start


def baseline(config: Config, feed: Path, articles: pd.DataFrame, store: Path) -> dict[str, Any]:
    stage, article_texts, _ = run_texts(config, articles)
    with Store(store) as db:
        vectors = stage.cached_vectors(db, article_texts)
    narratives, seconds = d3lta_like(vectors, articles)
    result: dict[str, Any] = {"seconds": round(seconds, 3), "flags": len(narratives)}
    truth = truth_for(feed)
    if truth is not None:
        bloc_of = dict(zip(articles["id"], articles["bloc"], strict=True))
        events = events_from_truth(pd.read_csv(truth, dtype=str), bloc_of)
        scores = score_events(events, narratives, len(articles))
        result |= {
            "recall_by_kind": scores.recall_by_kind,
            "false_flags_per_1k": round(scores.false_flags_per_1000, 2),
            "sweeps": scores.n_sweeps,
        }
    return result


def measure(config_path: Path, feed: Path, work: Path) -> dict[str, Any]:
    config = load_config(config_path)
    articles = read_feeds(config, [str(feed)]).articles
    stage, _, texts = run_texts(config, articles)
    store = work / "store.duckdb"
    cold = run_child(config_path, feed, work / "cold", store)
    warm = run_child(config_path, feed, work / "warm", store)
    alone = embed_alone(config, stage, texts, work)
    d3lta = baseline(config, feed, articles, store)
    not_embed = cold["stages_sum_s"] - cold["stages_s"]["embed"]
    return {
        "config": str(config_path),
        "backend": config.embed.backend,
        "model_id": stage.model_id,
        "feed": str(feed),
        "articles": len(articles),
        "cold": cold,
        "warm": warm,
        "embed_alone": alone,
        "d3lta_like": d3lta,
        "cold_wall_over_embed_alone": round(cold["wall_s"] / alone["total_s"], 3),
        "cold_cpu_over_embed_alone": round(cold["cpu_s"] / alone["cpu_s"], 3),
        "stages_over_embed_alone": round(cold["stages_sum_s"] / alone["total_s"], 3),
        "our_non_embed_s": round(not_embed, 2),
        "our_non_embed_over_d3lta": round(not_embed / max(d3lta["seconds"], 1e-3), 1),
        "warm_wall_over_d3lta": round(warm["wall_s"] / max(d3lta["seconds"], 1e-3), 1),
        # The theme stage's share of the run (issue #26: <= 25 % of a cold run on campaigns_2022).
        "cold_themes_share": round(cold["stages_s"].get("themes", 0.0) / max(cold["stages_sum_s"], 1e-3), 3),
        "warm_themes_share": round(warm["stages_s"].get("themes", 0.0) / max(warm["stages_sum_s"], 1e-3), 3),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ("feed", "backend", "cold s", "embed s", "texts/s", "alone s", "alone t/s", "cold/alone",
            "cold/alone CPU", "warm s", "RSS MB", "rest s", "D3lta s", "rest/D3lta", "themes s",
            "themes/cold", "themes/warm", "load")  # fmt: skip
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        c, a = r["cold"], r["embed_alone"]
        cells = (
            Path(r["feed"]).stem, r["backend"], c["wall_s"], c["stages_s"]["embed"], c["embed_texts_per_s"],
            a["total_s"], a["texts_per_s"], r["cold_wall_over_embed_alone"], r["cold_cpu_over_embed_alone"],
            r["warm"]["wall_s"],
            c["peak_rss_mb"], r["our_non_embed_s"], r["d3lta_like"]["seconds"],
            r["our_non_embed_over_d3lta"], c["stages_s"].get("themes", 0.0), r["cold_themes_share"],
            r["warm_themes_share"], f"{c['load_before']}-{a['load_after']}",
        )  # fmt: skip
        lines.append(" | ".join(str(x) for x in cells))
    return "\n".join(lines)


def run_d3lta(python: Path, feed: Path, max_chars: int, out: Path) -> dict[str, Any]:
    """The real D3lta in a child process of its own environment: wall and CPU s, its stages."""
    command = [str(python), str(ROOT / "benchmarks" / "d3lta_run.py"), str(feed)]
    command += ["--max-chars", str(max_chars), "--json", str(out)]
    before, start = load(), time.perf_counter()
    child = subprocess.Popen(command, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    result = json.loads(out.read_text())
    seconds = result["seconds"]
    match = ("create_index_cosine", "find_matches", "compute_duplicate_types", "create_dataset_clusters")
    stages = {
        "import": seconds["import"],
        "prepare": seconds["read"] + seconds["prepare_dataset"],
        "embed": seconds["model_load"] + seconds["compute_embeddings"],
        "match": round(sum(seconds[s] for s in match), 3),
    }
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "stages_s": stages, "d3lta": result, "load_before": before, "load_after": load()}  # fmt: skip


def versus_d3lta(config_path: Path, feed: Path, repeat: int, python: Path, work: Path) -> dict[str, Any]:
    """One pair, cold: D3lta and `detector run`, in the order the repeat's parity says."""
    max_chars = load_config(config_path).embed.max_chars
    runs: dict[str, dict[str, Any]] = {}
    for side in ("d3lta", "ours") if repeat % 2 == 0 else ("ours", "d3lta"):
        if side == "d3lta":
            runs[side] = run_d3lta(python, feed, max_chars, work / "d3lta.json")
        else:
            runs[side] = run_child(config_path, feed, work / "cold", work / "store.duckdb")
    ours, theirs = runs["ours"], runs["d3lta"]
    return {
        "feed": str(feed), "config": str(config_path), "repeat": repeat, "first": next(iter(runs)),
        "ours": ours, "d3lta": theirs,
        "ours_over_d3lta_wall": round(ours["wall_s"] / theirs["wall_s"], 3),
        "ours_over_d3lta_cpu": round(ours["cpu_s"] / theirs["cpu_s"], 3),
        "embed_ours_over_d3lta": round(ours["stages_s"]["embed"] / theirs["stages_s"]["embed"], 3),
    }  # fmt: skip


def versus_table(rows: list[dict[str, Any]]) -> str:
    head = ("feed", "repeat", "first", "D3lta wall s (CPU s)", "D3lta import/prepare/embed/match s",
            "ours wall s (CPU s)", "ours stages s", "ours / D3lta", "embed ours / D3lta", "load")  # fmt: skip
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        o, d = r["ours"], r["d3lta"]
        ours_stages = ", ".join(f"{k} {v:.1f}" for k, v in o["stages_s"].items())
        cells = (
            Path(r["feed"]).stem, r["repeat"], r["first"], f"{d['wall_s']} ({d['cpu_s']})",
            "/".join(f"{v:.1f}" for v in d["stages_s"].values()), f"{o['wall_s']} ({o['cpu_s']})",
            ours_stages, r["ours_over_d3lta_wall"], r["embed_ours_over_d3lta"],
            f"{min(o['load_before'], d['load_before'])}-{max(o['load_after'], d['load_after'])}",
        )  # fmt: skip
        lines.append(" | ".join(str(x) for x in cells))
    return "\n".join(lines)


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "rows": rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config", action="append", type=Path, help="repeatable; default configs/default.toml"
    )
    parser.add_argument(
        "--feed", action="append", type=Path, help="repeatable; default sample + campaigns_2022"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--vs-d3lta", action="store_true", help="the real D3lta and a cold run, alternating")
    parser.add_argument("--d3lta-python", type=Path, default=D3LTA_PYTHON, help="python of D3lta's venv")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / f"e2e_{date.today()}.json"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    configs = args.config or [ROOT / "configs" / "default.toml"]
    feeds = args.feed or [SAMPLE, CAMPAIGNS_2022]
    rows: list[dict[str, Any]] = []
    if args.vs_d3lta:
        for feed in args.feed or [CAMPAIGNS_2022]:
            for repeat in range(args.repeats):
                with tempfile.TemporaryDirectory(prefix="bench-e2e-") as work:
                    rows.append(versus_d3lta(configs[0], feed, repeat, args.d3lta_python, Path(work)))
                log.info("%s: ours / D3lta %.2f", feed.name, rows[-1]["ours_over_d3lta_wall"])
                write(args.out, rows)
        print(versus_table(rows))
        print(f"wrote {args.out}")
        return
    for feed in feeds:
        for repeat in range(args.repeats):
            for config in configs:
                with tempfile.TemporaryDirectory(prefix="bench-e2e-") as work:
                    row = measure(config, feed, Path(work)) | {"repeat": repeat}
                rows.append(row)
                log.info("%s %s: cold %.1f s, embed alone %.1f s", feed.name, config.name,
                         row["cold"]["wall_s"], row["embed_alone"]["total_s"])  # fmt: skip
                write(args.out, rows)  # after every row: a long run interrupted keeps what it measured
    print(table(rows))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
