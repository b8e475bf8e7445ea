"""The theme stage's frames: one row per theme, per member article, per theme, day and bloc
(the columns of :mod:`detector.report.columns` ``THEME_*``, with a provisional ``key`` where
``theme_id`` goes), from the discovered groups and their null."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.report.columns import THEME_COLUMNS
from detector.themes.labels import LABEL_LANGUAGES, theme_labels
from detector.themes.scope import Group, ThemeScope
from detector.themes.sync import HOURS_PER_DAY, theme_timing
from detector.times import iso_utc, to_seconds

# Filled after the rows (labels need every theme, q the null, the period the scope).
# Filled after the rows: by the null, the labels, the period; theme_id and the analysts' verdict
# columns by the pipeline (lineage, docs/review.md).
NOT_DESCRIBED = {"theme_id", "flagged", "q_value", "p_value", "null_note", "label_en", "label_ru",
                 "label_zh", "period_start", "period_end", "verdict", "verdict_note", "verdict_by",
                 "verdict_at"}  # fmt: skip
LABEL_CHARS = 2000  # of a member's passage read for its theme's keywords
MEMBER_FIELDS = ["id", "outlet", "bloc", "language", "published_at", "title", "url"]


def group_members(scope: ThemeScope, units: pd.DataFrame, group: Group, key: int) -> pd.DataFrame:
    """One row per article of ``group``: the unit of it nearest its bloc's centroid (the passage
    that put it in the theme) and that cosine as ``centrality``."""
    rows = units.iloc[group.units].copy()
    vectors = scope.unit_vectors[group.units]
    rows["centrality"] = 0.0
    for bloc in ("cn", "ru"):
        mine = (rows["bloc"] == bloc).to_numpy()
        centroid = vectors[mine].mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        rows.loc[mine, "centrality"] = np.round(vectors[mine] @ centroid, 6)
    rows = rows.sort_values(["article_pos", "centrality"], ascending=[True, False], kind="stable")
    rows = rows.drop_duplicates("article_pos")
    body = (rows["kind"] == "body").to_numpy()
    for column in ("start", "end"):  # empty where the whole article (or its title) did
        rows[f"passage_{column}"] = rows[column].astype("Int64").where(body)
    rows["key"] = key
    rows["label_text"] = rows["text"].str.slice(0, LABEL_CHARS)
    columns = ["key", *MEMBER_FIELDS, "centrality", "passage_start", "passage_end", "label_text", "hours"]
    return rows[columns].sort_values(["published_at", "id"], kind="stable")


def theme_row(
    members: pd.DataFrame, group: Group, first_day: int, n_days: int, lag: float
) -> dict[str, object]:
    """The themes row of one group but its labels, q and flag."""
    is_cn = (members["bloc"] == "cn").to_numpy()
    timing = theme_timing(
        members["hours"].to_numpy(), members["outlet"].to_numpy(), is_cn, first_day, n_days, lag
    )
    row: dict[str, object] = {"key": int(members["key"].iloc[0]), "score": group.score}
    row |= {"articles": len(members), "articles_cn": int(is_cn.sum()), "articles_ru": int((~is_cn).sum())}
    row["articles_control"] = group.control
    for bloc, mine in (("cn", is_cn), ("ru", ~is_cn)):
        outlets = sorted(set(members.loc[mine, "outlet"]))
        central = members[mine].sort_values(["centrality", "id"], ascending=[False, True]).iloc[0]
        row |= {f"outlets_{bloc}": "; ".join(outlets), f"n_outlets_{bloc}": len(outlets)}
        row |= {f"central_{bloc}_id": central["id"], f"central_{bloc}_title": central["title"]}
    row["first_cn_published_at"] = iso_utc(pd.Timestamp(timing.first_cn * 3600, unit="s", tz="UTC"))
    row["first_ru_published_at"] = iso_utc(pd.Timestamp(timing.first_ru * 3600, unit="s", tz="UTC"))
    row |= {"leader": timing.leader, "lag_hours": round(timing.lag_hours, 3)}
    row |= {"xcorr_lag_days": timing.xcorr_lag_days, "xcorr_peak": round(timing.xcorr_peak, 6)}
    days = pd.to_datetime(np.array(timing.burst_days, dtype=np.int64) * 86400, unit="s")
    row["burst_days"] = "; ".join(days.strftime("%Y-%m-%d"))
    return row


def describe(
    scope: ThemeScope,
    units: pd.DataFrame,
    groups: list[Group],
    q: np.ndarray,
    p: np.ndarray,
    note: str,
    lag: float,
    target_fdr: float,
    keywords: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The themes, theme_members and theme_daily frames (with ``key`` where ``theme_id`` goes)."""
    start_hours = to_seconds(scope.start) / 3600
    first_day = int(np.floor(start_hours / HOURS_PER_DAY))
    n_days = int(np.ceil((start_hours + scope.span_hours) / HOURS_PER_DAY)) - first_day
    members = [group_members(scope, units, g, k) for k, g in enumerate(groups)]
    rows = [theme_row(m, g, first_day, n_days, lag) for m, g in zip(members, groups, strict=True)]
    described = [c for c in THEME_COLUMNS if c not in NOT_DESCRIBED]
    themes = pd.DataFrame(rows, columns=["key", "score", *described])
    everyone = pd.concat(members, ignore_index=True) if members else empty_members()
    labels = theme_labels(
        everyone["label_text"].tolist(), everyone["language"].tolist(), everyone["key"].tolist(), keywords
    )
    for language in LABEL_LANGUAGES:
        themes[f"label_{language}"] = themes["key"].map(labels[language]).astype(object).fillna("")
    themes["q_value"], themes["p_value"] = np.round(q, 6), np.round(p, 6)
    themes["flagged"] = (themes["q_value"] <= target_fdr) & (themes["score"] > 0)
    themes["null_note"] = [note or g.note for g in groups] if groups else []
    themes["period_start"], themes["period_end"] = iso_utc(scope.start), iso_utc(scope.end)
    themes = themes.sort_values(["q_value", "articles", "key"], ascending=[True, False, True], kind="stable")
    return (
        themes.reset_index(drop=True),
        everyone.drop(columns=["label_text", "hours"]),
        daily_frame(everyone),
    )


def daily_frame(members: pd.DataFrame) -> pd.DataFrame:
    days = pd.to_datetime(members["published_at"], utc=True).dt.strftime("%Y-%m-%d")
    frame = members.assign(day=days).groupby(["key", "day", "bloc"], sort=True).size()
    return frame.rename("articles").reset_index()


def empty_members() -> pd.DataFrame:
    columns = ["key", *MEMBER_FIELDS, "centrality", "passage_start", "passage_end", "label_text", "hours"]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
