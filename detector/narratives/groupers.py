"""How one window's articles become narratives: the :class:`Grouper` protocol and the registry of
groupers ``[cluster] grouper`` chooses from.

A grouper is an object, as BERTopic's ``hdbscan_model`` is: the clusterer
(:class:`detector.narratives.cluster.WindowClusterer`) slides the windows, rescues near-copies and
links narratives across windows; the grouper only says which rows of a window belong together.
It sees the whole scope once (:meth:`Grouper.prepare`: the sync graph searches neighbours over
it, so an article's hubness is not truncated at a window edge) and then each window
(:meth:`Grouper.group`, possibly in parallel, so it must not change the grouper).

A new grouper is one module with a class that has these two methods, and one line that registers
it (:func:`register_grouper`, where :mod:`detector.narratives` imports the built-in ones); its
constructor's parameters become the keys of ``[cluster.<name>]`` (``-`` in the name is ``_`` in
the section), with their defaults and its ``parameter_constraints``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

from detector.errors import ConfigError

# Scope-wide context a grouper may take as a constructor parameter; the clusterer's builder
# passes it, the config has no key for it.
CONTEXT = ("searcher", "random_state")


class Grouper(Protocol):
    def prepare(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray | None,
        times: np.ndarray | None,
        units: tuple[np.ndarray, np.ndarray] | None,
        lag_hours: float,
    ) -> Any:
        """What the grouper learns from the whole scope before any window (``None`` if nothing):
        ``vectors`` one per article in time order, ``blocs``, ``times`` (int64 seconds), ``units``
        ``(passage vectors, article row of each passage)`` in passage mode, ``lag_hours`` the
        window length."""

    def group(self, prepared: Any, vectors: np.ndarray, bounds: tuple[int, int]) -> pd.DataFrame:
        """The narratives of rows ``[lo, hi)`` (one window) as ``label, row, strength`` rows,
        ``row`` relative to ``lo`` (a row may sit in several narratives), before the rescue of
        near-copies."""


GROUPERS: dict[str, Callable[..., Grouper]] = {}


def register_grouper(name: str, factory: Callable[..., Grouper]) -> None:
    """Make ``[cluster] grouper = "<name>"`` build ``factory`` (a grouper class)."""
    GROUPERS[name] = factory


def section_key(name: str) -> str:
    """The sub-section of ``[cluster]`` that holds a grouper's options: ``sync-graph`` -> ``sync_graph``."""
    return name.replace("-", "_")


def grouper_factory(name: str) -> Callable[..., Grouper]:
    if name not in GROUPERS:
        raise ConfigError(f"[cluster] grouper = {name!r} is not allowed; choose one of {sorted(GROUPERS)}.")
    return GROUPERS[name]


def make_grouper(name: str, options: dict[str, Any], **context: Any) -> Grouper:
    """The grouper ``name`` with ``options`` (its ``[cluster.<name>]`` keys) and the parts of
    ``context`` (:data:`CONTEXT`) its constructor takes."""
    factory = grouper_factory(name)
    accepted = inspect.signature(factory).parameters
    return factory(**options, **{key: value for key, value in context.items() if key in accepted})
