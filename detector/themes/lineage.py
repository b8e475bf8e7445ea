"""Theme ids across daily runs: which theme of this run continues which theme of the last one.

A daily run re-discovers the themes of its rolling period (28 days by default), so most of a
theme's members were already members yesterday. The rule (``docs/reports.md`` "Theme ids" says it
for users): each theme of this run takes the id of a theme of the previous run when the members
they share make up at least ``link_overlap`` of the smaller of the two (articles a theme shares
with another theme of its run left out, as :func:`detector.narratives.lineage.exclusive_members`
does for narratives). Each id goes to one theme and each theme takes one id; the claims are
served greedily, the one carrying over most shared members first (then the higher Jaccard
share, then the provisional key, then the id), so

- two runs over overlapping periods keep their ids wherever a theme goes on;
- a theme that splits keeps its id on the part that carries most of its members, and the other
  part gets a new id (recorded as a split);
- two themes that merge go on under the id of the one that brought more members (the other is
  recorded as absorbed);
- the outcome does not depend on row order.

A theme no earlier theme claims gets a new id derived from its content, never a counter:
``T<yyyymmdd of its first article>-<8 hex of the sha256 of its member ids>``, so re-running a day
on the same store names everything the same. Ids of the previous run that no theme continues
(the period moved past them, or too few members went on) are recorded as ended.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from detector.narratives.lineage import exclusive_members
from detector.params import Constraint, Interval, validate_params


@dataclass
class ThemeEvents:
    """What happened to the previous run's theme ids in this run."""

    merges: list[tuple[str, str]] = field(default_factory=list)  # (kept, absorbed)
    splits: list[tuple[str, str]] = field(default_factory=list)  # (parent, new child)
    ended: list[str] = field(default_factory=list)  # ids no theme of this run continues

    def as_dict(self) -> dict[str, list[dict[str, str]]]:
        """The events as JSON-ready records (the manifest's ``themes.lineage``)."""
        return {
            "merges": [{"kept": kept, "absorbed": gone} for kept, gone in self.merges],
            "splits": [{"parent": parent, "child": child} for parent, child in self.splits],
            "ended": [{"theme_id": tid} for tid in self.ended],
        }


def theme_id(first_published: pd.Timestamp, member_ids: list[str]) -> str:
    """A new theme's id: ``T<date of its first article>-<hash of its sorted member ids>``."""
    digest = hashlib.sha256("\x1f".join(sorted(member_ids)).encode("utf-8"))
    return f"T{first_published:%Y%m%d}-{digest.hexdigest()[:8]}"


class ThemeLineage:
    """Names the themes of a run after the previous run's (module doc).

    Parameters
    ----------
    link_overlap : share of the smaller theme's (exclusive) members that two themes must share for
        the new one to continue the old one's id.
    """

    parameter_section: ClassVar[str] = "themes"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {"link_overlap": Interval(0.01, 1.0)}

    def __init__(self, link_overlap: float = 0.5) -> None:
        self.link_overlap = link_overlap
        validate_params(self)

    def assign(self, previous: pd.DataFrame, current: pd.DataFrame) -> dict[int, str]:
        """``{provisional key: theme id}`` for the themes of ``current`` (``key, id,
        published_at`` rows, one per member), continuing ``previous`` (``theme_id, id`` rows: the
        latest earlier run's members; may be empty). Sets ``events_``."""
        sets = {int(key): set(map(str, g["id"])) for key, g in current.groupby("key", sort=True)}
        parents = {str(tid): set(map(str, g["id"])) for tid, g in previous.groupby("theme_id", sort=True)}
        own, theirs = exclusive_members(sets), exclusive_members(parents)
        claims = sorted(
            (-shared, -jaccard, key, tid)
            for key, members in own.items()
            for tid, before in theirs.items()
            for shared, jaccard in [_overlap(members, before)]
            if shared and shared >= self.link_overlap * min(len(members), len(before))
        )
        names: dict[int, str] = {}
        for _, _, key, tid in claims:
            if key not in names and tid not in names.values():
                names[key] = tid
        first = pd.to_datetime(current["published_at"], utc=True).groupby(current["key"]).min()
        for key, members in sets.items():
            if key not in names:
                names[key] = theme_id(first[key], list(members))
        self.events_ = self._events(claims, names, set(parents))
        return names

    @staticmethod
    def _events(
        claims: list[tuple[int, float, int, str]], names: dict[int, str], before: set[str]
    ) -> ThemeEvents:
        events = ThemeEvents()
        kept = set(names.values())
        for key, tid in sorted({(key, tid) for _, _, key, tid in claims}):
            if tid not in kept:  # the old theme went on only inside another one
                events.merges.append((names[key], tid))
            elif names[key] != tid and names[key] not in before:  # it went on in two themes
                events.splits.append((tid, names[key]))
        absorbed = {gone for _, gone in events.merges}
        events.merges = sorted(set(events.merges))
        events.ended = sorted(before - kept - absorbed)
        return events


def _overlap(members: set[str], before: set[str]) -> tuple[int, float]:
    """Shared members and Jaccard share of two member sets."""
    shared = len(members & before)
    return shared, shared / len(members | before)
