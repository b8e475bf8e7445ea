"""The theme stage: over a period, groups of cn and ru units that are one theme, their labels,
how the two blocs move together, and how likely that is chance (docs/method.md, "Themes").

:class:`ThemeStage` is the ``[themes]`` section. It reads a :class:`ThemeScope` (the period's
articles with the units discovery groups; the pipeline gives the cn and ru articles whole) and
returns a :class:`ThemeResult` of the frames of ``THEMES_INTERFACE.md`` with a provisional
integer ``key`` per theme; stable ``theme_id`` s are given by lineage in the pipeline.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from detector.params import Constraint, Interval, OneOf, validate_params
from detector.scoring.significance import narrative_seed
from detector.themes.discovery import DESIGNS, Discovery
from detector.themes.frames import describe
from detector.themes.null import (
    NULLS,
    bh_q_values,
    decoy_offsets,
    null_note,
    outlet_shift_p,
    q_and_p,
    shift_hours,
)
from detector.themes.scope import Group, ThemeResult, ThemeScope
from detector.themes.sync import HOURS_PER_DAY, shared_burst
from detector.times import epoch_seconds, to_seconds


class ThemeStage:
    """Themes of a period: discovery, labels, synchronisation, null (module doc).

    Parameters
    ----------
    design : the discovery design (:data:`detector.themes.discovery.DESIGNS`).
    window_days, distance_threshold, max_units, min_units, linkage, centre : the design's
        parameters (see :class:`detector.themes.discovery.WindowedAgglomerative`).
    period_days : the period a daily run reads: this many days ending at its last window, or
        the run's own span when that is longer.
    lag_hours : the largest cn-ru gap at which two outlets count as in step (the score).
    null : ``"outlet-shift"`` (each theme's members shifted per outlet, BH over the run's themes)
        or ``"rediscover"`` (decoy periods with the ru side shifted, discovery run again);
        :mod:`detector.themes.null` says what each asks.
    draws : outlet-shift: random shifts per theme.
    decoys : rediscover: decoy periods.
    target_fdr : a theme is flagged at ``q_value <= target_fdr``.
    max_control_share : a theme whose control coverage (control articles as close to its
        centroid as its median member, within its time span ± lag) exceeds this share of all its
        articles is a shared news event: score 0, never flagged.
    min_null_days : a shorter period gives no q-value (``null_note`` says why): shifting outlets
        over a few days cannot make a burst rare (themes-lab, 2026-12-03: on the 7-day
        campaigns_2024 the smallest p of any campaign theme was 0.04, so no q could reach 0.1).
    keywords : keywords per language in a label.
    random_state : seeds the decoy offsets (the run's ``[run] seed``).
    """

    parameter_section: ClassVar[str] = "themes"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "design": OneOf(tuple(DESIGNS)),
        "period_days": Interval(1, 3660),
        "lag_hours": Interval(1, 24 * 60),
        "null": OneOf(NULLS),
        "draws": Interval(9, 100_000),
        "decoys": Interval(1, 1000),
        "target_fdr": Interval(0.0, 1.0),
        "max_control_share": Interval(0.0, 1.0),
        "keywords": Interval(1, 50),
        "min_outlets": Interval(1, 100),
        "min_null_days": Interval(1, 3660),
        **dict(DESIGNS["windowed-agglomerative"].parameter_constraints.items()),
    }

    def __init__(
        self,
        design: str = "windowed-agglomerative",
        window_days: int = 0,
        distance_threshold: float = 100.0,
        max_units: int = 60,
        min_units: int = 3,
        linkage: str = "ward",
        centre: bool = False,
        period_days: int = 28,
        lag_hours: float = 72.0,
        null: str = "outlet-shift",
        draws: int = 1999,
        decoys: int = 8,
        target_fdr: float = 0.1,
        max_control_share: float = 0.5,
        min_outlets: int = 2,
        min_null_days: int = 21,
        keywords: int = 6,
        random_state: int = 0,
    ) -> None:
        self.design = design
        self.window_days = window_days
        self.distance_threshold = distance_threshold
        self.max_units = max_units
        self.min_units = min_units
        self.linkage = linkage
        self.centre = centre
        self.period_days = period_days
        self.lag_hours = lag_hours
        self.null = null
        self.draws = draws
        self.decoys = decoys
        self.target_fdr = target_fdr
        self.max_control_share = max_control_share
        self.min_outlets = min_outlets
        self.min_null_days = min_null_days
        self.keywords = keywords
        self.random_state = random_state
        validate_params(self)

    def discovery(self) -> Discovery:
        """A fresh discovery model of :attr:`design` with this stage's parameters for it."""
        cls = DESIGNS[self.design]
        names = inspect.signature(cls).parameters
        return cls(**{k: v for k, v in vars(self).items() if k in names})

    @property
    def guard_hours(self) -> float:
        """Smallest decoy shift: one that puts no ru unit in a window or lag it could share before."""
        return self.window_days * HOURS_PER_DAY + self.lag_hours

    def run(self, scope: ThemeScope) -> ThemeResult:
        """The themes of ``scope`` (deterministic: same scope and seed, same frames)."""
        units = unit_table(scope)
        groups = self.groups(scope, units, units["hours"].to_numpy())
        note = null_note(scope.span_hours, self.min_null_days)
        summary: dict[str, Any] = {"null": self.null}
        if note:
            q = p = np.full(len(groups), np.nan)
        elif self.null == "rediscover":
            q, p, summary["decoy_periods"] = self.rediscover_null(scope, units, groups)
        else:
            p = np.array([self.outlet_shift(scope, units, g) for g in groups], dtype=float)
            tested = np.array([g.score > 0 for g in groups], dtype=bool)
            q = np.ones(len(groups))
            q[tested] = bh_q_values(p[tested])  # over the themes the null tested
        themes, members, daily = describe(
            scope, units, groups, q, p, note, self.lag_hours, self.target_fdr, self.keywords
        )
        summary |= {
            "period_start": scope.start.isoformat(),
            "period_end": scope.end.isoformat(),
            "articles": len(scope.articles),
            "units": len(units),
            "themes": len(themes),
            "flagged": int(themes["flagged"].sum()) if len(themes) else 0,
            "null_note": note,
        }
        return ThemeResult(themes, members, daily, summary)

    def outlet_shift(self, scope: ThemeScope, units: pd.DataFrame, group: Group) -> float:
        """A group's p-value under independent outlet shifts (:func:`.null.outlet_shift_p`),
        seeded by the run's seed and the group's member ids (not by which other groups exist)."""
        if group.score <= 0:
            return 1.0
        rows = units.iloc[group.units]
        seed = narrative_seed(self.random_state, "\x1f".join(sorted(set(rows["id"]))))
        return outlet_shift_p(
            rows["hours"].to_numpy(),
            rows["outlet"].to_numpy(),
            (rows["bloc"] == "cn").to_numpy(),
            self.lag_hours,
            scope.span_hours,
            self.draws,
            np.random.default_rng(seed),
        )

    def rediscover_null(
        self, scope: ThemeScope, units: pd.DataFrame, groups: list[Group]
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """q and p from decoy periods (ru shifted, discovery run again: :mod:`.null`)."""
        start, span = to_seconds(scope.start) / 3600, scope.span_hours
        offsets = decoy_offsets(span, self.guard_hours, self.decoys, np.random.default_rng(self.random_state))
        is_ru = (units["bloc"] == "ru").to_numpy()
        hours = units["hours"].to_numpy()
        decoy_scores = [
            g.score
            for offset in offsets
            for g in self.groups(scope, units, shift_hours(hours, is_ru, offset, start, span))
        ]
        scores = np.array([g.score for g in groups], dtype=float)
        q, p = q_and_p(scores, np.array(decoy_scores, dtype=float), len(offsets))
        return q, p, len(offsets)

    def groups(self, scope: ThemeScope, units: pd.DataFrame, hours: np.ndarray) -> list[Group]:
        """The cross-bloc groups discovery finds when the units were published at ``hours``."""
        languages = units["language"].to_numpy()
        labels = self.discovery().fit(scope.unit_vectors, hours, languages).labels_
        is_cn = (units["bloc"] == "cn").to_numpy()
        outlets = units["outlet"].to_numpy()
        controls = control_table(scope)
        out = []
        for label in range(int(labels.max(initial=-1)) + 1):
            rows = np.flatnonzero(labels == label)
            if is_cn[rows].all() or not is_cn[rows].any():
                continue  # one bloc's topic is not a shared theme
            control = control_coverage(scope, controls, rows, hours[rows], self.lag_hours)
            n_articles = len(np.unique(units["article_pos"].to_numpy()[rows]))
            if control > self.max_control_share * (control + n_articles):
                out.append(Group(rows, 0, control, "not tested: a shared news event (control coverage)"))
                continue
            few = min(len(set(outlets[rows][is_cn[rows]])), len(set(outlets[rows][~is_cn[rows]])))
            if few < self.min_outlets:
                out.append(
                    Group(rows, 0, control, f"not tested: fewer than {self.min_outlets} outlets in a bloc")
                )
                continue
            score = shared_burst(
                hours[None, rows], outlets[rows], is_cn[rows], self.lag_hours, scope.span_hours
            )
            out.append(Group(rows, float(score[0]), control, ""))
        return out


def unit_table(scope: ThemeScope) -> pd.DataFrame:
    """The units with their article's fields and publication time in hours."""
    articles = scope.articles.iloc[scope.units["article_pos"].to_numpy()].reset_index(drop=True)
    out = scope.units.reset_index(drop=True).copy()
    for column in ("id", "outlet", "bloc", "language", "published_at", "title", "url"):
        out[column] = articles[column].to_numpy()
    out["hours"] = epoch_seconds(articles["published_at"]) / 3600
    return out


def control_table(scope: ThemeScope) -> tuple[np.ndarray, np.ndarray]:
    """The control articles' vectors and hours (the shared-event test's baseline)."""
    rows = (scope.articles["bloc"] == "control").to_numpy()
    hours = epoch_seconds(scope.articles.loc[rows, "published_at"]) / 3600
    return scope.vectors[rows], hours


def control_coverage(
    scope: ThemeScope,
    controls: tuple[np.ndarray, np.ndarray],
    rows: np.ndarray,
    hours: np.ndarray,
    lag: float,
) -> int:
    """Control articles within the group's time span ± ``lag`` that are at least as close to its
    centroid as its median unit: a news event the world covered, not a bloc's narrative."""
    vectors, control_hours = controls
    near = (control_hours >= hours.min() - lag) & (control_hours <= hours.max() + lag)
    if not near.any():
        return 0
    centroid = scope.unit_vectors[rows].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    cut = float(np.median(scope.unit_vectors[rows] @ centroid))
    return int(np.count_nonzero(vectors[near] @ centroid >= cut))
