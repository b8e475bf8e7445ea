"""Theme level: run the real daily pipeline on an events feed and score the themes it wrote.

As the event level does, the pipeline is read back only through its outputs' exact twins
(``themes.parquet``, ``theme_members.parquet``), so this keeps working while the theme method
changes. The measurements are :mod:`detector.evaluate.theme_metrics`'s:

* **campaigns** (truth rows of kind ``campaign``: three cn and three ru articles of one narrative
  over days): *grouped* when one theme of at most 60 articles holds at least 4 of the 6 with both
  blocs among them, *found* when that theme also names the campaign's leader, *found at q ≤ 0.1*
  when its q-value is at most 0.1 too (a period too short for a timing null has no q-value, so
  on a 7-day feed only the first two count, as issue #26 says);
* **B-cubed** precision / recall / F1 of the themes against narrative labels, when the truth file
  carries a ``narrative_id`` column (file E's quotes injected into a real background): every
  article of the feed is an item, unlabelled ones their own class, items in no theme singletons;
* how big themes get and how many are flagged per 1,000 articles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from detector.evaluate.data import read_event_set
from detector.evaluate.theme_metrics import assignment, bcubed, campaign_table, theme_size_summary
from detector.pipeline.daily import RunSummary

MAX_Q = 0.1
LABEL_COLUMN = "narrative_id"


@dataclass(frozen=True)
class ThemeRun:
    """One feed's themes scored: the summary row and one row per campaign."""

    row: dict[str, object]
    campaigns: pd.DataFrame


def score_themes(out_dir: Path, feed_path: Path, truth_path: Path, run: RunSummary) -> ThemeRun:
    """Score the themes a run of ``feed_path`` wrote into ``out_dir`` against ``truth_path``."""
    feed, truth = read_event_set(feed_path, truth_path)
    themes_file, members_file = out_dir / "themes.parquet", out_dir / "theme_members.parquet"
    row: dict[str, object] = {"feed": feed_path.name, "articles": len(feed)}
    if not themes_file.is_file() or not members_file.is_file():
        note = "the run wrote no themes ([themes] enabled = false?)"
        return ThemeRun(row | {"note": note, "seconds": run.seconds}, pd.DataFrame())
    themes = pd.read_parquet(themes_file)
    members = pd.read_parquet(members_file)
    leaders = dict(zip(themes["theme_id"].astype(str), themes["leader"], strict=True))
    q_values = dict(zip(themes["theme_id"].astype(str), pd.to_numeric(themes["q_value"]), strict=True))
    grouped = campaign_table(members, truth, leaders)
    with_q = campaign_table(members, truth, leaders, q_values, max_q=MAX_Q)
    campaigns = grouped.assign(q_value=with_q["q_value"], found_q=with_q["found"]).assign(feed=feed_path.name)
    injected = truth["id"].tolist()
    sizes = theme_size_summary(members, len(feed), injected) if len(members) else {}
    n = len(campaigns)
    flagged = int(themes["flagged"].astype(bool).sum())
    row |= {
        "themes": len(themes),
        "flagged": flagged,
        "flagged_per_1k": round(1000.0 * flagged / len(feed), 2),
        "median_size": sizes.get("median_size", 0.0),
        "max_size": sizes.get("max_size", 0.0),
        "campaigns": n,
        "grouped": f"{int(campaigns['grouped'].sum())}/{n}" if n else "",
        "found": f"{int(campaigns['found'].sum())}/{n}" if n else "",
        f"found_q{MAX_Q:g}": f"{int(campaigns['found_q'].sum())}/{n}" if n else "",
    }
    row |= narrative_bcubed(members, feed, truth)
    return ThemeRun(row | {"seconds": run.seconds}, campaigns)


def narrative_bcubed(members: pd.DataFrame, feed: pd.DataFrame, truth: pd.DataFrame) -> dict[str, object]:
    """B-cubed of the themes against the truth's ``narrative_id`` labels (NaN without them). An
    article in several themes (passage units) counts in the one it is most central to."""
    if LABEL_COLUMN not in truth:
        return {"bcubed_precision": np.nan, "bcubed_recall": np.nan, "bcubed_f1": np.nan}
    ranked = members.sort_values(["id", "centrality", "theme_id"], ascending=[True, False, True])
    themes = assignment(ranked.drop_duplicates("id"), feed["id"].tolist())
    label_of = dict(zip(truth["id"], truth[LABEL_COLUMN], strict=True))
    labels = [label_of.get(i) or None for i in feed["id"]]
    scores = bcubed(themes, labels)
    return {
        "bcubed_precision": round(scores.precision, 4),
        "bcubed_recall": round(scores.recall, 4),
        "bcubed_f1": round(scores.f1, 4),
    }
