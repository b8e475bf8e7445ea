"""The "Shared themes" section of ``report.html``: narratives restated by several outlets of each
bloc over weeks (the theme stage, ``docs/reports.md`` "themes.csv").

Same rules as the rest of the page (:mod:`detector.report.html`): every value escaped, no
request but the inline PNG timelines, no style attribute or script of its own (its style block
is hashed into the page's Content-Security-Policy with the others), and a function of the frames
alone, so ``detector report --run`` renders it byte for byte.

Per theme: its labels per language, outlets per bloc, q-value and the note on what the null
could support, first appearance per bloc, leader and lag, a timeline of daily volumes (cn above
the axis, ru below, controls grey beside cn, days when both blocs burst shaded) and its members
with their feed ids. The table lists every theme; the sections after it cover the first
:data:`MAX_THEMES` in the table's order (flagged themes first: the frame is sorted by q-value),
and the themes a flagged narrative's ``theme_id`` names wherever they stand, so its link lands.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detector.report.html import BLOC_COLOURS, _cell, _e, _safe_url
from detector.times import iso_utc

MAX_THEMES = 30
SUMMARY = [
    ("theme_id", "theme"), ("flagged", "flagged"), ("q_value", "q-value"), ("label_en", "keywords (en)"),
    ("label_ru", "keywords (ru)"), ("label_zh", "keywords (zh)"), ("articles_cn", "cn"),
    ("articles_ru", "ru"), ("articles_control", "control"), ("n_outlets_cn", "cn outlets"),
    ("n_outlets_ru", "ru outlets"), ("leader", "leader"), ("lag_hours", "lag (h)"),
    ("xcorr_lag_days", "xcorr lag (d)"),
]  # fmt: skip
HEAD = '<section id="shared-themes"><h2>Shared themes</h2>'
STYLE = """
#themes td.kw{min-width:14em}.theme-facts th{width:14em}
"""


@dataclass(frozen=True)
class ThemeReport:
    """The theme stage's report frames (columns: :mod:`detector.report.columns` ``THEME_*``);
    ``daily`` may be ``None``: the volumes are then counted from the members."""

    themes: pd.DataFrame
    members: pd.DataFrame
    daily: pd.DataFrame | None = None


def themes_section(report: ThemeReport, named: Collection[str] = ()) -> str:
    """The section's HTML: a table of every theme, then one block per theme shown (module doc;
    ``named``: theme ids the flags name, shown in any case)."""
    themes = report.themes
    if themes.empty:
        return f"{HEAD}<p>No theme was found in this run.</p></section>"
    flagged = int(themes["flagged"].astype(bool).sum()) if "flagged" in themes else 0
    period = (
        f"{_e(themes['period_start'].iloc[0])} – {_e(themes['period_end'].iloc[0])}"
        if "period_start" in themes
        else ""
    )
    notes = sorted({str(n) for n in themes.get("null_note", pd.Series(dtype=str)).dropna() if str(n)})
    parts = [
        HEAD,
        f"<p>{len(themes)} themes over the period {period}, {flagged} flagged. "
        "A theme is one narrative restated by several outlets of each bloc over weeks; "
        "themes.csv and theme_members.csv hold them all.</p>",
        *(f'<p class="muted">Null: {_e(note)}</p>' for note in notes),
        _summary(themes),
    ]
    daily = report.daily if report.daily is not None else daily_volumes(report.members)
    shown = themes[(np.arange(len(themes)) < MAX_THEMES) | themes["theme_id"].isin(set(named))]
    for _, theme in shown.iterrows():
        tid = str(theme["theme_id"])
        group = report.members[report.members["theme_id"].astype(str) == tid]
        parts.append(_theme(theme, group, daily[daily["theme_id"].astype(str) == tid]))
    if len(themes) > len(shown):
        parts.append(f'<p class="muted">{len(themes) - len(shown)} more themes: see themes.csv.</p>')
    parts.append("</section>")
    return "".join(parts)


def daily_volumes(members: pd.DataFrame) -> pd.DataFrame:
    """``theme_id, day, bloc, articles`` counted from member rows (as ``theme_daily.csv``)."""
    if members.empty:
        return pd.DataFrame(columns=["theme_id", "day", "bloc", "articles"])
    day = pd.to_datetime(members["published_at"], utc=True).dt.strftime("%Y-%m-%d")
    frame = members.assign(day=day, theme_id=members["theme_id"].astype(str))
    counts = frame.groupby(["theme_id", "day", "bloc"]).size().rename("articles").reset_index()
    return counts.sort_values(["theme_id", "day", "bloc"]).reset_index(drop=True)


def _summary(themes: pd.DataFrame) -> str:
    columns = [(key, title) for key, title in SUMMARY if key in themes]
    head = "".join(f"<th>{_e(title)}</th>" for _, title in columns)
    body = []
    for _, theme in themes.iterrows():
        cells = []
        for key, _ in columns:
            text = _e(_cell(key, theme[key]))
            if key == "theme_id":
                text = f'<a href="#{text}">{text}</a>'
            cells.append(f'<td class="kw">{text}</td>' if key.startswith("label_") else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table id="themes"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _theme(theme: pd.Series, members: pd.DataFrame, daily: pd.DataFrame) -> str:
    tid = _e(theme["theme_id"])
    pair = "{}, {}".format
    facts = [
        ("q-value", _cell("q_value", theme.get("q_value")) or "— (see note)"),
        ("timing p-value", _cell("p_value", theme.get("p_value"))),
        ("note on the null", theme.get("null_note")),
        *((f"keywords ({lang})", theme.get(f"label_{lang}")) for lang in ("en", "ru", "zh")),
        ("articles (cn / ru / control)", " / ".join(
            _cell(k, theme.get(k)) for k in ("articles_cn", "articles_ru", "articles_control"))),
        ("cn outlets", theme.get("outlets_cn")), ("ru outlets", theme.get("outlets_ru")),
        ("first cn article", iso_utc(theme.get("first_cn_published_at"))),
        ("first ru article", iso_utc(theme.get("first_ru_published_at"))),
        ("leader, lag (h)", pair(_cell("", theme.get("leader")), _cell("", theme.get("lag_hours")))),
        ("cross-correlation peak (lag in days, r)",
         pair(_cell("", theme.get("xcorr_lag_days")), _cell("", theme.get("xcorr_peak")))),
        ("days both blocs burst", theme.get("burst_days")),
        ("most central cn article", _central(theme, "cn")),
        ("most central ru article", _central(theme, "ru")),
    ]  # fmt: skip
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if _cell("", v))
    state = "flagged" if bool(theme.get("flagged")) else "not flagged"
    parts = [f'<section id="{tid}"><h3>Theme {tid} ({state})</h3><table class="theme-facts">{rows}</table>']
    if not daily.empty:
        period = (_cell("", theme.get("period_start")), _cell("", theme.get("period_end")))
        png = theme_timeline_png(daily, _cell("", theme.get("burst_days")), period if all(period) else None)
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<img alt="Daily articles of theme {tid}" src="data:image/png;base64,{data}">')
    parts.append(_members(members))
    parts.append("</section>")
    return "".join(parts)


def _central(theme: pd.Series, bloc: str) -> str:
    title, article = _cell("", theme.get(f"central_{bloc}_title")), _cell("", theme.get(f"central_{bloc}_id"))
    return f"{title} ({article})" if article else title


def _members(members: pd.DataFrame) -> str:
    ordered = members.assign(_t=pd.to_datetime(members["published_at"], utc=True)).sort_values(["_t", "id"])
    rows = []
    for _, member in ordered.iterrows():
        title = _e(member.get("title")) or '<span class="muted">(no title)</span>'
        url = _safe_url(member.get("url"))
        link = f'<a href="{_e(url)}">{title}</a>' if url else title
        bloc, centrality = _e(member["bloc"]), _e(_cell("centrality", member.get("centrality")))
        rows.append(
            f'<tr><td class="{bloc}">{bloc}</td><td>{_e(iso_utc(member["_t"]))}</td>'
            f"<td>{_e(member['outlet'])}</td><td>{_e(member.get('language'))}</td><td>{link}</td>"
            f"<td><code>{_e(member['id'])}</code></td><td>{centrality}</td></tr>"
        )
    return (
        f"<details><summary>All {len(members)} articles</summary><table><thead><tr><th>bloc</th>"
        "<th>published (UTC)</th><th>outlet</th><th>language</th><th>title</th><th>id</th>"
        f"<th>centrality</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def theme_timeline_png(
    daily: pd.DataFrame, burst_days: str = "", period: tuple[str, str] | None = None
) -> bytes:
    """Daily articles of one theme: cn above the axis, ru below, controls grey beside cn; days in
    ``burst_days`` ("; "-joined yyyy-mm-dd) shaded; the x axis spans ``period`` (ISO start, end:
    the days the stage read, so a theme's persistence shows against them) or else its own days."""
    # Imported here: matplotlib takes a while to load, and only a page with themes draws these.
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    table = daily.assign(day=pd.to_datetime(daily["day"])).pivot_table(
        index="day", columns="bloc", values="articles", aggfunc="sum", fill_value=0
    )
    table = table.reindex(pd.date_range(table.index.min(), table.index.max(), freq="D"), fill_value=0)
    start, end = table.index.min(), table.index.max() + pd.Timedelta(days=1)
    if period is not None:
        bounds = [
            pd.Timestamp(p).tz_convert(None) if pd.Timestamp(p).tzinfo else pd.Timestamp(p) for p in period
        ]
        start, end = min(start, bounds[0].floor("D")), max(end, bounds[1].ceil("D"))
    counts = {
        bloc: table[bloc].to_numpy() if bloc in table else np.zeros(len(table), int) for bloc in BLOC_COLOURS
    }
    fig = Figure(figsize=(10, 2.6), dpi=80)
    ax = fig.add_subplot()
    for day in filter(None, (d.strip() for d in burst_days.split(";"))):
        ax.axvspan(pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(days=1), color="#fff3a0", zorder=0)
    offset = pd.Timedelta(hours=6)
    ax.bar(table.index + offset, counts["cn"], width=0.45, align="edge", color=BLOC_COLOURS["cn"], label="cn")
    ax.bar(table.index + offset + pd.Timedelta(hours=11), counts["control"], width=0.45, align="edge",
           color=BLOC_COLOURS["control"], label="control")  # fmt: skip
    ax.bar(
        table.index + offset, -counts["ru"], width=0.45, align="edge", color=BLOC_COLOURS["ru"], label="ru"
    )
    ax.axhline(0, color="#333", linewidth=0.8)
    ax.set_xlim(start, end)
    top = max(1, int(max(counts["cn"].max(), counts["control"].max(), counts["ru"].max())))
    ax.set_ylim(-top - 0.5, top + 0.5)
    ax.yaxis.set_major_formatter(lambda value, _: f"{abs(value):g}")
    ax.set_ylabel("articles per day\n(ru below)")
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})  # bytes depend on the data alone
    return buffer.getvalue()
