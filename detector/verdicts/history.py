"""The store's verdict history: append-only rows (who, when, what, the value it replaced); the
latest row per narrative or theme is its verdict.

An import appends a row only where the file changes something (another verdict, note or analyst
than the current one, or a verdict_at the file gives and the store does not have), so importing
the same file twice changes nothing. All rows of one import go in one transaction: a kill at any
point leaves all of them or none.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from detector.errors import InputError
from detector.faults import checkpoint
from detector.store.store import Store
from detector.verdicts.evidence import snapshot_of
from detector.verdicts.files import VerdictRow

log = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "seq", "kind", "target_id", "verdict", "previous", "note", "analyst", "decided_at", "recorded_at",
    "source", "carried_from", "run_id",
]  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """A target's current verdict (its latest history row), with the evidence it was given on."""

    target_id: str
    verdict: str
    note: str
    analyst: str
    decided_at: datetime
    snapshot: dict[str, Any]
    run_id: str | None  # set when lineage carried it in that run


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows appended, rows that changed nothing, per verdict value."""

    appended: int
    unchanged: int
    by_verdict: dict[str, int]


def history(db: Store) -> pd.DataFrame:
    """Every verdict row, oldest first."""
    return db.con_.execute(f"SELECT {', '.join(HISTORY_COLUMNS)}, snapshot FROM verdicts ORDER BY seq").df()


def current(db: Store) -> pd.DataFrame:
    """The latest row per (kind, target), cleared ones included (``verdict`` ""), by target."""
    return db.con_.execute(
        f"SELECT {', '.join(HISTORY_COLUMNS)}, snapshot FROM verdicts "
        "QUALIFY row_number() OVER (PARTITION BY kind, target_id ORDER BY seq DESC) = 1 "
        "ORDER BY kind, target_id"
    ).df()


def narrative_verdicts(db: Store, leave_out_run: str = "", kind: str = "narrative") -> dict[str, Verdict]:
    """Each narrative's (or ``kind = "theme"``: theme's) current verdict, cleared ones excluded.
    ``leave_out_run``: ignore what lineage carried in that run (a re-run decides the same again)."""
    frame = db.con_.execute(
        "SELECT target_id, verdict, note, analyst, decided_at, snapshot, run_id FROM verdicts "
        "WHERE kind = ? AND (run_id IS NULL OR run_id <> ?) "
        "QUALIFY row_number() OVER (PARTITION BY target_id ORDER BY seq DESC) = 1",
        [kind, leave_out_run],
    ).fetchall()
    return {
        r[0]: Verdict(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else {}, r[6])
        for r in frame
        if r[1]
    }


def first_flagged(db: Store) -> dict[str, str]:
    """Narrative id -> the first run that flagged it."""
    return dict(db.con_.execute("SELECT narrative_id, run_id FROM first_flagged").fetchall())


def known_targets(db: Store) -> dict[str, set[str]]:
    """Ids a verdict may name: narratives some run flagged; themes of stored ``themes`` reports."""
    narratives = {r[0] for r in db.con_.execute("SELECT DISTINCT narrative_id FROM flags").fetchall()}
    themes: set[str] = set()
    for (blob,) in db.con_.execute("SELECT frame FROM report_rows WHERE report = 'themes'").fetchall():
        frame = pd.read_parquet(io.BytesIO(blob))
        themes |= set(frame.get("theme_id", pd.Series(dtype=str)).astype(str))
    return {"narrative": narratives, "theme": themes}


def check_targets(db: Store, path: str, rows: list[VerdictRow], every_id: list[str]) -> None:
    """Refuse a file for another store (none of ``every_id``, nor its ``run_id``, is known here)
    and a verdict on an id this store never flagged."""
    known = known_targets(db)
    runs = set(db.finished_runs())
    for row in rows:
        if row.run_id and row.run_id not in runs:
            raise InputError(path, f"is for another store: run {row.run_id} did not run in {db.path}",
                             "import it into the store the report came from (--store)", row=row.row,
                             field="run_id")  # fmt: skip
    if every_id and not set(every_id) & (known["narrative"] | known["theme"]):
        raise InputError(path, f"is for another store: none of its {len(every_id)} ids was flagged in "
                         f"{db.path}",
                         "import it into the store the report came from (--store)", row=1,
                         field="narrative_id", seen=every_id[0])  # fmt: skip
    for row in rows:
        if row.target_id not in known[row.kind]:
            table = "flags" if row.kind == "narrative" else "themes"
            raise InputError(path, f"unknown {row.kind} id: no run of {db.path} flagged it",
                             f"check the id (copy it from {table}.csv)",
                             row=row.row, field=f"{row.kind}_id", seen=row.target_id)  # fmt: skip


def import_rows(db: Store, rows: list[VerdictRow], source: str, default_analyst: str) -> ImportResult:
    """Append what ``rows`` change to the history, in one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # files say seconds
    latest = {(r.kind, r.target_id): r for r in current(db).itertuples(index=False)}
    new: list[tuple[Any, ...]] = []
    frames: dict[str, dict[str, pd.DataFrame]] = {}  # report frames by run, read once per import
    for row in rows:
        before = latest.get((row.kind, row.target_id))
        analyst = row.analyst or default_analyst
        if before is not None and unchanged(before, row):
            continue
        if before is None and row.verdict == "":
            continue  # clearing what was never set
        snapshot = snapshot_of(db, row.kind, row.target_id, frames) if row.verdict else {}
        previous = before.verdict if before is not None else None
        new.append((row.kind, row.target_id, row.verdict, previous, row.note, analyst, row.at or now, now,
                    source, None, None, json.dumps(snapshot)))  # fmt: skip
    if not new:
        return ImportResult(0, len(rows), {})
    with db.transaction() as con:
        start = con.execute("SELECT coalesce(max(seq), 0) FROM verdicts").fetchone()
        first = int(start[0]) + 1 if start else 1
        con.executemany(
            "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(first + i, *values) for i, values in enumerate(new)],
        )
        checkpoint("verdicts")  # rows inserted, not committed: a kill here leaves none of them
    counts: dict[str, int] = {}
    for values in new:
        counts[values[2] or "cleared"] = counts.get(values[2] or "cleared", 0) + 1
    return ImportResult(len(new), len(rows) - len(new), counts)


def unchanged(before: Any, row: VerdictRow) -> bool:
    """Whether ``row`` says what the stored latest row ``before`` says (who and when only where
    the file says them: the same file imported by someone else changes nothing)."""
    same = (before.verdict, before.note) == (row.verdict, row.note)
    same = same and (not row.analyst or before.analyst == row.analyst)
    at = pd.Timestamp(before.decided_at).floor("s")
    return same and (row.at is None or at == pd.Timestamp(row.at).floor("s"))


def carry(db: Store, rows: list[tuple[str, str, str, str]], run_id: str) -> int:
    """Record verdicts the lineage carried in run ``run_id``: ``(child, parent, why, verdict)``
    rows copy the parent's latest row to the child. A re-run of the run records nothing twice."""
    if not rows:
        return 0
    latest = current(db).set_index("target_id")
    now = datetime.now(UTC).replace(tzinfo=None)
    with db.transaction() as con:
        start = con.execute("SELECT coalesce(max(seq), 0) FROM verdicts").fetchone()
        seq = int(start[0]) if start else 0
        for child, parent, why, _ in rows:
            done = con.execute(
                "SELECT count(*) FROM verdicts WHERE target_id = ? AND carried_from = ? AND run_id = ?",
                [child, parent, run_id],
            ).fetchone()
            if done and done[0]:
                continue
            src = latest.loc[parent]
            seq += 1
            previous = latest.loc[child, "verdict"] if child in latest.index else None
            con.execute(
                "INSERT INTO verdicts VALUES (?, 'narrative', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [seq, child, src["verdict"], previous, src["note"], src["analyst"], src["decided_at"], now,
                 f"lineage: {why}", parent, run_id, src["snapshot"]],
            )  # fmt: skip
    return len(rows)
