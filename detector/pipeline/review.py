"""The analysts' verdicts inside the daily run (docs/review.md): carry them along the run's
lineage, mark every flag (``new``, ``verdict*``, ``review``), leave out dismissed narratives whose
evidence did not grow, and hand the confirmed ones to the watch step as watched narratives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detector.config import Config
from detector.narratives.lineage import Lineage
from detector.report.findings import Findings
from detector.scoring.amplification import outlet_edges
from detector.store.store import Store
from detector.verdicts.history import carry, first_flagged, narrative_verdicts
from detector.verdicts.rules import VerdictRules
from detector.watch.watchlist import WatchedNarrative


@dataclass(frozen=True)
class RunReview:
    findings: Findings
    tracked: tuple[WatchedNarrative, ...]  # confirmed narratives, watched from this run on
    summary: dict[str, Any]  # manifest ``verdicts``


def review_run(config: Config, db: Store, run_id: str, found: Findings, lineage: Lineage) -> RunReview:
    """Apply ``[review]`` to the run's findings; lineage's carried verdicts are recorded first."""
    rules = VerdictRules(**config.arguments("review"))
    carried = rules.carried(narrative_verdicts(db, leave_out_run=run_id), lineage.as_dict())
    carry(db, carried, run_id)
    reviewed = rules.apply(found.flags, found.members, narrative_verdicts(db), first_flagged(db), run_id)
    kept = set(reviewed.flags["narrative_id"]) if not reviewed.flags.empty else set()
    findings = Findings(reviewed.flags, found.members, found.pairs, found.outlets)
    if len(kept) < len(found.flags):  # dismissed narratives left out: of every report
        members = found.members[found.members["narrative_id"].isin(kept)].reset_index(drop=True)
        pairs = found.pairs[found.pairs["narrative_id"].isin(kept)].reset_index(drop=True)
        findings = Findings(reviewed.flags, members, pairs, outlet_edges(members, pairs))
    return RunReview(findings, tuple(reviewed.tracked), reviewed.summary(carried))
