"""What a narrative's evidence was when an analyst judged it, kept with the verdict.

The snapshot is taken from the report frames of the latest finished run that flagged the
narrative: its outlets and channel types (a dismissed narrative comes back only when it reaches
more, :mod:`detector.verdicts.rules`) and its best passage in each language (a confirmed one is
tracked with them as its statements, like a watchlist entry). Kept in the verdict row, so what a
verdict means does not change when later runs re-score the narrative.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from detector.store.store import Store

MAX_STATEMENT_CHARS = 1000  # of a passage used as a statement: a paragraph, not a transcript


def latest_flagging_run(db: Store, narrative_id: str) -> str | None:
    row = db.con_.execute(
        "SELECT f.run_id FROM flags f JOIN runs r USING (run_id) WHERE f.narrative_id = ? "
        "AND r.status = 'done' ORDER BY r.finished_at DESC, f.run_id LIMIT 1",
        [narrative_id],
    ).fetchone()
    return str(row[0]) if row else None


def snapshot_of(
    db: Store, kind: str, target_id: str, cache: dict[str, dict[str, pd.DataFrame]]
) -> dict[str, Any]:
    """``{run_id, label, outlets, channel_types, statements}`` of a narrative ({} for a theme,
    or a narrative no finished run holds); ``cache`` keeps the report frames read, by run."""
    run_id = latest_flagging_run(db, target_id) if kind == "narrative" else None
    if run_id is None:
        return {}
    if run_id not in cache:
        cache[run_id] = db.report_frames(run_id)
    frames = cache[run_id]
    members = frames.get("members", pd.DataFrame(columns=["narrative_id"]))
    members = members[members["narrative_id"] == target_id]
    flags = frames.get("flags", pd.DataFrame(columns=["narrative_id"]))
    flag = flags[flags["narrative_id"] == target_id]
    pairs = frames.get("pairs", pd.DataFrame(columns=["narrative_id"]))
    pairs = pairs[pairs["narrative_id"] == target_id]
    label = str(flag["label"].iloc[0]) if "label" in flag and len(flag) else ""
    return {
        "run_id": run_id,
        "label": label,
        "outlets": sorted(set(members.get("outlet", pd.Series(dtype=str)).dropna().astype(str))),
        "channel_types": sorted(set(members.get("channel_type", pd.Series(dtype=str)).dropna().astype(str))),
        "statements": best_passages(pairs, flag),
    }


def best_passages(pairs: pd.DataFrame, flag: pd.DataFrame) -> list[list[str]]:
    """``[language, text]``: in each language, the passage (else title) of its most similar
    evidence pair; from the flag's best pair when the run kept no pairs."""
    found: dict[str, str] = {}
    ranked = pairs.sort_values(["similarity", "pair_rank"], ascending=[False, True]) if len(pairs) else pairs
    for _, pair in ranked.iterrows():
        for bloc in ("cn", "ru"):
            language = str(pair.get(f"{bloc}_language", "") or "")
            text = first_text(pair.get(f"{bloc}_passage"), pair.get(f"{bloc}_title"))
            if language and text and language not in found:
                found[language] = text
    if not found and len(flag):
        for bloc in ("cn", "ru"):
            text = first_text(flag[f"best_{bloc}_title"].iloc[0] if f"best_{bloc}_title" in flag else None)
            if text:
                found[bloc] = text
    return [[language, text] for language, text in sorted(found.items())]


def first_text(*values: object) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_STATEMENT_CHARS]
    return ""
