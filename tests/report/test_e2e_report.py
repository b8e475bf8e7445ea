"""End to end for the analyst outputs: re-writing a run's reports from the store, ``detector
show``, and report.html in a real (headless) browser."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.config import Config
from detector.pipeline.daily import RunSummary, run_daily
from tests.report.test_html_report import links_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, default_config: Config, small_feed: Path):
    out = tmp_path_factory.mktemp("run")
    return out, run_daily(default_config, [str(small_feed)], out)


def test_report_command_rewrites_identical_reports(run: tuple[Path, RunSummary], tmp_path: Path) -> None:
    out, summary = run
    args = [
        "report",
        "--run",
        summary.run_id,
        "--out",
        str(tmp_path),
        "--store",
        str(out / "detector.duckdb"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    tables = [
        f"{name}.{kind}" for name in ("flags", "members", "pairs", "outlets") for kind in ("csv", "parquet")
    ]
    for name in (*tables, "outlets.graphml", "report.html"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config_hash"] == json.loads((out / "manifest.json").read_text())["config_hash"]
    assert manifest["outputs"]["report"] == str(tmp_path / "report.html")


def test_manifest_has_what_reproduces_the_run(run: tuple[Path, RunSummary]) -> None:
    out, summary = run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"config", "config_hash", "method_hash", "model_id", "seed", "inputs", "counts", "timings_s",
            "environment"} <= set(manifest)  # fmt: skip
    assert manifest["run_id"] == summary.run_id
    assert all(re.fullmatch(r"[0-9a-f]{64}", item["sha256"]) for item in manifest["inputs"])
    assert manifest["environment"]["packages"]["matplotlib"]


def test_show_prints_members_and_timeline(run: tuple[Path, RunSummary]) -> None:
    out, summary = run
    members = pd.read_csv(out / "members.csv", dtype=str, encoding="utf-8-sig")
    nid = members["narrative_id"].iloc[0]
    store = str(out / "detector.duckdb")
    result = CliRunner().invoke(main, ["show", nid, "--store", store], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{nid} (run {summary.run_id}, rank 1)" in result.output
    assert all(article_id in result.output for article_id in members[members["narrative_id"] == nid]["id"])
    assert "Timeline" in result.output
    assert "●" in result.output
    missing = CliRunner().invoke(main, ["show", "N-nope", "--store", store])
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines() == [
        f"Error: narrative N-nope is not flagged in any finished run in {store}. Fix: pass a "
        "narrative_id of that run's flags.csv (or --run the run that flagged it)."
    ]


def test_report_links_out_only_to_articles(run: tuple[Path, RunSummary]) -> None:
    out, _ = run
    page = (out / "report.html").read_text(encoding="utf-8")
    articles = [
        out / "members.csv",
        *([out / "theme_members.csv"] if (out / "theme_members.csv").is_file() else []),
    ]
    urls = {
        u for path in articles for u in pd.read_csv(path, dtype=str, encoding="utf-8-sig")["url"].dropna()
    }
    external = [
        (tag, value) for tag, _, value in links_of(page) if re.match(r"(?i)[a-z][a-z0-9+.-]*:", value)
    ]
    assert [v for tag, v in external if not (tag == "img" and v.startswith("data:image/png;base64,"))]
    assert all((tag == "a" and v in urls) or v.startswith("data:image/png;base64,") for tag, v in external)
    assert "<link" not in page
    assert "url(" not in page


def browse(chromium: str, page: Path, profile: Path, *extra: str) -> tuple[str, list[str], list[str]]:
    """Open ``page`` in headless Chromium with an action in ``extra`` (``--dump-dom``,
    ``--screenshot=...``): ``(stdout, console lines, URLs the page requested)``.

    Requests come from Chromium's NetLog; the browser's own background traffic (updates, sign-in)
    is told apart by its network isolation key, which is ``file://`` only for the page's requests.
    """
    netlog = profile.with_suffix(".netlog.json")
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}",
         "--host-resolver-rules=MAP * ~NOTFOUND", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = [
        event["params"]["url"] for event in log["events"]
        if event["type"] == start_job and "file://" in event["params"].get("network_isolation_key", "")
    ]  # fmt: skip
    return result.stdout, console, requested


def test_browse_sees_requests_and_script_errors(chromium: str, tmp_path: Path) -> None:
    """The checks of the next test can fail: a page that fetches and throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<img src="https://example.com/x.png"><script>missing()</script>', encoding="utf-8")
    _, console, requested = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    assert requested == ["https://example.com/x.png"]
    assert any("Uncaught ReferenceError" in line for line in console)


def test_report_renders_offline_in_chromium_without_errors(
    chromium: str, run: tuple[Path, RunSummary], tmp_path: Path
) -> None:
    out, _ = run
    n_flags = len(pd.read_csv(out / "flags.csv", encoding="utf-8-sig"))
    dom, console, requested = browse(chromium, out / "report.html", tmp_path / "profile", "--dump-dom")
    assert requested == []
    assert console == []
    # The counter is filled in by the page's script, so this shows the script ran.
    assert f"{n_flags} of {n_flags} narratives shown" in dom
    assert dom.count('<img alt="Timeline of ') == n_flags  # one per narrative (themes draw their own)
    shot = tmp_path / "report.png"
    browse(
        chromium,
        out / "report.html",
        tmp_path / "profile2",
        f"--screenshot={shot}",
        "--window-size=1400,1800",
    )
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_reports_carry_channel_types_and_report_filters_by_them(
    run: tuple[Path, RunSummary], tmp_path: Path
) -> None:
    out, summary = run
    flags = pd.read_csv(out / "flags.csv", encoding="utf-8-sig", keep_default_na=False)
    members = pd.read_csv(out / "members.csv", encoding="utf-8-sig", keep_default_na=False)
    pairs = pd.read_csv(out / "pairs.csv", encoding="utf-8-sig", keep_default_na=False)
    # The sample's outlets are state media (CGTN, RT, CCTV, RIA ...) and BBC Russian (control).
    assert set(members["channel_type"]) <= {"state_media", "control"}
    assert "state_media" in set(members["channel_type"])
    assert set(pairs["cn_channel_type"]) == set(pairs["ru_channel_type"]) == {"state_media"}
    assert flags["channel_path"].str.startswith("state_media").all()
    assert (flags["language_path"] != "").all()
    store = str(out / "detector.duckdb")
    args = ["report", "--run", summary.run_id, "--store", store, "--channel-type"]
    kept = CliRunner().invoke(main, [*args, "state_media", "--out", str(tmp_path / "state")])
    assert kept.exit_code == 0, kept.output
    assert (tmp_path / "state" / "flags.csv").read_bytes() == (out / "flags.csv").read_bytes()
    none = CliRunner().invoke(
        main, [*args, "diplomatic", "--channel-type", "aggregator", "--out", str(tmp_path / "d")]
    )
    assert none.exit_code == 0, none.output
    assert pd.read_csv(tmp_path / "d" / "flags.csv", encoding="utf-8-sig").empty
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["filter"] == {"channel_type": ["aggregator", "diplomatic"]}
    bad = CliRunner().invoke(main, [*args, "tabloid", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "tabloid" in bad.output
