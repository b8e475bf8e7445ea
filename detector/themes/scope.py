"""The values the theme stage reads and returns (shared by :mod:`.stage` and :mod:`.frames`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from detector.times import to_seconds


@dataclass(frozen=True)
class ThemeScope:
    """What the stage reads. ``articles``: the period's articles (``id, outlet, bloc, language,
    published_at, title, url``), control ones included (they are the shared-event test);
    ``vectors``: their article vectors; ``units``: one row per unit of a cn or ru article
    (``article_pos`` into ``articles``, ``kind``, ``start``, ``end``, ``text``) with
    ``unit_vectors``; ``start``/``end``: the period (aware UTC)."""

    articles: pd.DataFrame
    vectors: np.ndarray
    units: pd.DataFrame
    unit_vectors: np.ndarray
    start: datetime
    end: datetime

    @property
    def span_hours(self) -> float:
        return (to_seconds(self.end) - to_seconds(self.start)) / 3600


@dataclass(frozen=True)
class ThemeResult:
    themes: pd.DataFrame  # key + the themes columns but theme_id
    members: pd.DataFrame  # key + the theme_members columns but theme_id
    daily: pd.DataFrame  # key, day, bloc, articles
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    """One discovered cross-bloc group: its unit rows and what the null ranks it by."""

    units: np.ndarray
    score: float
    control: int
    note: str  # why the null did not test it ("" when it did)
