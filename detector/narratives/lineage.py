"""Narrative ids across windows and runs: which cluster of a window continues which narrative.

The rule (``docs/reports.md`` "Narrative ids" says it for users). Windows are named in time
order; each cluster of a window takes, in this order of preference:

1. the id of a narrative the store already holds **for the same window** (an earlier run of the
   same method clustered it): re-running a day, or a run over more days, never renames what
   users have seen;
2. the id of a narrative of the **previous window** (as this run named it, or as the store holds
   it for the window before a run's first), so a narrative continues from window to window;
3. otherwise a new id derived from its content (first window + member ids), never a counter, so
   re-running a day cannot renumber anything.

A cluster claims an id when the members they share make up at least ``link_overlap`` of the
smaller of the two (leaving out articles a group shares with another group of its window, see
:func:`exclusive_members`). Each id goes to one cluster per window and each cluster takes one
id: claims of rule 1 before rule 2, stronger overlaps first, ties broken by cluster label, then
id, so the outcome is deterministic.

So ids depend on the store's history, by design: a fresh run over days 1-2 derives its ids from
the days-1-2 view, while day 1 and then days 1-2 on one store keep day 1's ids wherever day 1's
narratives go on; both find the same narratives (member sets). What happened to an id is in
:class:`Lineage`: merged (its members went on in a cluster that kept another id), split (a
second cluster continued it under a new id), dropped (the store held it in a window the run
re-clustered, and no window of the run holds or absorbed it any more).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import pandas as pd

Key = TypeVar("Key", int, str)


@dataclass
class Lineage:
    """What happened to narrative ids in the windows of one run (window = its start, ISO 8601)."""

    merges: list[tuple[str, str, str]] = field(default_factory=list)  # (window, kept, absorbed)
    splits: list[tuple[str, str, str]] = field(default_factory=list)  # (window, parent, new child)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (first window it was in, id)

    def record_dropped(self, held: dict[str, str], kept: set[str]) -> None:
        """``held``: each id the store held in a re-clustered window -> the first such window;
        ``kept``: the ids the run's windows carry. The rest, unless a merge absorbed them, are
        dropped."""
        absorbed = {gone for _, _, gone in self.merges}
        self.dropped.extend(sorted((held[nid], nid) for nid in set(held) - kept - absorbed))

    def as_dict(self) -> dict[str, list[dict[str, str]]]:
        """The events as JSON-ready records (``manifest.json`` ``lineage``)."""
        return {
            "merges": [{"window": w, "kept": kept, "absorbed": gone} for w, kept, gone in self.merges],
            "splits": [{"window": w, "parent": parent, "child": child} for w, parent, child in self.splits],
            "dropped": [{"window": w, "narrative_id": nid} for w, nid in self.dropped],
        }


def narrative_id(window_start: datetime, member_ids: list[str]) -> str:
    """A new narrative's id: ``N<window start date>-<hash of the start and the member ids>``."""
    digest = hashlib.sha256("\x1f".join([window_start.isoformat(), *sorted(member_ids)]).encode())
    return f"N{window_start:%Y%m%d}-{digest.hexdigest()[:8]}"


def name_clusters(
    window_start: datetime,
    frame: pd.DataFrame,
    stored: pd.DataFrame,
    previous: pd.DataFrame,
    link_overlap: float,
    lineage: Lineage,
) -> pd.DataFrame:
    """``frame`` (one window's ``label, article_id`` rows) with a ``narrative_id`` per label, by
    the module's rule: from ``stored`` (the same window as the store holds it), then
    ``previous`` (the window before), else anew; merges and splits go into ``lineage``."""
    sets = {int(label): set(g["article_id"]) for label, g in frame.groupby("label", sort=True)}
    own = exclusive_members(sets)
    claims = sorted(
        (rule, -overlap, label, nid)
        for rule, parents in enumerate((stored, previous))
        for label, nid, overlap in overlaps(own, parents, link_overlap)
    )
    assigned: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, label, nid in claims:
        if label not in assigned and nid not in taken:
            assigned[label] = nid
            taken.add(nid)
    for label, members in sets.items():
        if label not in assigned:
            assigned[label] = narrative_id(window_start, list(members))
    stamp = window_start.isoformat()
    for label, nid in sorted({(label, nid) for _, _, label, nid in claims}):
        if nid not in taken:  # a narrative that went on only inside another one
            lineage.merges.append((stamp, assigned[label], nid))
        elif assigned[label] != nid:  # a narrative that went on in two clusters
            lineage.splits.append((stamp, nid, assigned[label]))
    return frame.assign(narrative_id=frame["label"].map(assigned))


def overlaps(
    own: dict[int, set[str]], parents: pd.DataFrame, link_overlap: float
) -> Iterator[tuple[int, str, float]]:
    """``(label, parent id, overlap)`` for every cluster and parent narrative (``parents``:
    ``narrative_id, article_id`` rows) whose shared members reach ``link_overlap`` of the smaller."""
    groups = {str(nid): set(g["article_id"]) for nid, g in parents.groupby("narrative_id", sort=True)}
    for nid, prev in exclusive_members(groups).items():
        for label, members in own.items():
            shared = len(members & prev)
            if shared and shared / min(len(members), len(prev)) >= link_overlap:
                yield label, nid, shared / min(len(members), len(prev))


def exclusive_members(sets: dict[Key, set[str]]) -> dict[Key, set[str]]:
    """Each group without the articles it shares with another group of the same window (a
    transcript in two narratives, passage units), unless that would leave it empty: a shared
    transcript alone must not make one narrative continue as another."""
    counts = Counter(article for members in sets.values() for article in members)
    return {key: {a for a in members if counts[a] == 1} or members for key, members in sets.items()}
