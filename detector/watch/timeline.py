"""Per watched narrative: who carried it first in each bloc, daily counts, and the cn–ru lead/lag.

Two views of lead/lag, both tested against the scorer's null model (each outlet's coverage
shifted by an independent random offset, :mod:`detector.significance`):

* **first appearances**: ``lag = first ru hit - first cn hit`` (hours; > 0: cn led), with
  :func:`detector.significance.lag_p_value` (is the gap this small by chance?);
* **daily series**: the Pearson cross-correlation of the cn and ru daily hit counts at lags of
  ``-max_lag_days .. max_lag_days`` (> 0: ru follows cn), its peak, and a p-value from the same
  outlet-shift null (each outlet's daily series rolled by a random number of days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.scoring.significance import lag_p_value, narrative_seed
from detector.times import HOUR

BLOCS = ("cn", "ru", "control")
SUMMARY_COLUMNS = [
    "watch_id", "name", "n_hits", "n_cn", "n_ru", "n_control", "outlets_cn", "outlets_ru",
    "first_cn_id", "first_cn_outlet", "first_cn_published_at",
    "first_ru_id", "first_ru_outlet", "first_ru_published_at",
    "first_control_id", "first_control_outlet", "first_control_published_at",
    "leader", "first_lag_hours", "first_lag_p_value", "xcorr_lag_days", "xcorr_peak", "xcorr_p_value",
    "daily_cn", "daily_ru", "daily_control",
]  # fmt: skip
DAILY_COLUMNS = ["watch_id", "date", "bloc", "hits"]
TIE_TOLERANCE = 1e-12  # correlations this close are equal (summation order, not data)


def daily_counts(hits: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Hits per day (rows: ``days``) and bloc (columns :data:`BLOCS`)."""
    day = pd.to_datetime(hits["published_at"], utc=True).dt.floor("D")
    table = pd.crosstab(day, hits["bloc"]) if len(hits) else pd.DataFrame()
    return table.reindex(index=days, columns=list(BLOCS), fill_value=0).fillna(0).astype(int)


def xcorr_peaks(cn: np.ndarray, ru: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``cn`` and ``ru`` (``(series, days)``): the ``(lag, r)`` maximising the Pearson
    correlation of ``cn[t]`` with ``ru[t + lag]`` (the first such lag on a tie; ``(0, nan)`` when
    no lag has three days and a varying series on both sides). One pass over the lags for all
    rows: the permutation null scores hundreds of series pairs."""
    cn, ru = np.atleast_2d(cn).astype(np.float64), np.atleast_2d(ru).astype(np.float64)
    n_days = cn.shape[1]
    rows: list[np.ndarray] = []
    lags = [lag for lag in range(-max_lag, max_lag + 1) if n_days - abs(lag) >= 3]
    for lag in lags:  # a negative end would wrap: lags leaving fewer than 3 days are skipped
        a = cn[:, max(0, -lag) : n_days - max(0, lag)]
        b = ru[:, max(0, lag) : n_days - max(0, -lag)]
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 0, (a * b).sum(axis=1) / denom, np.nan)
        rows.append(np.clip(r, -1.0, 1.0))
    if not rows:
        return np.zeros(len(cn), dtype=np.int64), np.full(len(cn), np.nan)
    table = np.stack(rows)  # (lags, series)
    table[np.isnan(table)] = -np.inf
    # The first lag within rounding of the best: lags tie exactly on mirrored series.
    best = np.argmax(table >= table.max(axis=0) - TIE_TOLERANCE, axis=0)
    peak = table[best, np.arange(table.shape[1])]
    found = np.isfinite(peak)
    return np.where(found, np.array(lags)[best], 0), np.where(found, peak, np.nan)


def xcorr_peak(cn: np.ndarray, ru: np.ndarray, max_lag: int) -> tuple[int, float]:
    """``(lag, r)`` maximising the Pearson correlation of ``cn[t]`` with ``ru[t + lag]``."""
    lags, peaks = xcorr_peaks(cn, ru, max_lag)
    return int(lags[0]), float(peaks[0])


def xcorr_p_value(
    outlet_series: np.ndarray,
    is_cn: np.ndarray,
    observed: float,
    max_lag: int,
    draws: int,
    rng: np.random.Generator,
    batch: int = 50,
) -> float:
    """Share of outlet-shift draws whose peak cross-correlation reaches ``observed`` (+1 rule).
    Each draw rolls every outlet's daily series by its own random number of days; ``batch``
    draws are rolled at once (memory ``batch x outlets x days``)."""
    n_outlets, n_days = outlet_series.shape
    # One call draws what ``draws`` calls of ``size=n_outlets`` would, in the same order.
    shifts = rng.integers(0, n_days, size=(draws, n_outlets))
    outlet = np.arange(n_outlets)[None, :, None]
    as_high = 0
    for lo in range(0, draws, batch):
        day = (np.arange(n_days)[None, None, :] - shifts[lo : lo + batch, :, None]) % n_days
        rolled = outlet_series[outlet, day]  # rolled[d, o, t] = series[o, t - shift[d, o]]
        _, r = xcorr_peaks(rolled[:, is_cn].sum(axis=1), rolled[:, ~is_cn].sum(axis=1), max_lag)
        # A draw that rebuilds the observed series ties with it; rows of a batch and the single
        # observed row can round an ulp apart, hence the tolerance.
        as_high += int((~np.isnan(r) & (r >= observed - TIE_TOLERANCE)).sum())
    return (1 + as_high) / (1 + draws)


def _series_text(counts: pd.Series) -> str:
    return ";".join(f"{day:%Y-%m-%d}:{n}" for day, n in counts.items() if n)


class LeadLag:
    """Summaries of watched-narrative hits. Made by
    :meth:`detector.watch.NarrativeTracker.lead_lag`, where the defaults live.

    Parameters
    ----------
    permutations : draws of each permutation test (0 = off: p-values are left empty).
    null_span_hours : the first-appearance null shifts each outlet within ``± span / 2``.
    max_lag_days : largest lag of the daily cross-correlation, either way.
    random_state : seeds the tests (per narrative, via :func:`narrative_seed`).
    """

    def __init__(
        self,
        permutations: int = 1000,
        null_span_hours: float = 720.0,
        max_lag_days: int = 7,
        random_state: int = 0,
    ) -> None:
        self.permutations = permutations
        self.null_span_hours = null_span_hours
        self.max_lag_days = max_lag_days
        self.random_state = random_state

    def summarise(
        self, watch_id: str, name: str, hits: pd.DataFrame, days: pd.DatetimeIndex
    ) -> dict[str, object]:
        """One ``watch_summary.csv`` row for one narrative's hits (sorted by time)."""
        row: dict[str, object] = {"watch_id": watch_id, "name": name, "n_hits": len(hits)}
        counts = daily_counts(hits, days)
        for bloc in BLOCS:
            mine = hits[hits["bloc"] == bloc]
            row[f"n_{bloc}"] = len(mine)
            row[f"daily_{bloc}"] = _series_text(counts[bloc])
            if bloc != "control":
                row[f"outlets_{bloc}"] = "; ".join(sorted(mine["outlet"].unique()))
            if len(mine):
                first = mine.iloc[0]
                row[f"first_{bloc}_id"] = first["id"]
                row[f"first_{bloc}_outlet"] = first["outlet"]
                row[f"first_{bloc}_published_at"] = first["published_at"]
        both = row["n_cn"] and row["n_ru"]
        if not both:
            row["leader"] = "cn only" if row["n_cn"] else "ru only" if row["n_ru"] else ""
            return row
        rng = np.random.default_rng(narrative_seed(self.random_state, watch_id))
        lag = (row["first_ru_published_at"] - row["first_cn_published_at"]) / pd.Timedelta(hours=1)  # type: ignore[operator]
        row["first_lag_hours"] = round(float(lag), 2)
        row["leader"] = "cn" if lag > 0 else "ru" if lag < 0 else "tie"
        blocs = hits[hits["bloc"].isin(["cn", "ru"])]
        origin = pd.Timestamp(days[0])
        first = blocs.groupby("outlet").agg(when=("published_at", "min"), bloc=("bloc", "first"))
        hours = ((first["when"] - origin).dt.total_seconds() / HOUR).to_numpy()
        is_cn = (first["bloc"] == "cn").to_numpy()
        series = np.stack(
            [daily_counts(g, days)[b].to_numpy() for (_, b), g in blocs.groupby(["outlet", "bloc"])]
        )
        outlet_cn = np.array([b == "cn" for (_, b), _ in blocs.groupby(["outlet", "bloc"])])
        peak_lag, peak = xcorr_peak(counts["cn"].to_numpy(), counts["ru"].to_numpy(), self.max_lag_days)
        row["xcorr_lag_days"], row["xcorr_peak"] = (
            (peak_lag, round(peak, 4)) if not np.isnan(peak) else ("", "")
        )
        if self.permutations:
            row["first_lag_p_value"] = round(
                lag_p_value(hours, is_cn, float(lag), self.null_span_hours, self.permutations, rng), 4
            )
            if not np.isnan(peak):
                draws = min(self.permutations, 200)  # each draw is a full cross-correlation
                row["xcorr_p_value"] = round(
                    xcorr_p_value(series, outlet_cn, peak, self.max_lag_days, draws, rng), 4
                )
        return row

    def daily_rows(self, watch_id: str, hits: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
        """Long-format daily counts (``watch_daily.csv``), days with no hit in a bloc left out."""
        counts = daily_counts(hits, days).rename_axis("date").reset_index()
        long = counts.melt(id_vars="date", var_name="bloc", value_name="hits")
        long = long[long["hits"] > 0].assign(watch_id=watch_id)
        return long.sort_values(["date", "bloc"])[DAILY_COLUMNS]
