"""What a run does with the analysts' verdicts (``[review]``; docs/review.md says it for users).

- **Lineage.** A verdict belongs to a narrative id, and ids are stable across runs
  (:mod:`detector.narratives.lineage`). When a run merges narratives, the id kept takes the
  verdict of an id it absorbed; when it splits one, the new child takes its parent's. A narrative
  with a verdict of its own keeps it; of several carried, confirmed beats unsure beats dismissed
  (a carried dismissal must never hide a confirmed narrative). Carried verdicts are recorded in
  the history (source ``lineage``) and listed in the manifest.
- **Dismissed.** A dismissed narrative is not flagged again unless its evidence grew: it now
  reaches at least ``resurface_outlets`` outlets it had not reached when it was dismissed (any
  bloc; a new channel type always comes with a new outlet). Then it is flagged, still marked
  ``dismissed``, and ``review`` names the new outlets. Otherwise it is left out of the reports, or
  kept in them marked ``dismissed`` with ``show_dismissed``.
- **Confirmed.** Tracked from then on like a watchlist entry whose statements are its best
  passage in each language when it was confirmed (``watch_hits.csv`` follows it).
- **New.** A flag is ``new`` when no earlier run flagged its id (the store's first run that did is
  kept, so re-running a day says the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from detector.params import Constraint, Interval, validate_params
from detector.report.columns import VERDICT_COLUMNS
from detector.times import iso_utc
from detector.verdicts.history import Verdict
from detector.watch.watchlist import WatchedNarrative

PRIORITY = {"confirmed": 0, "unsure": 1, "dismissed": 2}


@dataclass
class Reviewed:
    """The run's flags with the verdict columns, and what the verdicts did (manifest ``verdicts``)."""

    flags: pd.DataFrame
    hidden: list[str] = field(default_factory=list)
    resurfaced: dict[str, list[str]] = field(default_factory=dict)
    tracked: list[WatchedNarrative] = field(default_factory=list)

    def summary(self, carried: list[tuple[str, str, str, str]]) -> dict[str, Any]:
        return {
            "dismissed_not_flagged": self.hidden,
            "dismissed_resurfaced": self.resurfaced,
            "confirmed_tracked": [n.id for n in self.tracked],
            "carried_by_lineage": [
                {"narrative_id": c, "from": p, "why": w, "verdict": v} for c, p, w, v in carried
            ],
        }


def theme_columns(themes: pd.DataFrame, verdicts: dict[str, Verdict]) -> pd.DataFrame:
    """``themes.csv`` rows (by ``theme_id``) with their verdict columns: a theme's verdict is
    shown; what a run does with narratives' verdicts does not apply to it."""
    rows = [verdicts.get(str(t)) for t in themes["theme_id"]]
    return themes.assign(
        verdict=[v.verdict if v else "" for v in rows],
        verdict_note=[v.note if v else "" for v in rows],
        verdict_by=[v.analyst if v else "" for v in rows],
        verdict_at=[iso_utc(pd.Timestamp(v.decided_at).tz_localize("UTC")) if v else "" for v in rows],
    )


def watched(verdict: Verdict) -> WatchedNarrative:
    """A confirmed narrative as a watched one: its id, label and best passage in each language."""
    statements = tuple(text for _, text in verdict.snapshot["statements"])
    name = str(verdict.snapshot.get("label") or verdict.target_id)
    return WatchedNarrative(verdict.target_id, name, statements, notes=verdict.note)


class VerdictRules:
    """``[review]``: how a run applies the analysts' verdicts.

    Parameters
    ----------
    show_dismissed : keep dismissed narratives in the reports (marked ``dismissed``) instead of
        leaving them out.
    resurface_outlets : a dismissed narrative is flagged again when it reaches at least this many
        outlets it had not reached when it was dismissed.
    """

    parameter_section: ClassVar[str] = "review"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {"resurface_outlets": Interval(1, 10_000)}

    def __init__(self, show_dismissed: bool = False, resurface_outlets: int = 1) -> None:
        self.show_dismissed = show_dismissed
        self.resurface_outlets = resurface_outlets
        validate_params(self)

    @staticmethod
    def carried(
        verdicts: dict[str, Verdict], lineage: dict[str, list[dict[str, str]]]
    ) -> list[tuple[str, str, str, str]]:
        """``(child, parent, why, verdict)`` for each verdict the run's ``lineage`` carries to an id
        without one of its own (``verdicts``: narrative id -> its latest history row)."""
        sources: list[tuple[str, str, str]] = [
            (m["kept"], m["absorbed"], f"merge in window {m['window']}") for m in lineage.get("merges", [])
        ]
        sources += [
            (s["child"], s["parent"], f"split in window {s['window']}") for s in lineage.get("splits", [])
        ]
        have = {nid: str(row.verdict) for nid, row in verdicts.items() if row.verdict}
        out: list[tuple[str, str, str, str]] = []
        for _ in range(len(sources)):  # chains (a split, then a merge of the child) settle in as many passes
            offers = sorted(
                (PRIORITY[have[parent]], child, parent, why) for child, parent, why in sources
                if parent in have and child not in have
            )  # fmt: skip
            if not offers:
                break
            for _, child, parent, why in offers:
                if child not in have:
                    have[child] = have[parent]
                    out.append((child, parent, why, have[parent]))
        return out

    def apply(
        self,
        flags: pd.DataFrame,
        members: pd.DataFrame,
        verdicts: dict[str, Verdict],
        first: dict[str, str],
        run_id: str,
    ) -> Reviewed:
        """``flags`` with :data:`VERDICT_COLUMNS`, dismissed ones left out unless shown or grown;
        every confirmed narrative is tracked, flagged in this run or not."""
        tracked = [
            watched(v)
            for _, v in sorted(verdicts.items())
            if v.verdict == "confirmed" and v.snapshot.get("statements")
        ]
        if flags.empty:
            empty = flags.assign(**{c: pd.Series(dtype=object) for c in VERDICT_COLUMNS})
            return Reviewed(empty, tracked=tracked)
        outlets = (
            members.groupby("narrative_id")["outlet"].agg(lambda s: set(map(str, s))) if len(members) else {}
        )
        result = Reviewed(flags, tracked=tracked)
        rows = [
            self._judge(str(nid), verdicts.get(str(nid)), outlets, result)
            | {"new": first.get(str(nid), run_id) == run_id}
            for nid in flags["narrative_id"]
        ]
        out = flags.reset_index(drop=True).assign(**pd.DataFrame(rows).to_dict("series"))
        if not self.show_dismissed and result.hidden:
            out = out[~out["narrative_id"].isin(result.hidden)].reset_index(drop=True)
            out["rank"] = range(1, len(out) + 1)
        result.flags = out
        return result

    def _judge(self, nid: str, row: Verdict | None, outlets: Any, result: Reviewed) -> dict[str, Any]:
        """A flag's verdict columns; records in ``result`` what its verdict does to it."""
        if row is None:
            return {"verdict": "", "verdict_note": "", "verdict_by": "", "verdict_at": "", "review": ""}
        review = ""
        if row.verdict == "dismissed":
            grown = sorted(set(outlets.get(nid, set())) - set(row.snapshot.get("outlets", [])))
            if len(grown) >= self.resurface_outlets:
                result.resurfaced[nid] = grown
                review = "dismissed, flagged again: new outlets " + ", ".join(grown)
            else:
                result.hidden.append(nid)
                review = "dismissed: not flagged (shown by [review] show_dismissed)"
        elif row.verdict == "confirmed" and row.snapshot.get("statements"):
            review = f"confirmed: tracked in watch_hits.csv as {nid}"
        at = iso_utc(pd.Timestamp(row.decided_at).tz_localize("UTC"))
        return {"verdict": row.verdict, "verdict_note": row.note, "verdict_by": row.analyst, "verdict_at": at,
                "review": review}  # fmt: skip
