"""Execution engines: the same stages, run in this process (``local``) or on a Ray cluster (``ray``).

An engine decides only *where* work runs, never what it computes. The stages take a
:class:`~detector.parallel.Mapper` for their independent parts (files for ingest, windows for
clustering, narratives for scoring), and the engine supplies it; embedding goes through
:meth:`Engine.embed`, which encodes the batches :meth:`EmbeddingStage.plan` lays out. So a run on
either engine gives the same flags, narrative ids and store rows (tests/pipeline/test_ray_engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from detector.embed.embedding import EmbeddingStage
from detector.engine_options import ENGINE_CONSTRAINTS
from detector.parallel import serial_map
from detector.params import check_params
from detector.store.store import Store

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        """``[fn(item) for item in items]``, in item order."""
        ...

    def map_files(self, fn: Callable[[T], R], files: Sequence[T], /) -> list[R]:
        """The same for reading input files (the Ray engine reads them with Ray Data)."""
        ...

    def embed(self, embedding: EmbeddingStage, store: Store, texts: list[str]) -> int:
        """Make sure the store caches a vector for every text; returns how many were embedded."""
        ...

    def close(self) -> None: ...


class LocalEngine:
    """Everything in this process, one item after another (the default; no extra dependency)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
        return serial_map(fn, items)

    def map_files(self, fn: Callable[[T], R], files: Sequence[T], /) -> list[R]:
        return serial_map(fn, files)

    def embed(self, embedding: EmbeddingStage, store: Store, texts: list[str]) -> int:
        return embedding.ensure_cached(store, texts)

    def close(self) -> None:
        pass


def make_engine(kind: str, **ray_options: Any) -> Engine:
    """The engine named by ``[engine] kind``; ``ray_options`` are the Ray engine's
    (:class:`detector.pipeline.ray_engine.RayEngine`, whose signature holds their defaults) and are
    ignored by the local one."""
    check_params("engine", {"kind": kind}, ENGINE_CONSTRAINTS)
    if kind == "ray":
        from detector.pipeline.ray_engine import RayEngine

        return RayEngine(**ray_options)
    return LocalEngine()
