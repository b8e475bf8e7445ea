"""The embed stage's threads: USE batches encoded side by side, each on one BLAS thread (#28)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info

from detector.embed.embedding import EmbeddingStage, UniversalSentenceEncoder
from detector.store.store import Store

SAMPLE_FEED = Path(__file__).resolve().parents[2] / "data" / "sample" / "feed_2024.csv"


def sample_texts(stage: EmbeddingStage, n: int) -> list[str]:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).head(n)
    return stage.texts(feed)


def test_threads_encode_the_planned_batches_side_by_side_with_the_same_vectors(tmp_path) -> None:
    stage = EmbeddingStage(batch_size=8, threads=2)
    assert stage.embedder.threads == 1  # type: ignore[attr-defined]  # one BLAS thread per call
    texts = sample_texts(stage, 60)
    seen: set[str] = set()
    blas: list[int] = []
    encode = stage.embedder.encode

    def spy(batch: list[str]) -> np.ndarray:
        seen.add(threading.current_thread().name)
        # numpy's BLAS, the one the model calls (FAISS's OpenMP build reports per-thread defaults)
        blas.extend(i["num_threads"] for i in threadpool_info() if "numpy" in i["filepath"])
        return encode(batch)

    stage.embedder.encode = spy  # type: ignore[method-assign]
    with Store(tmp_path / "a.duckdb") as db:
        batches = [batch for shard in stage.plan(db, texts) for batch in shard]
        assert stage.ensure_cached(db, texts) == len({*texts})
        got = stage.cached_vectors(db, [t for batch in batches for _, t in batch])
    alone = UniversalSentenceEncoder(batch_size=8, threads=1)
    expected = np.vstack([alone.encode([t for _, t in batch]) for batch in batches])
    assert np.array_equal(got, expected)  # each batch as if encoded alone, stored in plan order
    assert len(seen) == 2
    assert all(name.startswith("embed") for name in seen)
    assert set(blas) == {1}


def test_one_thread_encodes_in_the_calling_thread(tmp_path) -> None:
    stage = EmbeddingStage(batch_size=8, threads=1)
    texts = sample_texts(stage, 20)
    seen: set[str] = set()
    encode = stage.embedder.encode

    def spy(batch: list[str]) -> np.ndarray:
        seen.add(threading.current_thread().name)
        return encode(batch)

    stage.embedder.encode = spy  # type: ignore[method-assign]
    with Store(tmp_path / "b.duckdb") as db:
        stage.ensure_cached(db, texts)
    assert seen == {threading.current_thread().name}
