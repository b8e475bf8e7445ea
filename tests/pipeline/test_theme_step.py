"""The daily run's theme step refuses, before the work, a period whose dendrogram would not fit."""

from __future__ import annotations

import pytest

from detector.errors import ResourceError
from detector.limits import MemoryGuard
from detector.pipeline.themes import check_theme_memory


def test_a_period_too_large_for_the_budget_is_refused_with_the_fix() -> None:
    guard = MemoryGuard(max_memory_gb=1.0)
    check_theme_memory(guard, 10_000)  # 0.75 GiB of distances
    with pytest.raises(ResourceError, match=r"20,000 cn and ru articles.*Fix: lower \[themes\] period_days"):
        check_theme_memory(guard, 20_000)  # 3.0 GiB
