"""Reading a finished run back from the store: re-write its reports, or show one narrative in a
terminal. Nothing is recomputed; both use the frames the run stored beside its manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from detector.errors import NotFoundError
from detector.report.channels import filter_frames
from detector.report.safety import terminal_safe
from detector.report.theme_html import ThemeReport
from detector.report.writer import write_reports
from detector.sources.ingest import headline
from detector.store.reader import StoreReader
from detector.store.store import Store
from detector.times import iso_utc

BLOC_STYLES = {"cn": "bold red", "ru": "bold blue", "control": "dim"}


def open_store(path: Path) -> Store:
    """The store at ``path``, read-only (it works while a run holds the store); it must exist."""
    return StoreReader(path)


def rewrite_reports(
    store: Path, run_id: str, out_dir: Path, channel_types: Sequence[str] = ()
) -> dict[str, str]:
    """Write ``run_id``'s reports into ``out_dir`` again; its CSVs come out byte-identical.

    With ``channel_types``, only the narratives that reached any of them are written (see
    :func:`detector.report.channels.filter_frames`), and the manifest records the filter.
    """
    with open_store(store) as db:
        manifest = db.run_manifest(run_id)
        frames = db.report_frames(run_id)
    if "flags" not in frames:
        raise NotFoundError(
            f"run {run_id} in {store} has no stored report rows (an older version ran it). "
            "Run `detector run` on its input again to store them."
        )
    if channel_types:
        frames = filter_frames(frames, channel_types)
        manifest = {**manifest, "filter": {"channel_type": sorted(set(channel_types))}}
    themes = None
    if "themes" in frames:
        themes = ThemeReport(frames["themes"], frames["theme_members"], frames.get("theme_daily"))
    return write_reports(
        out_dir, frames["flags"], frames["members"], manifest,
        pairs=frames.get("pairs"), outlets=frames.get("outlets"), themes=themes,
    )  # fmt: skip


def find_narrative(
    store: Path, narrative_id: str, run_id: str | None = None
) -> tuple[str, dict[str, Any], pd.DataFrame]:
    """``(run id, flag row, member rows)`` of a flagged narrative, from ``run_id`` or else the
    newest finished run that flagged it."""
    with open_store(store) as db:
        if run_id is not None:
            db.run_manifest(run_id)  # a clear error for an unknown run
        runs = [run_id] if run_id is not None else db.finished_runs()
        for candidate in runs:
            frames = db.report_frames(candidate)
            flags = frames.get("flags", pd.DataFrame())
            if not flags.empty and (flags["narrative_id"] == narrative_id).any():
                members = frames["members"]
                flag = flags[flags["narrative_id"] == narrative_id].iloc[0].to_dict()
                return candidate, flag, members[members["narrative_id"] == narrative_id]
    where = f"run {run_id}" if run_id else f"any finished run in {store}"
    raise NotFoundError(
        f"narrative {narrative_id} is not flagged in {where}. Fix: pass a narrative_id of that run's "
        "flags.csv (or --run the run that flagged it)."
    )


def narrative_view(run_id: str, flag: dict[str, Any], members: pd.DataFrame, width: int = 48) -> Group:
    """A rich renderable: headline facts, the members table and a text timeline per outlet."""
    head = Text.assemble(
        (str(flag["narrative_id"]), "bold"), f" (run {run_id}, rank {flag.get('rank')})\n",
        (terminal_safe(str(flag.get("label") or "")), "italic"), "\n",
        f"p-value {flag.get('p_value')}, score {flag.get('score')}, "
        f"direction {flag.get('direction')}, first-to-first lag {flag.get('lag_hours')} h, "
        f"best similarity {flag.get('best_similarity')}, best pair lag {flag.get('best_pair_lag_hours')} h",
    )  # fmt: skip
    articles = Table(title="Articles", title_justify="left")
    for column in ("published (UTC)", "bloc", "outlet", "lang", "title or text", "id", "sim"):
        articles.add_column(column, no_wrap=column in ("published (UTC)", "id"))
    for _, row in members.iterrows():
        bloc = str(row["bloc"])
        articles.add_row(
            iso_utc(row["published_at"]), Text(bloc, BLOC_STYLES.get(bloc, "")), *(
                Text(terminal_safe(str(value)))  # feed text: not markup, no escape sequences
                for value in (row["outlet"], row.get("language", ""), headline(row), row["id"])
            ),
            f"{row.get('similarity_to_centre', float('nan')):.3f}",
        )  # fmt: skip
    return Group(head, articles, timeline(members, width))


def timeline(members: pd.DataFrame, width: int = 48) -> Table:
    """One line per outlet; each article is a dot at its time between the first and last article
    (a digit when several fall in one cell)."""
    stamps = pd.to_datetime(members["published_at"], utc=True)
    first, last = stamps.min(), stamps.max()
    span = max((last - first).total_seconds(), 1.0)
    cells = ((stamps - first).dt.total_seconds() / span * (width - 1)).round().astype(int)
    table = Table(title="Timeline", title_justify="left")
    table.add_column("outlet")
    table.add_column(f"{iso_utc(first)} … {iso_utc(last)}".ljust(width), no_wrap=True)
    order = {"cn": 0, "ru": 1, "control": 2}
    frame = members.assign(cell=cells.to_numpy(), bloc_order=members["bloc"].map(order).fillna(3))
    for (_, outlet), group in frame.groupby(["bloc_order", "outlet"], sort=True):
        style = BLOC_STYLES.get(str(group["bloc"].iloc[0]), "")
        counts = group["cell"].value_counts()
        line = "".join(
            "·" if cell not in counts else "●" if counts[cell] == 1 else str(min(counts[cell], 9))
            for cell in range(width)
        )
        table.add_row(Text(terminal_safe(str(outlet)), style), Text(line, style))
    return table


def print_narrative(store: Path, narrative_id: str, run_id: str | None = None) -> None:
    found_run, flag, members = find_narrative(store, narrative_id, run_id)
    Console().print(narrative_view(found_run, flag, members))
