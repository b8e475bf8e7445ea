"""Deterministic fault injection for the reliability tests.

``DETECTOR_FAULT=<point>`` (or ``<point>:<n>`` for the n-th time the point is reached) makes the
process kill itself with SIGKILL at that point: no ``finally`` blocks, no atexit hooks, no
flushing, exactly like the OOM killer or a power cut. Unset (always, in production) it costs one
dictionary lookup. Points are listed in :data:`POINTS`.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = (
    "ingested",  # feed read and validated, nothing stored yet
    "stored",  # articles upserted, run row says 'running'
    "embed_batch",  # one batch encoded, its chunk not yet committed to the cache
    "shard_written",  # Ray engine: one embedding shard written as Parquet, none loaded into the store
    "embedded",  # every vector cached
    "clustered",  # cluster rows committed, nothing scored
    "report",  # flags.csv written, members.csv and manifest.json not yet
    "reported",  # every report written, run not yet marked done
    "archive_written",  # archive index written to its temporary file, not yet renamed over the old
    "pruning",  # detector prune: every row deleted, the transaction not yet committed
    "compacting",  # detector prune: the compacted copy written, not yet renamed over the store
)
# Points only `detector prune` reaches (a daily run never stops at them).
PRUNE_POINTS = ("pruning", "compacting")
_hits: Counter[str] = Counter()


def checkpoint(point: str) -> None:
    """Die here if ``DETECTOR_FAULT`` names this point (and this is the requested occurrence)."""
    wanted = os.environ.get("DETECTOR_FAULT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _hits[point] += 1
    if _hits[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
