"""Measuring with the analysts' verdicts: the precision of flags, and labelled pairs for tuning.

Precision = confirmed / (confirmed + dismissed) over the flags of a run (each run's flags as it
stored them, judged by each narrative's current verdict); ``unsure`` and unjudged flags count
in neither. Per channel type a flag counts once for every channel type it reached; per language
pair it counts under the languages of its best evidence pair.
"""

from __future__ import annotations

import json

import pandas as pd

from detector.report.channels import channels_of
from detector.sources.registry import language_pair
from detector.store.store import Store
from detector.verdicts.history import narrative_verdicts

COUNT_COLUMNS = ["flags", "confirmed", "dismissed", "unsure", "unjudged", "precision"]


def judged_flags(db: Store) -> pd.DataFrame:
    """One row per (finished run, flag): ``run_id, narrative_id, channel_types, language_pair,
    verdict`` (the narrative's current verdict, "" for none)."""
    verdicts = narrative_verdicts(db)
    rows = db.con_.execute(
        "SELECT f.run_id, f.narrative_id, f.payload FROM flags f JOIN runs r USING (run_id) "
        "WHERE r.status = 'done' ORDER BY r.finished_at, f.run_id, f.rank"
    ).fetchall()
    best: dict[str, dict[str, str]] = {}
    out = []
    for run_id, nid, payload in rows:
        if run_id not in best:
            pairs = db.report_frames(run_id).get("pairs", pd.DataFrame())
            top = pairs[pairs["pair_rank"] == 1] if "pair_rank" in pairs else pairs
            best[run_id] = {
                str(p.narrative_id): language_pair(str(p.cn_language), str(p.ru_language))
                for p in top.itertuples(index=False)
            }
        flag = json.loads(payload)
        verdict = verdicts[nid].verdict if nid in verdicts else ""
        channels = channels_of(flag.get("channel_path"))
        out.append({"run_id": run_id, "narrative_id": nid, "channel_types": channels,
                    "language_pair": best[run_id].get(nid, "unknown"), "verdict": verdict})  # fmt: skip
    return pd.DataFrame(out, columns=["run_id", "narrative_id", "channel_types", "language_pair", "verdict"])


def precision_tables(db: Store) -> dict[str, pd.DataFrame]:
    """Precision per run, per channel type and per language pair (and over all runs)."""
    flags = judged_flags(db)
    exploded = flags.explode("channel_types").fillna({"channel_types": "unknown"})
    return {
        "run": counts(flags, "run_id", in_order=True),
        "channel_type": counts(exploded.rename(columns={"channel_types": "channel_type"}), "channel_type"),
        "language_pair": counts(flags, "language_pair"),
        "all": counts(flags.assign(runs="all runs"), "runs"),
    }


def counts(flags: pd.DataFrame, by: str, *, in_order: bool = False) -> pd.DataFrame:
    """Verdict counts and precision of ``flags`` grouped by ``by`` (sorted, or ``in_order`` of
    first appearance: runs in the order they finished)."""
    rows = []
    for key, group in flags.groupby(by, sort=not in_order):
        n = group["verdict"].value_counts()
        confirmed, dismissed = int(n.get("confirmed", 0)), int(n.get("dismissed", 0))
        judged = confirmed + dismissed
        rows.append({by: key, "flags": len(group), "confirmed": confirmed, "dismissed": dismissed,
                     "unsure": int(n.get("unsure", 0)), "unjudged": int(n.get("", 0)),
                     "precision": round(confirmed / judged, 3) if judged else float("nan")})  # fmt: skip
    return pd.DataFrame(rows, columns=[by, *COUNT_COLUMNS])


def labelled_pairs(db: Store) -> pd.DataFrame:
    """The best evidence pair of each judged narrative, as a label for tuning: ``language_pair,
    similarity, label`` (1 = confirmed, 0 = dismissed), from the run it was judged on. The best
    pair is what the scorer's similarity floor gates a narrative on."""
    rows = []
    for nid, verdict in narrative_verdicts(db).items():
        run_id = verdict.snapshot.get("run_id")
        if verdict.verdict not in ("confirmed", "dismissed") or not run_id:
            continue
        pairs = db.report_frames(str(run_id)).get("pairs", pd.DataFrame(columns=["narrative_id"]))
        own = pairs[pairs["narrative_id"] == nid]
        for p in own.sort_values("similarity", ascending=False).head(1).itertuples(index=False):
            key = language_pair(str(p.cn_language), str(p.ru_language))
            rows.append({"narrative_id": nid, "language_pair": key, "similarity": float(p.similarity),
                         "label": int(verdict.verdict == "confirmed")})  # fmt: skip
    return pd.DataFrame(rows, columns=["narrative_id", "language_pair", "similarity", "label"])
