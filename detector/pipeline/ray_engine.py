"""The Ray engine: the local stages, fanned out over a Ray cluster (``pip install '.[ray]'``).

* Input files are read and validated by Ray Data tasks, one file per task, with the ingest
  code itself (:meth:`detector.sources.ingest.FeedReader.read_file`); the head merges them in file order.
* Embedding runs in a Ray Data actor pool: each actor builds the ``[embed]`` backend once and
  encodes whole model batches of :meth:`detector.embed.embedding.EmbeddingStage.plan` (the batches the local
  engine encodes, so vectors are bit-identical at equal ``[embed] threads``). Vectors stream
  back to the head, which writes each finished shard as a Parquet file (``detector/pipeline/shards.py``)
  and, when all are done, loads them into the DuckDB store in one transaction. A re-run after a
  kill skips the shards already written.
* Windows (clustering) and narratives (scoring) become Ray tasks in chunks; results come back in
  item order, and narratives are linked across windows on the head, in window order.

Only the head process opens the store; workers read input files and return results.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from detector.embed.embedding import EmbeddingStage, call_threads, make_embedder, require
from detector.engine_options import RayOptions
from detector.errors import DetectorError
from detector.faults import checkpoint
from detector.pipeline.shards import read_shard, shard_hashes, shard_path, write_shard
from detector.store.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
TASKS_PER_CPU = 4  # chunks per CPU for windows and narratives: small enough to balance, few enough to pay off


class RayEngine(RayOptions):
    """Runs the stages on Ray, with the options of :class:`detector.engine_options.RayOptions`
    (its constructor)."""

    # ---- the cluster ------------------------------------------------------------------------
    def ray(self) -> Any:
        """The ``ray`` module, connected (lazily: nothing is imported or started before use)."""
        if not hasattr(self, "ray_"):
            ray = require("ray", "the Ray engine needs the optional extra: pip install '.[ray]'")
            require("ray.data", "the Ray engine needs Ray Data: pip install '.[ray]'")
            self.started_ = False
            if not ray.is_initialized():
                address = self.address or os.environ.get("RAY_ADDRESS", "")
                if address:
                    ray.init(address=address, logging_level=logging.WARNING)
                else:
                    ray.init(
                        num_cpus=self.cpus or None,
                        object_store_memory=self.object_store_mb * 2**20 or None,
                        include_dashboard=False,
                        logging_level=logging.WARNING,
                    )
                    self.started_ = True
            context = ray.data.DataContext.get_current()
            context.execution_options.preserve_order = True  # shards finish in plan order
            context.enable_progress_bars = False
            context.print_on_execution_start = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            self.ray_ = ray
        return self.ray_

    def cluster_cpus(self) -> int:
        return max(1, int(self.ray().cluster_resources().get("CPU", 1)))

    def close(self) -> None:
        """Stop the private instance this engine started (a joined cluster keeps running)."""
        if getattr(self, "started_", False):
            self.ray_.shutdown()
            self.started_ = False

    def _get(self, refs: Any) -> Any:
        """``ray.get``, re-raising a task's domain error as itself (one clean line in the CLI)."""
        ray = self.ray()
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, DetectorError):
                raise exc.cause from None
            raise

    # ---- mappers ----------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        """Ray tasks over chunks of ``items``; ``fn`` (with the arrays it carries) is put in the
        object store once and shared by every task."""
        if not items:
            return []
        ray = self.ray()
        task = ray.remote(_apply)
        fn_ref = ray.put(fn)
        chunks = np.array_split(np.arange(len(items)), min(len(items), TASKS_PER_CPU * self.cluster_cpus()))
        refs = [task.remote(fn_ref, [items[i] for i in chunk]) for chunk in chunks]
        return [result for part in self._get(refs) for result in part]

    def map_files(self, fn: Callable[[T], R], files: Sequence[T], /) -> list[R]:
        """Ray Data over the files, one task per file; results (or the first error) in file order."""
        if not files:
            return []
        ray = self.ray()
        rows = [{"position": i, "file": f} for i, f in enumerate(files)]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map(partial(_read_row, fn))
        done = sorted(dataset.take_all(), key=lambda row: int(row["position"]))
        results = [pickle.loads(row["result"]) for row in done]
        for result in results:
            if isinstance(result, DetectorError):
                raise result
        return results

    # ---- embedding --------------------------------------------------------------------------
    def embed(self, embedding: EmbeddingStage, store: Store, texts: list[str]) -> int:
        """Encode the shards of the plan no earlier attempt wrote, then load every shard of the
        plan into the store in one transaction; returns how many texts were encoded now."""
        shards = embedding.plan(store, texts, self.shard_texts)
        if not shards:
            log.info("embeddings: all %d texts cached for %s", len(texts), embedding.model_id)
            return 0
        model_id = embedding.model_id
        folder = Path(self.shard_dir) if self.shard_dir else store.path.with_name(store.path.name + ".shards")
        folder.mkdir(parents=True, exist_ok=True)
        paths = [shard_path(folder, model_id, shard) for shard in shards]
        todo = [i for i, path in enumerate(paths) if not path.is_file()]
        n_todo = sum(len(shard_hashes(shards[i])) for i in todo)
        log.info("embeddings: %d texts to embed in %d shards, %d shards already written in %s",
                 n_todo, len(todo), len(shards) - len(todo), folder)  # fmt: skip
        if todo:
            self._encode_shards(embedding, shards, paths, todo, model_id)
        store.put_embedding_tables(read_shard(path) for path in paths)
        for path in paths:  # loaded: the store's cache is now the record of this work
            path.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()
        return n_todo

    def _encode_shards(
        self, embedding: EmbeddingStage, shards: list[Any], paths: list[Path], todo: list[int], model_id: str
    ) -> None:
        ray = self.ray()
        rows = [
            {"shard": i, "batch": j, "texts": [text for _, text in batch]}
            for i in todo
            for j, batch in enumerate(shards[i])
        ]
        workers = self.workers or max(1, self.cluster_cpus() // embedding.threads)
        encoded = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            _Encoder,
            fn_constructor_kwargs={
                "backend": embedding.backend, "model_path": embedding.model_path,
                "batch_size": embedding.batch_size,
                "threads": call_threads(embedding.backend, embedding.threads),  # the local engine's
            },
            batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=embedding.threads,
            batch_format="numpy",
        )  # fmt: skip
        vectors: dict[int, dict[int, np.ndarray]] = {i: {} for i in todo}
        for row in encoded.iter_rows():
            i, j = int(row["shard"]), int(row["batch"])
            vectors[i][j] = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(shards[i][j]), -1)
            if len(vectors[i]) == len(shards[i]):
                shard = np.vstack([vectors[i][b] for b in range(len(shards[i]))])
                write_shard(paths[i], shard_hashes(shards[i]), shard, model_id)
                del vectors[i]
                checkpoint("shard_written")


def _apply(fn: Callable[[T], R], items: list[T]) -> list[R]:
    return [fn(item) for item in items]


def _read_row(fn: Callable[[Any], Any], row: dict[str, Any]) -> dict[str, Any]:
    try:
        result: Any = fn(row["file"])
    except DetectorError as exc:  # returned, not raised: the head raises the first in file order
        result = exc
    return {"position": row["position"], "result": pickle.dumps(result)}


class _Encoder:
    """A Ray Data actor: builds the embedding backend once, then encodes one model batch per call."""

    def __init__(self, backend: str, model_path: str, batch_size: int, threads: int) -> None:
        self.embedder = make_embedder(backend, model_path, batch_size, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = [self.embedder.encode([str(t) for t in texts]).tobytes() for texts in batch["texts"]]
        return {"shard": batch["shard"], "batch": batch["batch"], "vectors": np.array(vectors, dtype=object)}
