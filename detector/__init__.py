"""Narrative-sync detector: find one narrative published near-simultaneously by Chinese-bloc and
Russian-bloc state channels, across languages, and hand an analyst the evidence.

Stages (one package each, each swappable): sources -> store -> embed -> index -> narratives -> scoring
-> report, composed by ``detector.pipeline`` and driven by ``detector.cli`` (docs/architecture.md).

The library's public surface (README.md, "Use it from Python")::

    from detector import load_config, run_daily
    summary = run_daily(load_config(), ["feed.csv"], Path("out"))

Names are imported on first use, so ``import detector`` (and ``detector --help``) stays instant.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenMP threads (FAISS's) wait for work passively instead of spinning: beside another CPU-bound
# process a spinning thread burns the time slice of the thread it waits for (FAISS flat at load
# 14: 3.0 GFLOP/s spinning, 12.1 passive; benchmarks/README.md). Read once when libgomp loads, so
# it is set here, before any stage imports FAISS; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

if TYPE_CHECKING:
    from detector.config import Config, load_config
    from detector.pipeline.daily import RunSummary, run_daily
    from detector.watch.watchlist import Watchlist, load_watchlist

# public name -> the module that defines it
_PUBLIC = {
    "Config": "detector.config",
    "load_config": "detector.config",
    "run_daily": "detector.pipeline.daily",
    "RunSummary": "detector.pipeline.daily",
    "load_watchlist": "detector.watch.watchlist",
    "Watchlist": "detector.watch.watchlist",
}
__all__ = ["Config", "RunSummary", "Watchlist", "__version__", "load_config", "load_watchlist", "run_daily"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
