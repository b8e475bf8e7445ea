"""``detector verdicts import`` and ``export``: a verdict file into the store's history, and the
current verdicts with their history out of it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from detector.errors import NotFoundError, StoreBusyError
from detector.report.writer import write_csv
from detector.store.reader import StoreReader
from detector.store.store import Store
from detector.times import iso_utc
from detector.verdicts.files import read_verdicts
from detector.verdicts.history import HISTORY_COLUMNS, ImportResult, check_targets, history, import_rows

CURRENT_COLUMNS = ["narrative_id", "theme_id", "verdict", "verdict_note", "verdict_by", "verdict_at"]
EXPORT_HISTORY = [c if c != "run_id" else "carried_in_run" for c in HISTORY_COLUMNS]


def import_file(store: Path, file: str, analyst: str) -> ImportResult:
    """Import ``file`` into ``store``: read and checked in full before anything is written, then
    appended in one transaction. A run holding the store makes this refuse at once
    (:class:`~detector.errors.StoreBusyError`): verdicts are never queued."""
    rows, every_id = read_verdicts(file)
    if not store.is_file():
        raise NotFoundError(f"store {store} does not exist. Pass --store with the file `detector run` wrote.")
    try:
        with Store(store) as db:
            check_targets(db, file, rows, every_id)
            return import_rows(db, rows, str(Path(file).resolve()), analyst)
    except StoreBusyError:  # only opening the store raises it; the lock file names the holder
        holder = Store(store).lock_path.read_text(encoding="utf-8").strip() or "another process"
        raise StoreBusyError(
            f"store {store} is in use by {holder}, and verdicts are not queued. Fix: run the same "
            "import again once that run has finished"
        ) from None


def export_file(store: Path, out: Path) -> tuple[Path, Path, int]:
    """Write the current verdicts to ``out`` (an importable verdict file: one row per id, cleared
    ones left out) and the whole history beside it as ``<stem>_history.csv``."""
    with StoreReader(store) as db:
        exists = db.con_.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'verdicts'"
        ).fetchone()
        rows = history(db) if exists and exists[0] else pd.DataFrame(columns=[*HISTORY_COLUMNS, "snapshot"])
    rows = rows.drop(columns=["snapshot"]).rename(columns={"run_id": "carried_in_run"})
    latest = rows.drop_duplicates(["kind", "target_id"], keep="last")
    latest = latest[latest["verdict"] != ""]
    current = pd.DataFrame({
        "narrative_id": latest["target_id"].where(latest["kind"] == "narrative", ""),
        "theme_id": latest["target_id"].where(latest["kind"] == "theme", ""),
        "verdict": latest["verdict"], "verdict_note": latest["note"], "verdict_by": latest["analyst"],
        "verdict_at": latest["decided_at"].map(iso_utc),
    })  # fmt: skip
    for column in ("decided_at", "recorded_at"):
        rows[column] = rows[column].map(iso_utc)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(current, out, CURRENT_COLUMNS)
    past = out.with_name(f"{out.stem}_history.csv")
    write_csv(rows, past, EXPORT_HISTORY)
    return out, past, len(current)
