"""``watch_hits.csv``, ``watch_summary.csv``, ``watch_daily.csv``, ``watch.html`` and the manifest.

CSVs follow the other reports' conventions (:func:`detector.report.write_csv`: UTF-8 with BOM,
CRLF, ISO-8601 UTC, fixed columns); the page is offline (timelines as PNG data URIs) and the
manifest, written last, vouches for the other files with their checksums.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from detector.io import atomic_writer, file_sha256, write_json
from detector.report.html import STYLE, timeline_png
from detector.report.writer import write_csv
from detector.times import iso_utc
from detector.watch.timeline import DAILY_COLUMNS, SUMMARY_COLUMNS
from detector.watch.track import HIT_COLUMNS, TrackResult
from detector.watch.watchlist import Watchlist

SUMMARY_TIMES = ("first_cn_published_at", "first_ru_published_at", "first_control_published_at")
SHOWN_HITS = 30  # rows per narrative on the page (all of them are in watch_hits.csv)


def write_track_reports(
    out_dir: Path,
    result: TrackResult,
    watchlist: Watchlist,
    manifest: dict[str, Any],
    hit_columns: list[str] = HIT_COLUMNS,
    prefix: str = "watch",
) -> dict[str, str]:
    """Write the watch reports into ``out_dir``; returns ``{name: path}``."""
    manifest_path = out_dir / f"{prefix}_manifest.json"
    manifest_path.unlink(missing_ok=True)
    paths = {
        "hits": out_dir / f"{prefix}_hits.csv",
        "summary": out_dir / f"{prefix}_summary.csv",
        "daily": out_dir / f"{prefix}_daily.csv",
        "page": out_dir / f"{prefix}.html",
    }
    write_csv(result.hits, paths["hits"], hit_columns)
    write_csv(result.summary, paths["summary"], SUMMARY_COLUMNS)
    daily = result.daily.assign(date=result.daily["date"].map(lambda d: f"{pd.Timestamp(d):%Y-%m-%d}"))
    write_csv(daily, paths["daily"], DAILY_COLUMNS)
    with atomic_writer(paths["page"], "w", encoding="utf-8") as handle:
        handle.write(render_page(result, watchlist, manifest))
    full = {
        **manifest,
        "counts": result.facts,
        "outputs": {k: str(p) for k, p in paths.items()},
        "outputs_sha256": {k: file_sha256(p) for k, p in paths.items()},
    }
    write_json(full, manifest_path)
    paths["manifest"] = manifest_path
    return {k: str(p) for k, p in paths.items()}


def _e(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _summary_table(row: pd.Series) -> str:
    cells = []
    for bloc in ("cn", "ru", "control"):
        when = iso_utc(row.get(f"first_{bloc}_published_at"))
        first = f"{_e(row.get(f'first_{bloc}_outlet'))} {when} <code>{_e(row.get(f'first_{bloc}_id'))}</code>"
        cells.append(
            f"<tr class={bloc}><th>{bloc}</th><td>{_e(row[f'n_{bloc}'])}</td>"
            f"<td>{first if when else ''}</td></tr>"
        )
    lag = (
        f"leader <b>{_e(row['leader'])}</b>; first-appearance lag {_e(row['first_lag_hours'])} h "
        f"(p = {_e(row['first_lag_p_value'])}); daily cross-correlation peak {_e(row['xcorr_peak'])} at "
        f"{_e(row['xcorr_lag_days'])} days (p = {_e(row['xcorr_p_value'])}; lag &gt; 0: ru follows cn)"
    )
    head = "<tr><th>bloc</th><th>hits</th><th>first appearance</th></tr>"
    return f"<table>{head}{''.join(cells)}</table><p>{lag}</p>"


def _hits_table(hits: pd.DataFrame) -> str:
    rows = []
    for _, hit in hits.head(SHOWN_HITS).iterrows():
        passage = str(hit["passage"])
        passage = passage if len(passage) <= 400 else passage[:400] + "…"
        title = _e(hit["title"]) or "<i>(no title)</i>"
        url = (
            str(hit["url"])
            if isinstance(hit["url"], str) and hit["url"].startswith(("http://", "https://"))
            else ""
        )
        link = f'<a href="{_e(url)}">{title}</a>' if url else title
        rows.append(
            f"<tr class={_e(hit['bloc'])}><td>{iso_utc(hit['published_at'])}</td><td>{_e(hit['outlet'])}<br>"
            f"<span class=muted>{_e(hit['bloc'])} · {_e(hit['channel_type'])} · "
            f"{_e(hit['language'])}</span></td>"
            f"<td>{link}<blockquote class=passage>{_e(passage)}</blockquote>"
            f"<span class=muted>passage {_e(hit['passage_start'])}–{_e(hit['passage_end'])} · id "
            f"<code>{_e(hit['id'])}</code></span></td><td>{_e(hit['p_value'])}</td><td>{_e(hit['similarity'])}</td></tr>"
        )
    head = (
        "<tr><th>published (UTC)</th><th>outlet</th><th>matching passage</th><th>p</th><th>cosine</th></tr>"
    )
    more = (
        f"<p class=muted>{len(hits) - SHOWN_HITS} more in watch_hits.csv</p>"
        if len(hits) > SHOWN_HITS
        else ""
    )
    return f"<table class=pairs>{head}{''.join(rows)}</table>{more}"


def render_page(result: TrackResult, watchlist: Watchlist, manifest: dict[str, Any]) -> str:
    """The whole offline page: per narrative its statements, summary, timeline and first hits."""
    parts = [
        "<!doctype html><html><head><meta charset=utf-8><title>Watched narratives</title>",
        f"<style>{STYLE}</style></head><body><h1>Watched narratives</h1>",
        f"<p class=muted>watchlist {_e(manifest.get('watchlist'))} · store {_e(manifest.get('store'))} · "
        f"{_e(result.facts['articles_in_scope'])} articles · alpha {_e(result.facts['alpha'])} "
        "(expected background hits per article and narrative) · files: watch_hits.csv, "
        "watch_summary.csv, watch_daily.csv</p>",
    ]
    summary = result.summary.set_index("watch_id")
    for narrative in watchlist.narratives:
        hits = result.hits[result.hits["watch_id"] == narrative.id]
        row = summary.loc[narrative.id]
        parts.append(
            f"<section id='{_e(narrative.id)}'><h2>{_e(narrative.name)} <code>{_e(narrative.id)}</code></h2>"
        )
        parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in narrative.statements) + "</ul>")
        if narrative.sources:
            parts.append("<p class=muted>sources: " + "; ".join(_e(s) for s in narrative.sources) + "</p>")
        parts.append(_summary_table(row))
        if len(hits):
            image = base64.b64encode(timeline_png(hits)).decode("ascii")
            parts.append(f'<img alt="Timeline of {_e(narrative.id)}" src="data:image/png;base64,{image}">')
            parts.append(_hits_table(hits.sort_values(["published_at", "id"])))
        else:
            parts.append("<p>No hits.</p>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)
