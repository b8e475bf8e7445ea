"""Time helpers. Internally every timestamp is int64 seconds since the Unix epoch (UTC), which
keeps comparisons free of time-zone and datetime-resolution surprises."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
HOUR = 3600  # seconds


def epoch_seconds(values: pd.Series) -> np.ndarray:
    """UTC-aware timestamps -> int64 seconds."""
    seconds: np.ndarray = ((values - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    return seconds


def to_seconds(moment: datetime) -> int:
    """An aware datetime -> int64 seconds."""
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


def iso_utc(value: object) -> str:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (naive ones are UTC); missing values give ""."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return str(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
