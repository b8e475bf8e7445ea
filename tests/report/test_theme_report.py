"""The theme reports: themes.csv / theme_members.csv / theme_daily.csv, the "Shared themes" section of
report.html (offline, hostile text inert, checked in headless Chromium) and flags.csv's theme_id.

The frames have the contract's columns (docs/reports.md "themes.csv") and real articles of the
bundled sample as members; some titles, urls, outlets and labels carry hostile markup.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from playwright.sync_api import sync_playwright

from detector.report.columns import THEME_COLUMNS, THEME_DAILY_COLUMNS, THEME_MEMBER_COLUMNS
from detector.report.findings import Findings, with_theme_ids
from detector.report.html import SCRIPT, STYLE
from detector.report.safety import csp_meta
from detector.report.theme_html import STYLE as THEME_STYLE
from detector.report.theme_html import ThemeReport, daily_volumes, theme_timeline_png, themes_section
from detector.report.writer import write_reports
from tests.conftest import SAMPLE_FEED
from tests.hostile import MARKUP, RLO

FEED = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).sort_values(["published_at", "id"])
MANIFEST = {"run_id": "run-themes", "counts": {"flags": 0}}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
]  # fmt: skip


def pick(bloc: str, start: int, n: int) -> pd.DataFrame:
    return FEED[FEED["bloc"] == bloc].iloc[start : start + n]


def theme_report() -> ThemeReport:
    """Two themes of real sample articles: T1 led by cn with a control, T2 a ru-led one whose
    first cn title, an outlet and a url are hostile."""
    t1 = pd.concat([pick("cn", 0, 4), pick("ru", 0, 3), pick("control", 0, 2)]).assign(
        theme_id="T20241126-aaaaaaaa"
    )
    t2 = pd.concat([pick("ru", 10, 3), pick("cn", 30, 3)]).assign(theme_id="T20241127-bbbbbbbb")
    members = pd.concat([t1, t2], ignore_index=True)
    members["published_at"] = pd.to_datetime(members["published_at"], utc=True)
    hostile = members.index[(members["theme_id"] == "T20241127-bbbbbbbb") & (members["bloc"] == "cn")][0]
    members.loc[hostile, ["title", "url", "outlet"]] = [
        MARKUP[0] + RLO + "abc",
        'javascript:alert("u")',
        MARKUP[1],
    ]
    members["centrality"] = np.round(np.linspace(0.9, 0.5, len(members)), 4)
    members["passage_start"], members["passage_end"] = np.nan, np.nan
    rows = [theme_row(str(tid), group) for tid, group in members.groupby("theme_id", sort=True)]
    themes = (
        pd.DataFrame(rows).sort_values(["q_value", "theme_id"], na_position="last").reset_index(drop=True)
    )
    return ThemeReport(themes[THEME_COLUMNS], members[THEME_MEMBER_COLUMNS])


def theme_row(tid: str, group: pd.DataFrame) -> dict[str, Any]:
    """The themes.csv row of one theme's members (the first theme flagged, the other without q)."""
    flagged = tid.endswith("a")
    first = group.groupby("bloc")["published_at"].min()
    of = {bloc: group[group["bloc"] == bloc] for bloc in ("cn", "ru", "control")}
    row: dict[str, Any] = {"theme_id": tid, "flagged": flagged, "q_value": 0.004 if flagged else np.nan}
    row |= {"p_value": 0.001, "null_note": "" if flagged else "period 7 days: no timing null has power"}
    row |= {"label_en": "biolab; pentagon", "label_ru": "биолаборатория; пентагон", "label_zh": MARKUP[2]}
    row |= {"articles": len(group), **{f"articles_{b}": len(part) for b, part in of.items()}}
    for bloc in ("cn", "ru"):
        row[f"outlets_{bloc}"] = "; ".join(sorted(set(of[bloc]["outlet"])))
        row[f"n_outlets_{bloc}"] = of[bloc]["outlet"].nunique()
        row[f"first_{bloc}_published_at"] = first[bloc].isoformat()
        row[f"central_{bloc}_id"], row[f"central_{bloc}_title"] = of[bloc][["id", "title"]].iloc[0]
    row |= {"leader": "cn" if first["cn"] < first["ru"] else "ru"}
    row |= {"lag_hours": round(abs((first["ru"] - first["cn"]).total_seconds()) / 3600, 2)}
    row |= {"xcorr_lag_days": 1, "xcorr_peak": 0.61, "burst_days": first.min().strftime("%Y-%m-%d")}
    row |= {"verdict": "confirmed" if flagged else "", "verdict_note": "", "verdict_by": "", "verdict_at": ""}
    return row | {"period_start": "2024-11-06T00:00:00Z", "period_end": "2024-12-04T00:00:00Z"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ThemeReport]:
    out = tmp_path_factory.mktemp("themes")
    report = theme_report()
    write_reports(out, pd.DataFrame(), pd.DataFrame(), MANIFEST, themes=report)
    return out, report


def test_the_theme_csvs_carry_the_contract_columns_and_feed_ids(written: tuple[Path, ThemeReport]) -> None:
    out, report = written
    for name, columns in (("themes", THEME_COLUMNS), ("theme_members", THEME_MEMBER_COLUMNS),
                          ("theme_daily", THEME_DAILY_COLUMNS)):  # fmt: skip
        with (out / f"{name}.csv").open(encoding="utf-8-sig", newline="") as handle:
            assert next(csv.reader(handle)) == columns
        assert list(pd.read_parquet(out / f"{name}.parquet").columns) == columns
    members = pd.read_parquet(out / "theme_members.parquet")
    assert members["id"].tolist() == report.members["id"].tolist()  # the feed's ids, verbatim
    daily = pd.read_parquet(out / "theme_daily.parquet")
    assert daily["articles"].sum() == len(report.members)
    assert (out / "theme_members.csv").read_text(encoding="utf-8-sig").count(
        "'<script>"
    ) == 0  # not a formula
    assert "theme_members.csv" in (out / "report.html").read_text(encoding="utf-8")


def test_a_run_without_themes_removes_an_earlier_runs_theme_files(
    written: tuple[Path, ThemeReport], tmp_path: Path
) -> None:
    write_reports(tmp_path, pd.DataFrame(), pd.DataFrame(), MANIFEST, themes=theme_report())
    assert (tmp_path / "themes.csv").is_file()
    write_reports(tmp_path, pd.DataFrame(), pd.DataFrame(), MANIFEST)
    assert not list(tmp_path.glob("theme*"))
    assert "Shared themes" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_section_shows_each_themes_facts_and_members(written: tuple[Path, ThemeReport]) -> None:
    out, report = written
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Shared themes</h2>" in page
    for tid in report.themes["theme_id"]:
        assert f'<a href="#{tid}">{tid}</a>' in page
        assert f'<section id="{tid}">' in page
    assert "биолаборатория; пентагон" in page
    assert "period 7 days: no timing null has power" in page
    assert "— (see note)" in page  # an empty q-value is said so, not shown as 0 or nan
    assert f"<h3>Theme {report.themes['theme_id'].iloc[0]} (flagged)</h3>" in page
    assert "2 themes over the period 2024-11-06T00:00:00Z – 2024-12-04T00:00:00Z, 1 flagged" in page
    for article in report.members["id"]:
        assert f"<code>{article}</code>" in page
    assert page.count('src="data:image/png;base64,') == 2


def test_hostile_text_in_themes_is_inert(written: tuple[Path, ThemeReport]) -> None:
    out, _ = written
    page = (out / "report.html").read_text(encoding="utf-8")
    for markup in MARKUP[:3]:
        assert markup not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert RLO not in page
    assert "⟦U+202E⟧" in page
    assert csp_meta([SCRIPT], [STYLE, THEME_STYLE]) in page  # the section's style is allowed by hash


def test_beyond_the_first_themes_only_those_a_flag_names_get_a_block(monkeypatch: pytest.MonkeyPatch) -> None:
    report = theme_report()
    first, second = report.themes["theme_id"]
    monkeypatch.setattr("detector.report.theme_html.MAX_THEMES", 1)
    page = themes_section(report)
    assert f'<section id="{first}">' in page
    assert f'<section id="{second}">' not in page
    assert "1 more themes: see themes.csv." in page
    assert f'<section id="{second}">' in themes_section(report, named=[second, ""])


def test_the_section_renders_the_same_bytes_again(written: tuple[Path, ThemeReport]) -> None:
    _, report = written
    assert themes_section(report) == themes_section(theme_report())
    assert themes_section(ThemeReport(report.themes[:0], report.members[:0])).endswith(
        "No theme was found in this run.</p></section>"
    )


def bloc_rows(png: bytes, colour: str) -> np.ndarray:
    """Rows of the plot holding a bar of ``colour`` (``#rrggbb``: 10 or more pixels of it, where
    anti-aliased text has a few); the legend, right of the plot, is left out."""
    image = imread(io.BytesIO(png))[..., :3]
    image = image[:, : int(image.shape[1] * 0.75)]
    target = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.flatnonzero((np.abs(image - target).max(axis=2) < 0.02).sum(axis=1) >= 10)


def test_the_timeline_draws_cn_above_the_axis_ru_below_and_controls_grey() -> None:
    daily = pd.DataFrame({"theme_id": "T", "day": ["2024-11-26", "2024-11-27", "2024-11-27", "2024-11-28"],
                          "bloc": ["cn", "ru", "control", "ru"], "articles": [3, 2, 1, 3]})  # fmt: skip
    png = theme_timeline_png(daily)
    cn, ru, grey = bloc_rows(png, "#c62828"), bloc_rows(png, "#1565c0"), bloc_rows(png, "#9e9e9e")
    assert cn.size
    assert ru.size
    assert grey.size
    assert cn.max() < ru.min()  # every cn pixel above every ru one: the axis between them
    assert grey.max() < ru.min()
    assert cn.max() - cn.min() > 2 * (grey.max() - grey.min())  # 3 cn articles on a day, 1 control
    assert png == theme_timeline_png(daily)


def test_volumes_are_counted_from_members_when_no_daily_frame_is_given() -> None:
    report = theme_report()
    daily = daily_volumes(report.members)
    assert list(daily.columns) == THEME_DAILY_COLUMNS
    assert (
        daily.groupby("theme_id")["articles"].sum().to_dict()
        == report.members.groupby("theme_id").size().to_dict()
    )


def test_flags_name_the_theme_holding_most_of_their_members() -> None:
    report = theme_report()
    t1 = report.members[report.members["theme_id"] == "T20241126-aaaaaaaa"]["id"].tolist()
    t2 = report.members[report.members["theme_id"] == "T20241127-bbbbbbbb"]["id"].tolist()
    other = FEED["id"].iloc[-3:].tolist()
    ids = [*t1[:2], t2[0], *t2[1:3], t1[0], *other[:2], t1[0], *other[:2]]
    members = pd.DataFrame({"narrative_id": ["N1"] * 3 + ["N2"] * 3 + ["N3"] * 2 + ["N4"] * 3, "id": ids})
    flags = pd.DataFrame({"narrative_id": ["N1", "N2", "N3", "N4"], "rank": [1, 2, 3, 4]})
    found = with_theme_ids(Findings(flags, members, pd.DataFrame(), pd.DataFrame()), report.members)
    # N3: no theme holds any member; N4: a theme holds 1 of its 3, so the moment is not inside it.
    assert found.flags["theme_id"].tolist() == ["T20241126-aaaaaaaa", "T20241127-bbbbbbbb", "", ""]
    assert found.flags.columns.tolist() == ["narrative_id", "rank", "theme_id"]
    assert "theme_id" not in flags  # the input is not changed


def test_the_section_runs_no_script_and_loads_offline_in_chromium(
    chromium: str, written: tuple[Path, ThemeReport]
) -> None:
    out, report = written
    dialogs: list[str] = []
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script("window.alert = (m) => { window.__alerted = String(m); };")
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((out / "report.html").as_uri(), wait_until="load")
            facts: dict[str, Any] = page.evaluate("""() => ({
              alerted: window.__alerted || null,
              images: Array.from(document.querySelectorAll("#shared-themes img"), (i) => i.naturalWidth),
              hrefs: Array.from(document.querySelectorAll("#shared-themes [href]"), (e) =>
                e.getAttribute("href")),
              text: document.getElementById("shared-themes").innerText,
              styled: getComputedStyle(document.querySelector("#themes td.kw")).minWidth,
            })""")
            page.click(f'a[href="#{report.themes["theme_id"].iloc[1]}"]')
            scrolled = page.evaluate("window.scrollY")
        finally:
            browser.close()
    assert dialogs == []
    assert facts["alerted"] is None
    assert errors == []
    assert {url.split(":")[0] for url in requests} <= {"file", "data"}
    assert len(facts["images"]) == 2
    assert all(width > 0 for width in facts["images"])  # the timelines decoded
    assert facts["styled"] != "0px"  # the section's own style applies under the page's CSP
    assert scrolled > 0  # a theme's row links to its block
    external = [h for h in facts["hrefs"] if re.match(r"(?i)[a-z]+:", h)]
    assert external
    assert all(h.startswith(("http://", "https://")) for h in external)
    assert MARKUP[0] in facts["text"]  # shown as text
    assert "⟦U+202E⟧" in facts["text"]
