"""Why a run found nothing: the reasons ``manifest.json`` records under ``warnings`` and the job
logs, so an empty ``flags.csv`` is never silent.

A day on which one bloc's scraper failed upstream, or a feed whose cn and ru articles lie days
apart, is not an error (the job exits 0 and writes empty reports), but the analyst must be told
that no cross-bloc narrative *could* be found, which is not the same as none being there.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from detector.narratives.cluster import Window
from detector.times import iso_utc

log = logging.getLogger(__name__)
BLOCS = ("cn", "ru")


def run_warnings(
    feed: pd.DataFrame, articles: pd.DataFrame, windows: list[Window], clusters: pd.DataFrame
) -> list[str]:
    """What an analyst must know about an empty or one-sided run, most basic first (empty for a
    run with both blocs that formed narratives). ``feed`` are the input's articles, ``articles``
    (``bloc``, ``published_at``) the run's scope (the input and the stored articles of the windows
    it touches), ``windows`` the windows it clustered, ``clusters`` the cluster rows it made.
    Each warning is also logged."""
    found: list[str] = []
    if missing := [bloc for bloc in BLOCS if not (articles["bloc"] == bloc).any()]:
        found.append(
            f"no {' or '.join(missing)} articles in the run's scope ({bloc_counts(articles)}): no "
            "cross-bloc narrative can be found; check that the feed of that bloc arrived"
        )
    else:
        if absent := [bloc for bloc in BLOCS if not (feed["bloc"] == bloc).any()]:
            found.append(
                f"the input has no {' or '.join(absent)} articles ({bloc_counts(feed)}): its days are "
                "compared only with those already in the store; check that the feed of that bloc arrived"
            )
        if not any(both_blocs(articles, window) for window in windows):
            spans = "; ".join(
                f"{bloc} {iso_utc(times.min())} to {iso_utc(times.max())}"
                for bloc in BLOCS
                for times in [articles.loc[articles["bloc"] == bloc, "published_at"]]
            )
            found.append(
                f"no window holds both cn and ru articles ({spans}): the blocs' articles are too far "
                "apart to be compared; add the days in between"
            )
        elif clusters.empty:
            found.append(
                "no window formed a narrative: no cn-ru pair passed the [cluster] settings, so nothing "
                "was scored"
            )
    for warning in found:
        log.warning(warning)
    return found


def bloc_counts(articles: pd.DataFrame) -> str:
    """``cn: 34, control: 46``: how many articles of each bloc."""
    return ", ".join(f"{bloc}: {n}" for bloc, n in articles["bloc"].value_counts().sort_index().items())


def both_blocs(articles: pd.DataFrame, window: Window) -> bool:
    inside = articles["published_at"].between(window.start, window.end, inclusive="left").to_numpy()
    return bool(np.isin(BLOCS, articles.loc[inside, "bloc"].unique()).all())
