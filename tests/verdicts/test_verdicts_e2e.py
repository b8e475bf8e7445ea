"""Analysts' verdicts over two overlapping daily runs of one store, on real text (the sample feed,
the real model, the real command): day 1's flags.csv edited as a spreadsheet saves it and
imported; day 2 leaves the dismissed out (shown with ``[review] show_dismissed``), tracks the
confirmed one in watch_hits.csv, marks every flag new or not; ``eval --verdicts``; the page's
verdict editing in headless Chromium; kill -9 during an import and during a run; an import
while a run holds the store.

The store starts as a copy of the machine's embedding cache when there is one
(/work/cache/embeddings.duckdb, articles and runs emptied), else empty (then day 1 embeds).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from detector.store.store import Store
from tests.conftest import ROOT, SAMPLE_FEED
from tests.reliability import harness

pytestmark = pytest.mark.e2e
WARM = Path("/work/cache/embeddings.duckdb")
KILLED = -9


@dataclass(frozen=True)
class Days:
    folder: Path
    day2_feed: Path
    store: Path
    day1: pd.DataFrame  # flags.csv of day 1
    day2: pd.DataFrame
    dismissed: list[str]
    confirmed: str
    before_day2: Path  # the store as it was after the import, before day 2 ran


def flags_of(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "flags.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)


def spreadsheet_save(flags_csv: Path, target: Path, verdicts: dict[str, tuple[str, str]]) -> None:
    """``flags_csv`` with verdict cells filled in, saved as a European-locale spreadsheet does:
    UTF-8 with BOM, CRLF, ``;`` between cells, every other cell (``'``-prefixed ones too) as read."""
    rows = list(csv.reader(io.StringIO(flags_csv.read_text(encoding="utf-8-sig"), newline="")))
    head = rows[0]
    for row in rows[1:]:
        if row[head.index("narrative_id")] in verdicts:
            verdict, note = verdicts[row[head.index("narrative_id")]]
            row[head.index("verdict")], row[head.index("verdict_note")] = verdict, note
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    target.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")


def cli(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DETECTOR_FAULT", None)
    if fault:
        env["DETECTOR_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "detector", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=900)  # fmt: skip


def verdict_rows(store: Path) -> list[tuple[object, ...]]:
    with Store(store) as db:
        return [tuple(r) for r in db.con_.execute("SELECT * FROM verdicts ORDER BY seq").fetchall()]


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> Days:
    folder = tmp_path_factory.mktemp("verdicts")
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    day1_feed, day2_feed = folder / "day1.csv", folder / "day2.csv"
    feed[stamps < "2024-11-29"].to_csv(day1_feed, index=False)  # 26-28 Nov
    feed[stamps >= "2024-11-28"].to_csv(day2_feed, index=False)  # 28 Nov - 3 Dec: one day overlaps
    store = folder / "detector.duckdb"
    if WARM.is_file():
        harness.warm_copy(WARM, store)
    first = harness.run(day1_feed, folder / "day1", store)
    assert first.returncode == 0, first.stderr
    day1 = flags_of(folder / "day1")
    assert len(day1) >= 3
    assert (day1["new"] == "True").all()
    assert (day1["verdict"] == "").all()
    dismissed, confirmed = list(day1["narrative_id"][:2]), str(day1["narrative_id"][2])
    edited = folder / "flags_edited.csv"
    spreadsheet_save(folder / "day1" / "flags.csv", edited, {
        dismissed[0]: ("dismissed", "both blocs report the same call"), dismissed[1]: ("Dismissed", ""),
        confirmed: ("confirmed", "'=MFA repeats the MoD"),  # as our CSVs quote a formula-like cell
    })  # fmt: skip
    imported = cli("verdicts", "import", str(edited), "--store", str(store), "--by", "analyst-1")
    assert imported.returncode == 0, imported.stderr
    assert "3 recorded (1 confirmed, 2 dismissed)" in imported.stdout
    before_day2 = folder / "before_day2.duckdb"
    shutil.copyfile(store, before_day2)
    second = harness.run(day2_feed, folder / "day2", store)
    assert second.returncode == 0, second.stderr
    return Days(folder, day2_feed, store, day1, flags_of(folder / "day2"), dismissed, confirmed, before_day2)


def test_reimporting_the_same_file_changes_nothing(days: Days) -> None:
    before = verdict_rows(days.store)
    again = cli("verdicts", "import", str(days.folder / "flags_edited.csv"), "--store", str(days.store))
    assert again.returncode == 0, again.stderr
    assert "0 recorded" in again.stdout
    assert verdict_rows(days.store) == before
    exported = cli("verdicts", "export", "--store", str(days.store), "--out", str(days.folder / "v.csv"))
    assert exported.returncode == 0, exported.stderr
    current = pd.read_csv(days.folder / "v.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert dict(zip(current["narrative_id"], current["verdict"], strict=True)) == {
        **dict.fromkeys(days.dismissed, "dismissed"), days.confirmed: "confirmed"}  # fmt: skip
    assert current.set_index("narrative_id").loc[days.confirmed, "verdict_note"] == "'=MFA repeats the MoD"
    back = cli("verdicts", "import", str(days.folder / "v.csv"), "--store", str(days.store))
    assert back.returncode == 0, back.stderr
    assert "0 recorded" in back.stdout


def test_a_themes_verdict_imported_from_themes_csv_shows_in_the_next_themes_csv(
    days: Days, tmp_path: Path
) -> None:
    themes = pd.read_csv(days.folder / "day2" / "themes.csv", encoding="utf-8-sig", keep_default_na=False,
                         dtype=str)  # fmt: skip
    assert len(themes) > 0
    assert (themes["verdict"] == "").all()
    chosen = themes.iloc[0]
    edited = tmp_path / "themes_edited.csv"
    themes.assign(verdict=["confirmed", *[""] * (len(themes) - 1)]).to_csv(edited, index=False)
    store = tmp_path / "store.duckdb"
    shutil.copyfile(days.store, store)
    imported = cli("verdicts", "import", str(edited), "--store", str(store))
    assert imported.returncode == 0, imported.stderr
    assert "1 recorded (1 confirmed)" in imported.stdout
    since, until = chosen["period_start"][:10], chosen["period_end"][:10]
    again = cli(
        "themes", "--store", str(store), "--since", since, "--until", until, "--out", str(tmp_path / "t")
    )
    assert again.returncode == 0, again.stderr
    after = pd.read_csv(tmp_path / "t" / "themes.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    verdicts = dict(zip(after["theme_id"], after["verdict"], strict=True))
    assert verdicts[chosen["theme_id"]] == "confirmed"  # the same theme, by its stable id
    assert sorted(verdicts.values()).count("confirmed") == 1


def test_day2_leaves_out_the_dismissed_tracks_the_confirmed_and_says_what_is_new(days: Days) -> None:
    day2, manifest = days.day2, json.loads((days.folder / "day2" / "manifest.json").read_text())
    review = manifest["verdicts"]
    hidden, resurfaced = review["dismissed_not_flagged"], review["dismissed_resurfaced"]
    assert set(hidden) | set(resurfaced) <= set(days.dismissed)
    assert hidden, "no dismissed narrative was left out"
    assert not set(hidden) & set(day2["narrative_id"])
    for nid, outlets in resurfaced.items():  # back only with new outlets, and marked so
        row = day2.set_index("narrative_id").loc[nid]
        assert row["verdict"] == "dismissed"
        assert all(o in row["review"] for o in outlets)
    assert set(day2["new"]) <= {"True", "False"}
    seen_before = set(days.day1["narrative_id"])
    assert ((day2["new"] == "True") == ~day2["narrative_id"].isin(seen_before)).all()
    assert (day2["new"] == "False").any()
    assert (day2["new"] == "True").any()
    row = day2.set_index("narrative_id").loc[days.confirmed]
    assert (row["verdict"], row["verdict_by"], row["verdict_note"]) == (
        "confirmed",
        "analyst-1",
        "'=MFA repeats the MoD",
    )
    assert review["confirmed_tracked"] == [days.confirmed]
    hits = pd.read_csv(days.folder / "day2" / "watch_hits.csv", encoding="utf-8-sig", keep_default_na=False)
    assert (hits["watch_id"] == days.confirmed).sum() > 0
    assert days.confirmed in row["watched"]


def test_show_dismissed_keeps_them_marked(days: Days, tmp_path: Path) -> None:
    store = tmp_path / "detector.duckdb"
    shutil.copyfile(days.store, store)
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "configs" / "default.toml").read_text(encoding="utf-8").replace(
        "show_dismissed = false", "show_dismissed = true").replace('"outlets.toml"', json.dumps(
            str(ROOT / "configs" / "outlets.toml"))), encoding="utf-8")  # fmt: skip
    shown = harness.run(days.day2_feed, tmp_path / "out", store, how=harness.Command(config=config))
    assert shown.returncode == 0, shown.stderr
    flags = flags_of(tmp_path / "out").set_index("narrative_id")
    hidden = json.loads((days.folder / "day2" / "manifest.json").read_text())["verdicts"][
        "dismissed_not_flagged"
    ]
    for nid in hidden:
        assert flags.loc[nid, "verdict"] == "dismissed"
        assert "not flagged" in flags.loc[nid, "review"]
    assert len(flags) == len(days.day2) + len(hidden)


def test_eval_prints_precision_by_verdicts(days: Days) -> None:
    shown = cli("eval", "--verdicts", str(days.store))
    assert shown.returncode == 0, shown.stderr
    assert "precision = confirmed / (confirmed + dismissed)" in shown.stdout
    day1_run = json.loads((days.folder / "day1" / "manifest.json").read_text())["run_id"]
    line = next(line for line in shown.stdout.splitlines() if day1_run in line)
    assert "0.333" in line  # day 1: 1 confirmed, 2 dismissed


def test_the_page_sets_filters_and_saves_verdicts_that_import_back(
    days: Days, chromium: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    store = tmp_path / "detector.duckdb"
    shutil.copyfile(days.store, store)
    page_file = days.folder / "day2" / "report.html"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text))
            page.goto(page_file.as_uri(), wait_until="load")
            n = len(days.day2)
            assert page.inner_text("#shown") == f"{n} of {n} narratives shown"
            page.select_option("#verdict-filter", "confirmed")
            assert page.inner_text("#shown") == f"1 of {n} narratives shown"
            page.select_option("#verdict-filter", "any")
            page.select_option("#new-filter", "new")
            assert (
                page.inner_text("#shown") == f"{(days.day2['new'] == 'True').sum()} of {n} narratives shown"
            )
            page.select_option("#new-filter", "any")
            target = str(days.day2[days.day2["verdict"] == ""]["narrative_id"].iloc[0])
            row = page.locator("#flags tbody tr", has=page.locator(f'a[href="#{target}"]'))
            row.locator("select").select_option("unsure")
            row.locator("td.edit input").fill("-check tomorrow; same wording")
            page.fill("#verdict-by", "analyst-2")
            page.select_option("#verdict-filter", "unsure")
            assert page.inner_text("#shown") == f"1 of {n} narratives shown"
            with page.expect_download() as download:
                page.click("#verdict-save")
            saved = tmp_path / "page.csv"
            download.value.save_as(saved)
            assert errors == []
        finally:
            browser.close()
    rows = pd.read_csv(saved, encoding="utf-8-sig", keep_default_na=False, dtype=str).set_index(
        "narrative_id"
    )
    assert rows.loc[target, "verdict_note"] == "'-check tomorrow; same wording"
    imported = cli("verdicts", "import", str(saved), "--store", str(store))
    assert imported.returncode == 0, imported.stderr
    assert "1 recorded (1 unsure)" in imported.stdout  # the others were already in the store
    with Store(store) as db:
        last = db.con_.execute(
            "SELECT target_id, verdict, note, analyst FROM verdicts ORDER BY seq DESC"
        ).fetchone()
    assert last == (target, "unsure", "-check tomorrow; same wording", "analyst-2")


def test_kill_during_an_import_leaves_the_verdicts_as_they_were(days: Days, tmp_path: Path) -> None:
    store = tmp_path / "detector.duckdb"
    shutil.copyfile(days.store, store)
    before = verdict_rows(store)
    edited = tmp_path / "more.csv"
    edited.write_text(f"narrative_id,verdict\r\n{days.confirmed},unsure\r\n", encoding="utf-8")
    killed = cli("verdicts", "import", str(edited), "--store", str(store), fault="verdicts")
    assert killed.returncode == KILLED, killed.stderr
    assert verdict_rows(store) == before
    again = cli("verdicts", "import", str(edited), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "1 recorded" in again.stdout
    assert len(verdict_rows(store)) == len(before) + 1


@pytest.mark.parametrize("point", ["stored", "clustered", "report", "reported"])
def test_kill_during_a_run_keeps_the_verdicts_and_the_rerun_equals_the_run(
    days: Days, tmp_path: Path, point: str
) -> None:
    store, out = tmp_path / "detector.duckdb", tmp_path / "out"
    shutil.copyfile(days.before_day2, store)
    before = verdict_rows(store)
    killed = harness.run(days.day2_feed, out, store, fault=point)
    assert killed.returncode == KILLED, killed.stderr
    assert verdict_rows(store)[: len(before)] == before
    again = harness.run(days.day2_feed, out, store)
    assert again.returncode == 0, again.stderr
    assert (out / "flags.csv").read_bytes() == (days.folder / "day2" / "flags.csv").read_bytes()
    assert verdict_rows(store)[: len(before)] == before


def test_an_import_while_a_run_holds_the_store_is_refused_in_one_line(days: Days, tmp_path: Path) -> None:
    store = tmp_path / "detector.duckdb"
    shutil.copyfile(days.store, store)
    before = verdict_rows(store)
    with Store(store) as db:  # this process is the run holding the store
        db.start_run("run-holding", "m", "model", datetime(2024, 12, 1))
        refused = cli("verdicts", "import", str(days.folder / "flags_edited.csv"), "--store", str(store))
        db.fail_run("run-holding", RuntimeError("test over"), datetime(2024, 12, 1))
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert refused.returncode == 2, refused.stderr
    assert len(errors) == 1, refused.stderr
    assert "is in use by run run-holding" in errors[0]
    assert "not queued" in errors[0]
    assert verdict_rows(store) == before
