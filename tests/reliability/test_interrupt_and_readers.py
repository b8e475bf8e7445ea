"""Ctrl-C, readers beside a running job, and what the manifest records about the input (#20.7,
#20.8, #22), on a real run of 55 sample articles (25 of them translation events) with the real
model."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from detector.store.store import Store
from tests.conftest import ROOT, SAMPLE_FEED, SAMPLE_TRUTH
from tests.reliability import harness

pytestmark = pytest.mark.e2e
HOLD = """
import sys, time
from datetime import datetime
from detector.store.store import Store
with Store(sys.argv[1]) as db:
    db.start_run("run-holder", "method", "model", datetime(2024, 11, 28))
    print("holding", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.fixture(scope="module")
def tiny_feed(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The translation events of 27 Nov - 28 Nov noon and 30 other articles of those hours."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE_TRUTH, dtype=str)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    window = (stamps >= "2024-11-27T00:00Z") & (stamps < "2024-11-28T12:00Z")
    events = feed["id"].isin(truth.loc[truth["kind"] == "translation", "id"])
    background = feed[window & ~feed["id"].isin(truth["id"])].iloc[:30]
    return pd.concat([feed[window & events], background]).sort_index()


@pytest.fixture(scope="module")
def tiny_run(tiny_feed: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of one finished cold run: feed.csv, out/ (with flags) and store.duckdb."""
    folder = tmp_path_factory.mktemp("tiny")
    tiny_feed.to_csv(folder / "feed.csv", index=False)
    done = harness.run(folder / "feed.csv", folder / "out", folder / "store.duckdb")
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(folder / "out" / "flags.csv", encoding="utf-8-sig")) > 0
    return folder


def start(args: list[str]) -> subprocess.Popen[str]:
    env = {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=harness.default_sigint)  # fmt: skip


def test_ctrl_c_exits_130_with_one_line_and_the_rerun_finishes(tiny_run: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store.duckdb", tmp_path / "out"
    shutil.copyfile(tiny_run / "store.duckdb", store)
    with Store(store) as db, db.transaction() as con:  # a new run id: the articles are re-read
        con.execute("DELETE FROM runs")
    feed = tmp_path / "feed.csv"
    pd.read_csv(tiny_run / "feed.csv", dtype=str, keep_default_na=False).iloc[:-1].to_csv(feed, index=False)
    proc = start(["-m", "detector", *harness.command(feed, out, store)[3:]])
    lock = tmp_path / "store.duckdb.lock"
    deadline = time.monotonic() + 300
    while not (lock.is_file() and lock.read_text().startswith("run ")):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "Error: interrupted (Ctrl-C / SIGINT). Nothing is half-written: the run is marked 'interrupted'; "
        "run the same command again to finish it."
    ]
    assert "Aborted!" not in stderr
    with Store(store) as db:
        runs = db.runs()
    assert runs[["status", "note"]].to_numpy().tolist() == [["interrupted", "interrupted by SIGINT (Ctrl-C)"]]
    assert not (out / "manifest.json").exists()
    again = harness.run(feed, out, store)
    assert again.returncode == 0, again.stderr
    assert (out / "manifest.json").is_file()
    with Store(store) as db:
        assert db.runs()["status"].tolist() == ["done"]  # the re-run replaced the interrupted row


def test_show_and_report_work_while_a_run_holds_the_store(tiny_run: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    shutil.copyfile(tiny_run / "store.duckdb", store)
    flags = pd.read_csv(tiny_run / "out" / "flags.csv", dtype=str, encoding="utf-8-sig")
    run_id = json.loads((tiny_run / "out" / "manifest.json").read_text())["run_id"]
    holder = start(["-c", HOLD, str(store)])
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        busy = harness.run(tiny_run / "feed.csv", tmp_path / "other", store)
        assert busy.returncode == 2
        assert "is in use by run run-holder" in busy.stderr
        shown = harness.cli(["show", flags["narrative_id"].iloc[0], "--store", str(store)])
        assert shown.returncode == 0, shown.stderr
        written = harness.cli(
            ["report", "--run", run_id, "--out", str(tmp_path / "again"), "--store", str(store)]
        )
        assert written.returncode == 0, written.stderr
        unfinished = harness.cli(
            ["report", "--run", "run-holder", "--out", str(tmp_path / "x"), "--store", str(store)]
        )
        assert unfinished.returncode == 2
        assert "run run-holder has not finished" in unfinished.stderr
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0
    for name in ("flags.csv", "members.csv", "pairs.csv"):
        assert harness.sha256(tmp_path / "again" / name) == harness.sha256(tiny_run / "out" / name)
    assert not list(Path("/tmp").glob(f"detector-store-*/{store.name}"))  # the snapshot is gone


def test_manifest_records_how_each_file_was_read_and_the_look_alike_outlet(
    tiny_run: Path, tmp_path: Path
) -> None:
    """A semicolon-separated, gzip-compressed export whose one row names "RТ" (Cyrillic Т)."""
    store = tmp_path / "store.duckdb"
    shutil.copyfile(tiny_run / "store.duckdb", store)  # every vector cached
    feed = pd.read_csv(tiny_run / "feed.csv", dtype=str, keep_default_na=False)
    spoofed = int((feed["outlet"] == "RT").to_numpy().argmax()) if (feed["outlet"] == "RT").any() else 0
    feed.iloc[spoofed, feed.columns.get_loc("outlet")] = "R\u0422"
    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress(feed.to_csv(index=False, sep=";").encode("utf-8")))
    done = harness.run(path, tmp_path / "out", store)
    assert done.returncode == 0, done.stderr
    assert "mixes Latin and Cyrillic letters" in done.stderr  # the log line
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["inputs"][0]["delimiter"] == ";"
    assert manifest["inputs"][0]["compression"] == "gzip"
    assert manifest["counts"]["rows_warned"] == 1
    [warning] = manifest["input_warnings"]
    assert (warning["source_row"], warning["id"], warning["field"]) == (
        spoofed + 1,
        feed["id"].iloc[spoofed],
        "outlet",
    )
