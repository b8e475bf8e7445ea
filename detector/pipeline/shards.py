"""Embedding shards: the Ray engine's unit of embedding work and of resumption.

A shard is one Parquet file of ``text_hash, model_id, vector`` rows (the layout of the store's
``embeddings`` cache, ``vector`` = float32 bytes) holding one shard of
:meth:`detector.embed.embedding.EmbeddingStage.plan`. Its file name is a hash of the model and the text
hashes it holds, so a re-run that plans the same work finds the shards a killed run finished and
skips them. Files are written to a temporary name and renamed, so a shard file is complete or absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from detector.embed.embedding import Batch
from detector.io import atomic_writer


def shard_hashes(shard: list[Batch]) -> list[str]:
    return [h for batch in shard for h, _ in batch]


def shard_path(folder: Path, model_id: str, shard: list[Batch]) -> Path:
    digest = hashlib.sha256("\n".join([model_id, *shard_hashes(shard)]).encode()).hexdigest()
    return folder / f"emb-{digest[:24]}.parquet"


def write_shard(path: Path, hashes: list[str], vectors: np.ndarray, model_id: str) -> None:
    table = pa.table(
        {
            "text_hash": pa.array(hashes, pa.string()),
            "model_id": pa.array([model_id] * len(hashes), pa.string()),
            "vector": pa.array(
                [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors], pa.binary()
            ),
        }
    )
    with atomic_writer(path, "wb") as handle:
        pq.write_table(table, handle)


def read_shard(path: Path) -> pa.Table:
    return pq.read_table(path, columns=["text_hash", "model_id", "vector"])
