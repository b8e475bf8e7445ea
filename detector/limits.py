"""Refuse a run that would not fit in memory, up front, instead of being OOM-killed mid-way.

The estimate is a deliberately coarse upper bound of the pipeline's peak (see
:meth:`MemoryGuard.estimate`); the point is to stop a year-long backfill on a small machine with
a message that says what to change, not to predict RSS to the megabyte.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from detector.errors import ResourceError
from detector.params import Constraint, Interval, validate_params

log = logging.getLogger(__name__)

GIB = 1024**3
MODEL_BYTES = 2 * GIB  # embedding model + torch/TF runtime + Python, measured < 1.5 GiB for USE
MAX_DIM = 1024  # widest supported embedding (USE is 512, LaBSE 768); vectors are float32
VECTOR_COPIES = 3  # cache read, the stacked scope matrix, the FAISS index over it
ROW_BYTES = 1024  # pandas overhead of one article row besides its text
BYTES_PER_CHAR = 4  # worst case of CPython's str storage (astral-plane text)


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """``MemAvailable`` in bytes, or ``None`` where /proc/meminfo does not exist (macOS)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class MemoryGuard:
    """Checks a run's estimated memory against a budget before the heavy stages start.

    Parameters
    ----------
    max_memory_gb : the budget in GiB; 0 means 90 % of the memory available when the run starts
        (``MemAvailable`` in /proc/meminfo; no check where that cannot be read).
    """

    parameter_section: ClassVar[str] = "limits"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {"max_memory_gb": Interval(0.0, 1_000_000.0)}

    def __init__(self, max_memory_gb: float = 0.0) -> None:
        self.max_memory_gb = max_memory_gb
        validate_params(self)

    def budget(self) -> int | None:
        if self.max_memory_gb > 0:
            return int(self.max_memory_gb * GIB)
        available = available_memory()
        return None if available is None else int(available * 0.9)

    @staticmethod
    def estimate(n_articles: int, text_chars: int, passage_chars: int = 0) -> int:
        """Bytes needed for ``n_articles`` in scope holding ``text_chars`` characters of text.

        ``passage_chars`` (``[passages] max_chars`` in passage mode, else 0) adds the passage
        vectors and rows, bounded by one passage per half of that many characters of text
        (windows run up to ``max_chars``; short fragments are merged into neighbours). On the
        2022 dev feed the bound is 36,000 passages for 22,811 real ones.
        """
        units = n_articles + (text_chars // max(1, passage_chars // 2) if passage_chars else 0)
        vectors = units * MAX_DIM * 4 * VECTOR_COPIES
        rows = units * ROW_BYTES + 2 * text_chars * BYTES_PER_CHAR  # store frame + scope frame
        return MODEL_BYTES + vectors + rows

    def check(self, n_articles: int, text_chars: int, passage_chars: int = 0) -> int:
        """Raise :class:`ResourceError` if the estimate exceeds the budget; returns the estimate."""
        need = self.estimate(n_articles, text_chars, passage_chars)
        budget = self.budget()
        log.info("memory: estimated %.2f GiB for %d articles in scope, budget %s", need / GIB,
                 n_articles, "unknown" if budget is None else f"{budget / GIB:.2f} GiB")  # fmt: skip
        if budget is not None and need > budget:
            raise ResourceError(
                f"this run needs an estimated {need / GIB:.1f} GiB for {n_articles:,} articles in "
                f"scope but the budget is {budget / GIB:.1f} GiB. Fix: run fewer days per run "
                "(the scope is every article within the windows the input touches), or raise "
                "[limits] max_memory_gb on a machine with more memory."
            )
        return need
