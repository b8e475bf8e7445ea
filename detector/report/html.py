"""``report.html``: one self-contained page to review a run, beside the CSVs.

Offline by construction: styles, script and timeline images (PNG data URIs) are inline, so the
page makes no network request; the only outside links are the articles' own ``url`` values, as
plain ``<a>`` links an analyst may choose to follow. Every value is escaped, and a
Content-Security-Policy lets only the page's own script and style run (the feeds are written by
the outlets we watch: see :mod:`detector.report.safety`). The page is a function of the report
frames and the manifest alone (no rendering time, PNG metadata without the software version), so
``detector report --run`` re-renders it byte for byte.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.io import atomic_writer
from detector.report.channels import channel_summary, channels_of
from detector.report.columns import FLAG_COLUMNS
from detector.report.safety import csp_meta, plain_label, show_bidi_controls
from detector.report.verdict_page import VERDICT_SCRIPT, VERDICT_STYLE, shown_q_values, verdict_controls
from detector.sources.ingest import headline
from detector.times import iso_utc

BLOC_COLOURS = {"cn": "#c62828", "ru": "#1565c0", "control": "#9e9e9e"}
OTHER_COLOUR = "#6d4c41"
SUMMARY_COLUMNS = [
    "rank", "narrative_id", "new", "verdict", "verdict_note", "label", "q_value", "evidence", "p_value",
    "direction", "lag_hours", "leader_outlet", "best_similarity", "n_articles", "n_cn", "n_ru", "outlets_cn",
    "outlets_ru", "languages", "channel_path", "language_path", "control_share", "burstiness", "first_seen",
    "last_seen", "theme_id",
]  # fmt: skip
# Written by other stages when they run; linked from the page only when present in the folder.
OPTIONAL_FILES = ("outlets.csv", "outlets.graphml", "themes.csv", "theme_members.csv", "theme_daily.csv",
                  "watch.html", "watch_hits.csv", "watch_summary.csv")  # fmt: skip
MAX_PAIRS = 10
CONTEXT_CHARS = 240  # of the article's text shown around a highlighted passage, each side

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top}
th{background:#f3f3f3;text-align:left}#flags th{cursor:pointer;white-space:nowrap}
#flags th[aria-sort=ascending]::after{content:" \\25B2"}
#flags th[aria-sort=descending]::after{content:" \\25BC"}
.cn{border-left:4px solid #c62828}.ru{border-left:4px solid #1565c0}.control{border-left:4px solid #9e9e9e}
.pairs td.cn,.pairs td.ru{width:40%}.pairs td.num{text-align:right}.pairs th{white-space:nowrap}
code{font-size:12px;color:#555}
section{border-top:2px solid #ccc;margin-top:28px}img{max-width:100%}.muted{color:#666}
.scroll{max-height:50vh;overflow:auto}#flags thead th{position:sticky;top:0}#flags td{white-space:nowrap}
#flags td.label{white-space:normal;min-width:36em}
blockquote.passage{margin:6px 0;padding:4px 8px;background:#fafafa;border-left:3px solid #bbb;font-size:13px}
mark{background:#fff3a0}
"""
STYLE += VERDICT_STYLE

# Sort on a header click (numbers as numbers, then text, then blanks) and filter rows on every keystroke.
SCRIPT = """
(() => {
  const table = document.getElementById("flags");
  if (!table) return;
  const body = table.tBodies[0], rows = Array.from(body.rows), heads = Array.from(table.tHead.rows[0].cells);
  const filter = document.getElementById("filter"), shown = document.getElementById("shown");
  const boxes = Array.from(document.querySelectorAll("input[data-channel]"));
  const channelOk = (row) => {
    const on = boxes.filter((b) => b.checked).map((b) => b.dataset.channel);
    const has = (row.dataset.channels || "").split(" ");
    return on.length === 0 || on.some((c) => has.includes(c));
  };
  const key = (row, i) => {
    const text = row.cells[i].textContent.trim(), num = Number(text);
    return text === "" ? [2, ""] : Number.isNaN(num) ? [1, text.toLowerCase()] : [0, num];
  };
  const update = () => {
    const q = filter.value.trim().toLowerCase();
    let n = 0;
    for (const row of rows) {
      const off = row.classList.contains("off");  // set by the review controls' filters
      row.hidden = off || !(row.textContent.toLowerCase().includes(q) && channelOk(row));
      n += !row.hidden;
    }
    shown.textContent = `${n} of ${rows.length} narratives shown`;
  };
  heads.forEach((th, i) => th.addEventListener("click", () => {
    const asc = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    rows.sort((a, b) => {
      const [ka, va] = key(a, i), [kb, vb] = key(b, i);
      const c = ka - kb || (va < vb ? -1 : va > vb ? 1 : 0);
      return asc ? c : -c;
    });
    rows.forEach((row) => body.appendChild(row));
  }));
  filter.addEventListener("input", update);
  boxes.forEach((box) => box.addEventListener("change", update));
  update();
})();
"""
SCRIPT += VERDICT_SCRIPT  # one script, one hash: the review controls (verdict_page) are part of it


def render_report(
    flags: pd.DataFrame,
    members: pd.DataFrame,
    pairs: pd.DataFrame | None,
    manifest: dict[str, Any],
    *,
    files: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole page as a string. ``pairs`` (one row per cn/ru evidence pair) may be ``None``:
    each narrative then shows its best pair from ``flags``. Extra flag columns are shown too.
    ``sections`` are ``(style, html)`` of other stages' parts (the shared themes), appended."""
    run_id = str(manifest.get("run_id", ""))
    styles = [STYLE, *(style for style, _ in sections)]
    style_tags = "".join(f"<style>{style}</style>" for style in styles)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8">{csp_meta([SCRIPT], styles)}',
        f"<title>Narrative sync report {_e(run_id)}</title>{style_tags}</head><body>",
        f"<h1>Narrative sync report <code>{_e(run_id)}</code></h1>",
        _run_facts(manifest, files),
    ]
    if flags.empty:
        parts.append("<p>No narrative was flagged in this run.</p>")
    else:
        flags = shown_q_values(flags, manifest)
        parts += [channel_table(flags, members), verdict_controls(flags, manifest), _summary(flags)]
        urls, texts = _urls(members), _texts(members)
        for _, flag in flags.iterrows():
            nid = str(flag["narrative_id"])
            group = members[members["narrative_id"] == nid] if "narrative_id" in members else members[:0]
            evidence = _pairs_of(nid, flag, pairs)
            parts.append(_narrative(flag, group, evidence, urls, texts))
    parts.extend(body for _, body in sections)
    parts.append(f"<script>{SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def write_html_report(
    out_dir: Path,
    flags: pd.DataFrame,
    members: pd.DataFrame,
    pairs: pd.DataFrame | None,
    manifest: dict[str, Any],
    sections: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write ``out_dir/report.html`` atomically and return its path."""
    files = ["flags.csv", "members.csv", *(["pairs.csv"] if pairs is not None else [])]
    files += [name for name in OPTIONAL_FILES if (out_dir / name).is_file()]
    path = out_dir / "report.html"
    page = render_report(flags, members, pairs, manifest, files=[*files, "manifest.json"], sections=sections)
    with atomic_writer(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(page)
    return path


def timeline_png(group: pd.DataFrame, best: tuple[str, str] | None = None) -> bytes:
    """Articles over time, one row per outlet (grouped by bloc), the best pair joined by a line."""
    # Imported here: matplotlib takes a while to load, and only a page with flags draws timelines.
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    order = {"cn": 0, "ru": 1, "control": 2}
    frame = group.assign(
        when=pd.to_datetime(group["published_at"], utc=True).dt.tz_localize(None),
        bloc_order=group["bloc"].map(order).fillna(len(order)),
    ).sort_values(["bloc_order", "outlet", "when", "id"])
    outlets = list(dict.fromkeys(frame["outlet"]))
    row_of = {outlet: i for i, outlet in enumerate(outlets)}
    fig = Figure(figsize=(10, 1.3 + 0.3 * len(outlets)), dpi=80)
    ax = fig.add_subplot()
    for bloc, points in frame.groupby("bloc", sort=False):
        colour = BLOC_COLOURS.get(str(bloc), OTHER_COLOUR)
        ax.scatter(points["when"].to_numpy(), points["outlet"].map(row_of), s=36, color=colour,
                   edgecolors="white", linewidths=0.5, label=str(bloc), zorder=3)  # fmt: skip
    if best is not None:
        ends = frame.drop_duplicates("id").set_index("id").reindex(list(best)).dropna(subset=["when"])
        if len(ends) == 2:
            ax.plot(ends["when"].to_numpy(), ends["outlet"].map(row_of), color="black", linestyle="--",
                    linewidth=1, label="best pair", zorder=2)  # fmt: skip
    bloc_of = frame.drop_duplicates("outlet").set_index("outlet")["bloc"]
    ax.set_yticks(range(len(outlets)), labels=[plain_label(str(o)) for o in outlets])
    for label, outlet in zip(ax.get_yticklabels(), outlets, strict=True):
        label.set_color(BLOC_COLOURS.get(str(bloc_of[outlet]), OTHER_COLOUR))
    ax.set_ylim(len(outlets) - 0.5, -0.5)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("published (UTC)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    # No "Software" chunk: the PNG bytes then depend on the data alone, not on matplotlib's version.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# ---- page parts ---------------------------------------------------------------------------------
def _run_facts(manifest: dict[str, Any], files: Sequence[str]) -> str:
    keys = ("started_at", "config_hash", "method_hash", "model_id", "seed", "filter")
    facts = [(key, manifest.get(key)) for key in keys]
    for item in manifest.get("inputs", []):
        facts.append(("input", f"{item.get('path')} (sha256 {item.get('sha256')})"))
    for key, value in manifest.get("counts", {}).items():
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        facts.append((f"count: {key}", shown))
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if v is not None)
    links = " · ".join(f'<a href="{_e(name)}">{_e(name)}</a>' for name in files)
    return f"<details><summary>Run</summary><table>{rows}</table></details><p>Files: {links}</p>"


def _summary(flags: pd.DataFrame) -> str:
    extra = [c for c in flags.columns if c not in FLAG_COLUMNS and c not in SUMMARY_COLUMNS]
    columns = [c for c in SUMMARY_COLUMNS if c in flags.columns] + extra
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for _, flag in flags.iterrows():
        cells = []
        for column in columns:
            text = _e(_cell(column, flag[column]))
            if column in ("narrative_id", "theme_id") and text:
                text = f'<a href="#{text}">{text}</a>'
            cells.append(f'<td class="label">{text}</td>' if column == "label" else f"<td>{text}</td>")
        body.append(f'<tr data-channels="{_e(row_channels(flag))}">{"".join(cells)}</tr>')
    return (
        '<h2>Flagged narratives</h2><p><input id="filter" type="search" placeholder="Filter rows…" '
        'aria-label="Filter narratives"> <span id="shown" class="muted"></span> '
        '<span class="muted">· click a header to sort.</span></p>'
        f'<div class="scroll"><table id="flags"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _narrative(
    flag: pd.Series, group: pd.DataFrame, evidence: pd.DataFrame, urls: dict[str, str], texts: dict[str, str]
) -> str:
    nid = _e(flag["narrative_id"])
    title = f"#{_e(_cell('rank', flag.get('rank')))} {nid}"
    facts = ", ".join(
        f"{label} {_e(_cell(key, flag.get(key)))}"
        for key, label in [("q_value", "q-value"), ("evidence", "evidence"),
                           ("cross_edges", "cross-bloc edges"),
                           ("outlets_cn", "cn outlets"), ("outlets_ru", "ru outlets"),
                           ("p_value", "timing p-value"), ("score", "score"), ("direction", "direction"),
                           ("lag_hours", "first-to-first lag (h)"), ("best_similarity", "best similarity"),
                           ("n_cn", "cn articles"), ("n_ru", "ru articles"),
                           ("control_coverage", "control articles"), ("control_outlets", "control outlets")]
        if _cell(key, flag.get(key))
    )  # fmt: skip
    parts = [f'<section id="{nid}"><h2>{title}</h2><p><b>{_e(flag.get("label", ""))}</b></p><p>{facts}</p>']
    if _cell("path", flag.get("path")):
        parts.append(f'<p class="muted">Spread: {_e(flag.get("path"))}</p>')
    if _cell("channel_path", flag.get("channel_path")):
        reached = f"{_e(flag.get('channel_path'))}; languages: {_e(flag.get('language_path'))}"
        parts.append(f'<p class="muted">Channel types: {reached}</p>')
    if not group.empty:
        best = (str(flag.get("best_cn_id")), str(flag.get("best_ru_id")))
        data = base64.b64encode(timeline_png(group, best)).decode("ascii")
        parts.append(f'<img alt="Timeline of {nid}" src="data:image/png;base64,{data}">')
    rows = []
    for _, pair in evidence.iterrows():
        rows.append(
            f"<tr>{_article('cn', pair, urls, texts)}{_article('ru', pair, urls, texts)}"
            f'<td>{_e(pair.get("link_type"))}</td><td class="num">{_e(pair.get("similarity"))}</td>'
            f'<td class="num">{_e(pair.get("lag_hours"))}</td></tr>'
        )
    parts.append(
        '<table class="pairs"><thead><tr><th>cn article</th><th>ru article</th><th>link</th>'
        f"<th>similarity</th><th>lag (h, ru − cn)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if not group.empty:
        parts.append(_members(group, urls))
    parts.append("</section>")
    return "".join(parts)


def _article(bloc: str, pair: pd.Series, urls: dict[str, str], texts: dict[str, str]) -> str:
    article_id = _cell("", pair.get(f"{bloc}_id"))
    title = _e(pair.get(f"{bloc}_title"))
    url = _safe_url(pair.get(f"{bloc}_url")) or urls.get(article_id, "")
    link = f'<a href="{_e(url)}">{title}</a>' if url else title
    when = _e(iso_utc(pair.get(f"{bloc}_published_at")))
    outlet = _e(pair.get(f"{bloc}_outlet"))
    channel = _e(pair.get(f"{bloc}_channel_type"))
    outlet += f' <span class="muted">[{channel}]</span>' if channel else ""
    passage = _passage(bloc, pair, texts.get(article_id, ""))
    head = f"<b>{outlet}</b> {when}<br>{link}<br><code>{_e(article_id)}</code>"
    return f'<td class="{bloc}">{head}{passage}</td>'


def _passage(bloc: str, pair: pd.Series, text: str) -> str:
    """The matching passage of a long article, highlighted inside its surrounding text.

    Shown only when the passage is part of a longer text (passage units): for a headline or a
    short item the passage is the whole article and the cell already shows it.
    """
    passage = _cell("", pair.get(f"{bloc}_passage")).strip()
    start, end = (pd.to_numeric(pair.get(f"{bloc}_passage_{k}"), errors="coerce") for k in ("start", "end"))
    if not passage or pd.isna(start) or pd.isna(end):
        return ""
    start, end = int(start), int(end)
    if start < 0:  # the article's title matched on its own
        return f'<blockquote class="passage">title: <mark>{_e(passage)}</mark></blockquote>'
    if not 0 <= start < end <= len(text) or end - start >= len(text.strip()):
        return ""
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    before, after = ("… " if lo else "") + text[lo:start], text[end:hi] + (" …" if hi < len(text) else "")
    return (
        f'<blockquote class="passage">{_e(before)}<mark>{_e(text[start:end])}</mark>{_e(after)}</blockquote>'
        f'<span class="muted">matching passage: characters {start}–{end} of {len(text)}</span>'
    )


def _members(group: pd.DataFrame, urls: dict[str, str]) -> str:
    rows = []
    for _, member in group.iterrows():
        title = _e(headline(member))
        url = urls.get(str(member["id"]), "")
        link = f'<a href="{_e(url)}">{title}</a>' if url else title
        rows.append(
            f'<tr><td class="{_e(member["bloc"])}">{_e(member["bloc"])}</td>'
            f"<td>{_e(iso_utc(member['published_at']))}</td><td>{_e(member['outlet'])}</td>"
            f"<td>{_e(member.get('channel_type'))}</td>"
            f"<td>{_e(member.get('language'))}</td><td>{link}</td><td><code>{_e(member['id'])}</code></td>"
            f"<td>{_e(_cell('similarity_to_centre', member.get('similarity_to_centre')))}</td></tr>"
        )
    return (
        f"<details><summary>All {len(group)} articles</summary><table><thead><tr><th>bloc</th>"
        "<th>published (UTC)</th><th>outlet</th><th>channel type</th><th>language</th>"
        "<th>title or text</th><th>id</th>"
        f"<th>similarity to centre</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def channel_table(flags: pd.DataFrame, members: pd.DataFrame) -> str:
    """Narratives grouped by the channel types they reached, each with a filter checkbox."""
    summary = channel_summary(flags, members)
    if summary.empty:
        return ""
    rows = [
        f'<tr><td><label><input type="checkbox" data-channel="{_e(row.channel_type)}"> '
        f"{_e(row.channel_type)}</label></td><td>{row.reached}</td><td>{row.started}</td>"
        f"<td>{_e(row.outlets)}</td></tr>"
        for row in summary.itertuples(index=False)
    ]
    return (
        '<h2>By channel type</h2><p class="muted">Tick channel types to show only the narratives '
        "that reached any of them (combines with the text filter).</p>"
        '<table id="channels"><thead><tr><th>channel type</th><th>narratives reaching it</th>'
        "<th>of which started there</th><th>outlets</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def row_channels(flag: pd.Series) -> str:
    """The ``data-channels`` value of a summary row: its channel types, space-separated."""
    return " ".join(channels_of(flag.get("channel_path")))


def _pairs_of(nid: str, flag: pd.Series, pairs: pd.DataFrame | None) -> pd.DataFrame:
    """The narrative's evidence pairs: the scorer's ``pairs`` rows when there are any, else the
    best pair recorded in its flag row."""
    if pairs is not None and "narrative_id" in pairs and (pairs["narrative_id"] == nid).any():
        return pairs[pairs["narrative_id"] == nid].head(MAX_PAIRS)
    fields = ("id", "outlet", "published_at", "title", "url")
    row = {f"{bloc}_{f}": flag.get(f"best_{bloc}_{f}") for bloc in ("cn", "ru") for f in fields}
    row |= {"similarity": flag.get("best_similarity"), "lag_hours": flag.get("best_pair_lag_hours")}
    return pd.DataFrame([row])


def _urls(members: pd.DataFrame) -> dict[str, str]:
    """Article id -> url, for the members that have a linkable one."""
    if "url" not in members:
        return {}
    known = members.drop_duplicates("id")
    safe = {str(i): _safe_url(u) for i, u in zip(known["id"], known["url"], strict=True)}
    return {i: u for i, u in safe.items() if u}


def _texts(members: pd.DataFrame) -> dict[str, str]:
    """Article id -> text, to show a matching passage in its context."""
    if "text" not in members:
        return {}
    known = members.drop_duplicates("id")
    return {str(i): t for i, t in zip(known["id"], known["text"], strict=True) if isinstance(t, str) and t}


def _safe_url(value: Any) -> str:
    """``value`` when it is an http(s) url, else "": anything else (``javascript:`` …) is not linked."""
    url = _cell("", value)
    return url if url.startswith(("http://", "https://")) else ""


def _cell(column: str, value: Any) -> str:
    """Display text of one value; ``column`` marks timestamps that arrive as strings."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp) or column.endswith(("_published_at", "_seen")):
        return iso_utc(value)
    if isinstance(value, float | np.floating):
        return format(float(value), ".6g")
    return str(value)


def _e(value: Any) -> str:
    return html.escape(show_bidi_controls(_cell("", value)))
