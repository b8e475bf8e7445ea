"""``detector show THEME_ID``: one theme of a finished run on the terminal, from the store (its labels,
synchronisation facts, members and timelines; nothing is recomputed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from detector.errors import NotFoundError
from detector.report.review import BLOC_STYLES, open_store, timeline
from detector.report.safety import terminal_safe
from detector.report.theme_html import daily_volumes
from detector.sources.ingest import headline
from detector.store.store import Store
from detector.times import iso_utc

THEME_ID = re.compile(r"T\d{8}-[0-9a-f]{8}")
BARS = " ▁▂▃▄▅▆▇█"


def is_theme_id(value: str) -> bool:
    """Whether ``value`` has the form of a theme id (``T<yyyymmdd>-<8 hex>``; narratives are ``N…``)."""
    return THEME_ID.fullmatch(value) is not None


def find_theme(
    store: Path, theme_id: str, run_id: str | None = None
) -> tuple[str, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """``(run id, themes.csv row, member rows, daily rows)`` of a theme, from ``run_id`` or else
    the newest finished run that holds it."""
    with open_store(store) as db:
        if run_id is not None:
            db.run_manifest(run_id)  # a clear error for an unknown run
        runs = [run_id] if run_id is not None else db.theme_runs(theme_id)
        for candidate in runs:
            frames = db.report_frames(candidate)
            themes = frames.get("themes", pd.DataFrame())
            if not themes.empty and (themes["theme_id"] == theme_id).any():
                members = frames["theme_members"]
                members = with_headlines(db, members[members["theme_id"] == theme_id])
                daily = frames.get("theme_daily", daily_volumes(members))
                row = themes[themes["theme_id"] == theme_id].iloc[0].to_dict()
                return candidate, row, members, daily[daily["theme_id"] == theme_id]
    where = f"run {run_id}" if run_id else f"any finished run in {store}"
    raise NotFoundError(f"theme {theme_id} is not in {where}. themes.csv lists a run's themes.")


def with_headlines(db: Store, members: pd.DataFrame) -> pd.DataFrame:
    """``members`` whose ``title`` is the article's headline: a feed without titles (Telegram
    posts) then shows the start of the text, as the narrative views do."""
    texts = db.article_texts(members["id"].astype(str).tolist()).set_index("id")
    stored = texts.reindex(members["id"].astype(str))
    shown = [headline(row) for _, row in stored.iterrows()]
    return members.assign(title=[s or t for s, t in zip(shown, members["title"], strict=True)])


def theme_view(run_id: str, theme: dict[str, Any], members: pd.DataFrame, daily: pd.DataFrame) -> Group:
    """A rich renderable: the theme's facts, its members, volumes per day and a timeline per outlet."""
    head = Text.assemble(*_facts(run_id, theme))
    articles = Table(title="Articles", title_justify="left")
    for column in ("published (UTC)", "bloc", "outlet", "lang", "title", "id", "centrality"):
        articles.add_column(column, no_wrap=column in ("published (UTC)", "id"))
    ordered = members.assign(_t=pd.to_datetime(members["published_at"], utc=True)).sort_values(["_t", "id"])
    for _, row in ordered.iterrows():
        bloc = str(row["bloc"])
        articles.add_row(
            iso_utc(row["_t"]), Text(bloc, BLOC_STYLES.get(bloc, "")),
            *(Text(terminal_safe(str(row.get(k) or ""))) for k in ("outlet", "language", "title", "id")),
            f"{row.get('centrality', float('nan')):.3f}",
        )  # fmt: skip
    return Group(head, articles, volumes(daily), timeline(members))


def _facts(run_id: str, theme: dict[str, Any]) -> list[str | tuple[str, str]]:
    """The header lines: id and run, keywords per language, q-value and timing, outlets."""
    q = theme.get("q_value")
    q_text = "—" if q is None or pd.isna(q) else f"{q:.3g}"
    note = f" ({theme['null_note']})" if theme.get("null_note") else ""
    state = "flagged" if theme.get("flagged") else "not flagged"
    parts: list[str | tuple[str, str]] = [(str(theme["theme_id"]), "bold"), f" (run {run_id}, {state})\n"]
    for lang in ("en", "ru", "zh"):
        if theme.get(f"label_{lang}"):
            parts += [f"keywords ({lang}): ", (terminal_safe(str(theme[f"label_{lang}"])), "italic"), "\n"]
    first = {bloc: iso_utc(theme.get(f"first_{bloc}_published_at")) for bloc in ("cn", "ru")}
    parts.append(
        f"q-value {q_text}{terminal_safe(note)}, leader {theme.get('leader')}, "
        f"lag {theme.get('lag_hours')} h, first cn {first['cn']}, first ru {first['ru']}\n"
    )
    outlets = {bloc: terminal_safe(str(theme.get(f"outlets_{bloc}") or "")) for bloc in ("cn", "ru")}
    return [*parts, f"cn outlets: {outlets['cn']}; ru outlets: {outlets['ru']}"]


def volumes(daily: pd.DataFrame) -> Table:
    """Articles per day and bloc, one bar character per day (the tallest day of the theme full)."""
    days = pd.to_datetime(daily["day"])
    span = pd.date_range(days.min(), days.max(), freq="D")
    counts = daily.assign(day=days).pivot_table(
        index="day", columns="bloc", values="articles", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(index=span, fill_value=0)
    top = max(1, int(counts.to_numpy().max()))
    table = Table(title="Articles per day", title_justify="left")
    table.add_column("bloc")
    table.add_column(f"{span[0]:%Y-%m-%d} … {span[-1]:%Y-%m-%d} (max {top}/day)", no_wrap=True)
    for bloc in ("cn", "ru", "control"):
        if bloc in counts:
            line = "".join(BARS[bar_height(n, top)] for n in counts[bloc])
            table.add_row(Text(bloc, BLOC_STYLES[bloc]), Text(line, BLOC_STYLES[bloc]))
    return table


def bar_height(count: int, top: int) -> int:
    """Index into :data:`BARS` of a day with ``count`` articles: 0 only for none, so a day with one
    article beside a day of many still shows."""
    return 0 if count <= 0 else max(1, round(count / top * (len(BARS) - 1)))


def print_theme(store: Path, theme_id: str, run_id: str | None = None) -> None:
    found_run, theme, members, daily = find_theme(store, theme_id, run_id)
    Console().print(theme_view(found_run, theme, members, daily))
