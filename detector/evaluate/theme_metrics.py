"""Theme level: how well a theme assignment groups narratives, and whether campaigns are found.

Pure functions over plain frames, shared by ``detector eval --level theme`` and the design sweeps in
``benchmarks/themes_*.py``. Three measurements:

* :func:`bcubed`: B-cubed precision, recall and F1 (Bagga & Baldwin 1998; Amigó et al. 2009, the
  standard extrinsic clustering metric) of a theme assignment against labels.
* :func:`campaign_table`: the campaign rule of issue #26 -- a campaign (six truth rows: three cn and
  three ru articles) is *grouped* when one theme of at most ``max_size`` articles holds at least
  ``min_articles`` of them with at least one cn and one ru among those; *found* when that theme's
  leader is also the campaign's leader (and, when q-values are given, its q-value is at most
  ``max_q``).
* :func:`theme_size_summary`: how big themes get (a theme must not be a sweep) and how many hold no
  injected article.

Items in no theme and items without a label
-------------------------------------------
A theme assignment is a partition of some of the items; an item in no theme (``None``) is its own
singleton cluster, which is what "the grouping left it alone" means: it is perfectly precise and
recalls only itself. An item without a label (``None``; e.g. a real background article when only
injected quotes are labelled) is its own singleton class: nothing else is "the same narrative" as
it, so a theme that sweeps background articles in with labelled ones loses precision for every
labelled member. Averages run over the *labelled* items only, so the unlabelled majority of a real
background (perfect by construction when left alone) cannot dilute the score; with every item
labelled this is exactly the standard definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEMBER_COLUMNS = ("theme_id", "id", "bloc", "published_at")
BLOCS = ("cn", "ru")


@dataclass(frozen=True)
class BCubed:
    """B-cubed scores averaged over ``n_items`` labelled items."""

    precision: float
    recall: float
    f1: float
    n_items: int


def bcubed(themes: Sequence[Hashable | None], labels: Sequence[Hashable | None]) -> BCubed:
    """B-cubed precision / recall / F1 of ``themes`` (one theme key per item, ``None`` = in no
    theme) against ``labels`` (one label per item, ``None`` = no label), item by item.

    For a labelled item *i* with theme *C(i)* and class *L(i)*: precision_i = |C(i) ∩ L(i)| / |C(i)|,
    recall_i = |C(i) ∩ L(i)| / |L(i)|; both averaged over labelled items; F1 is their harmonic mean.
    ``None`` on either side makes the item a singleton on that side (module docstring).
    """
    if len(themes) != len(labels):
        raise ValueError(f"themes ({len(themes)}) and labels ({len(labels)}) differ in length")
    # Singletons get keys no real theme or label can equal.
    theme_keys = [("theme", t) if t is not None else ("alone", i) for i, t in enumerate(themes)]
    label_keys = [("label", c) if c is not None else ("alone", i) for i, c in enumerate(labels)]
    theme_size = Counter(theme_keys)
    label_size = Counter(label_keys)
    both = Counter(zip(theme_keys, label_keys, strict=True))
    labelled = [i for i, c in enumerate(labels) if c is not None]
    if not labelled:
        raise ValueError("no labelled item: B-cubed is undefined")
    precision = np.mean([both[theme_keys[i], label_keys[i]] / theme_size[theme_keys[i]] for i in labelled])
    recall = np.mean([both[theme_keys[i], label_keys[i]] / label_size[label_keys[i]] for i in labelled])
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return BCubed(float(precision), float(recall), float(f1), len(labelled))


def assignment(members: pd.DataFrame, ids: Sequence[str]) -> list[str | None]:
    """The theme of each of ``ids`` from a ``theme_members`` frame (``theme_id, id``), ``None``
    for an id in no theme. B-cubed scores a partition: an id in two themes is an error."""
    twice = members["id"][members["id"].duplicated()]
    if len(twice):
        raise ValueError(f"article {twice.iloc[0]!r} is in more than one theme; B-cubed needs a partition")
    theme_of = dict(zip(members["id"], members["theme_id"].astype(str), strict=True))
    return [theme_of.get(i) for i in ids]


def _check_members(members: pd.DataFrame) -> None:
    missing = [c for c in MEMBER_COLUMNS if c not in members]
    if missing:
        raise ValueError(f"theme members lack column(s) {missing}; expected {list(MEMBER_COLUMNS)}")


def theme_leaders(members: pd.DataFrame) -> dict[str, str | None]:
    """Per theme, the bloc of its earliest cn or ru article (``None`` without either); ties go to
    ``None`` as the data cannot say who led."""
    _check_members(members)
    times = pd.to_datetime(members["published_at"], utc=True, format="mixed")
    frame = members.assign(_t=times, theme_id=members["theme_id"].astype(str))
    firsts = frame[frame["bloc"].isin(BLOCS)].groupby(["theme_id", "bloc"])["_t"].min().unstack()
    leaders: dict[str, str | None] = dict.fromkeys(frame["theme_id"].unique())
    for theme, row in firsts.reindex(columns=list(BLOCS)).iterrows():
        cn, ru = row["cn"], row["ru"]
        if pd.notna(cn) and pd.notna(ru) and cn != ru:
            leaders[str(theme)] = "cn" if cn < ru else "ru"
    return leaders


def campaign_table(
    members: pd.DataFrame,
    truth: pd.DataFrame,
    leaders: Mapping[str, str | None] | None = None,
    q_values: Mapping[str, float] | None = None,
    max_size: int = 60,
    min_articles: int = 4,
    max_q: float = 0.1,
) -> pd.DataFrame:
    """One row per campaign of ``truth`` (rows with ``kind == "campaign"``: ``event_id, id, leader``).

    ``members``: ``theme_id, id, bloc, published_at`` (bloc and time of every member, injected or
    not). ``leaders``: the leader each theme reports (default :func:`theme_leaders`). The campaign's
    best theme is the one of at most ``max_size`` articles holding most of its articles with both
    blocs among them (ties: the smaller theme, then the id). Columns: ``event_id, theme_id,
    in_theme, cn_in_theme, ru_in_theme, theme_size, leader, theme_leader, grouped, leader_right,
    q_value, found``. ``found`` = grouped and the leader right, and q <= ``max_q`` when
    ``q_values`` are given.
    """
    _check_members(members)
    members = members.assign(theme_id=members["theme_id"].astype(str))
    leaders = theme_leaders(members) if leaders is None else leaders
    sizes = members.groupby("theme_id").size()
    campaigns = truth[truth["kind"] == "campaign"]
    inside = campaigns.merge(members, on="id", how="inner")
    rows = []
    for event_id, group in campaigns.groupby("event_id", sort=True):
        best = _best_theme(inside[inside["event_id"] == event_id], sizes, max_size)
        theme, cn, ru = best if best is not None else (None, 0, 0)
        leader = str(group["leader"].iloc[0])
        theme_leader = leaders.get(theme) if theme is not None else None
        grouped = theme is not None and cn + ru >= min_articles
        leader_right = grouped and theme_leader == leader
        q = float(q_values.get(theme, np.nan)) if q_values is not None and theme is not None else np.nan
        rows.append([
            event_id, theme, cn + ru, cn, ru, int(sizes[theme]) if theme is not None else 0, leader,
            theme_leader, grouped, leader_right, q, leader_right and (q_values is None or q <= max_q),
        ])  # fmt: skip
    return pd.DataFrame(rows, columns=CAMPAIGN_COLUMNS)


CAMPAIGN_COLUMNS = [
    "event_id", "theme_id", "in_theme", "cn_in_theme", "ru_in_theme", "theme_size", "leader",
    "theme_leader", "grouped", "leader_right", "q_value", "found",
]  # fmt: skip


def _best_theme(inside: pd.DataFrame, sizes: pd.Series, max_size: int) -> tuple[str, int, int] | None:
    """The (theme, cn count, ru count) of the campaign's best theme, or ``None``."""
    candidates = []
    for theme, group in inside.groupby("theme_id", sort=True):
        cn, ru = int((group["bloc"] == "cn").sum()), int((group["bloc"] == "ru").sum())
        if sizes[theme] <= max_size and cn and ru:
            candidates.append((-(cn + ru), int(sizes[theme]), str(theme), cn, ru))
    if not candidates:
        return None
    _, _, theme, cn, ru = min(candidates)
    return theme, cn, ru


def theme_size_summary(members: pd.DataFrame, n_articles: int, injected: Sequence[str]) -> dict[str, float]:
    """Size statistics of a theme assignment over a feed of ``n_articles``.

    Keys: ``themes``, ``cross_bloc`` (themes with a cn and a ru member), ``median_size``,
    ``max_size``, ``share_in_themes`` (articles in some theme / ``n_articles``),
    ``cross_bloc_without_injected_per_1k`` (cross-bloc themes holding none of ``injected`` per
    1,000 articles: real synchrony in the background lands there too, so an upper bound on noise).
    """
    _check_members(members)
    if n_articles <= 0:
        raise ValueError("n_articles must be positive")
    members = members.assign(theme_id=members["theme_id"].astype(str))
    sizes = members.groupby("theme_id").size()
    blocs = members.groupby("theme_id")["bloc"].agg(lambda b: set(b) >= set(BLOCS))
    has_injected = members.assign(_inj=members["id"].isin(set(injected))).groupby("theme_id")["_inj"].any()
    cross = blocs[blocs].index
    return {
        "themes": float(len(sizes)),
        "cross_bloc": float(len(cross)),
        "median_size": float(sizes.median()) if len(sizes) else 0.0,
        "max_size": float(sizes.max()) if len(sizes) else 0.0,
        "share_in_themes": members["id"].nunique() / n_articles,
        "cross_bloc_without_injected_per_1k": 1000.0 * float((~has_injected[cross]).sum()) / n_articles,
    }
