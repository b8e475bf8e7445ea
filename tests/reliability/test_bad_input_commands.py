"""The bad-input sweep of ``test_bad_input_sweep`` over the other commands: ``track``, ``search``,
``show``, ``report``, ``eval``, ``tune``, ``init``, ``themes``, ``prune``, ``verdicts`` (its files have
their own sweep, ``test_verdict_files``) and the checks ``run`` makes before any work
(a broken ``[watch] watchlist``). Same subprocess, same assertions: exit 2, exactly one ``Error:``
line with a ``Fix:`` and no traceback, no file in ``--out``, the store given byte-identical and
still holding its articles (or no store left behind at all)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from detector.store.store import Store
from tests.conftest import ROOT, SAMPLE_FEED
from tests.reliability import harness
from tests.reliability import test_bad_input_sweep as sweep
from tests.reliability.test_bad_input_sweep import Case, Setup, csv_text

rows, good_store = sweep.rows, sweep.good_store  # the sweep's fixtures: the same 20 rows and store

WATCHLIST = ROOT / "configs" / "watchlist.toml"
Make = Callable[[Path, pd.DataFrame, Path], Setup]


def copy_store(folder: Path, good: Path) -> Path:
    store = folder / "store.duckdb"
    shutil.copyfile(good, store)
    return store


def track(*options: str, watchlist: str | None = None, config: str | None = None) -> Make:
    """``track`` over a copy of the good store, with ``options`` (``{folder}`` is the case's folder)."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        store = copy_store(folder, good)
        args = ["track", "-w", (watchlist or str(WATCHLIST)).format(folder=folder), "--store", str(store),
                "--out", str(folder / "out"), *(o.format(folder=folder) for o in options)]  # fmt: skip
        if config is not None:
            args += ["--config", config.format(folder=folder)]
        return Setup(args, out=folder / "out", store=store)

    return make


def search(*options: str, text: str = "US military biolabs in Ukraine") -> Make:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        store = copy_store(folder, good)
        args = ["search", text, "--store", str(store), *(o.format(folder=folder) for o in options)]
        return Setup(args, store=store)

    return make


def with_files(make: Make, files: dict[str, bytes]) -> Make:
    """``make``, after writing ``files`` (name -> bytes) into the case's folder."""

    def wrapped(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        return make(folder, rows, good)

    return wrapped


def one_bloc_store(command: str) -> Make:
    """``track``/``search --bloc cn`` over a store that holds no cn article."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        setup = (track if command == "track" else search)("--bloc", "cn")(folder, rows, good)
        assert setup.store is not None
        with Store(setup.store) as db, db.transaction() as con:
            con.execute("DELETE FROM articles WHERE bloc = 'cn'")
        setup.store, setup.untouched = None, [setup.store]  # unchanged, but no longer 20 articles
        return setup

    return make


def review(command: str, *options: str, store: str | None = None) -> Make:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        copy = copy_store(folder, good)
        args = [command, *(o.format(folder=folder) for o in options), "--store", store or str(copy)]
        return Setup(args, out=folder / "out", store=copy)

    return make


def events(command: str, truth: bytes | None, *extra: str) -> Make:
    """``eval``/``tune`` on an events set of the sample's rows whose truth file holds ``truth``
    (``None``: the feed is named so the command rejects it as a data file)."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        feed = folder / ("x_feed.csv" if truth is not None else "x_feed.json")
        feed.write_text(csv_text(rows), encoding="utf-8")
        if truth is not None:
            (folder / "x_truth.csv").write_bytes(truth)
        store = folder / "eval.duckdb"
        args = [command, "-d", str(feed), "--store", str(store), *(o.format(folder=folder) for o in extra)]
        return Setup(args, out=folder / "out", no_store=store)

    return make


def run_with(config_text: str) -> Make:
    """``run`` on the good rows with a config holding ``config_text``: refused before any work."""

    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        setup = sweep.feed_case("feed.csv", lambda r: csv_text(r).encode())(folder, rows, good)
        config = folder / "config.toml"
        config.write_text(config.read_text(encoding="utf-8") + config_text, encoding="utf-8")
        return setup

    return make


def init(*options: str, existing: bool = False) -> Make:
    def make(folder: Path, rows: pd.DataFrame, good: Path) -> Setup:
        target = folder / "starter"
        kept = []
        if existing:
            target.mkdir()
            (target / "outlets.toml").write_text("# mine\n", encoding="utf-8")
            kept = [target / "outlets.toml"]
        args = [o.format(folder=folder) for o in options] or [str(target)]
        return Setup(["init", *args], untouched=kept)

    return make


NOT_A_LIST = b'[[narrative]]\nid = "a"\nname = "A"\nstatements = 3\n'
CP1251 = '[[narrative]]\nid = "x"\nname = "Биолаборатории"\nstatements = ["США"]\n'.encode("cp1251")
NOT_UTF8_CONFIG = "# Настройки\n[score]\nalpha = 0.1\n".encode("cp1251")
TRUTH = b"event_id,id,kind,leader\n"
FUTURE = ("--since", "2099-01-01")

CASES = [
    Case("track-since-after-until", track("--since", "2024-12-01", "--until", "2024-11-27"),
         ("--since 2024-12-01 is not before --until 2024-11-27", "swap them")),
    Case("track-future-dates", track(*FUTURE), ("holds no article published from 2099-01-01", "(20 in all)")),
    Case("track-period-before-the-store", track("--until", "2001-01-01"),
         ("holds no article published before 2001-01-01", "widen or drop --since/--until")),
    Case("track-no-article-of-the-bloc", one_bloc_store("track"),
         ("holds no article of bloc cn", "it holds 4 control, 12 ru", "drop --bloc")),
    Case("track-watchlist-not-utf8", with_files(track(watchlist="{folder}/w.toml"), {"w.toml": CP1251}),
         ("w.toml: not UTF-8", "save it as UTF-8")),
    Case("track-watchlist-missing", track(watchlist="{folder}/nowhere.toml"),
         ("watchlist", "nowhere.toml does not exist", "detector init DIR")),
    Case("track-watchlist-statements-not-a-list",
         with_files(track(watchlist="{folder}/w.toml"), {"w.toml": NOT_A_LIST}),
         ("'statements' must be a list of strings", 'statements = ["...", "..."]')),
    Case("track-watchlist-not-toml",
         with_files(track(watchlist="{folder}/w.toml"), {"w.toml": b"[narrative\n"}),
         ("w.toml: not valid TOML", "correct that line")),
    Case("track-watchlist-empty", with_files(track(watchlist="{folder}/w.toml"), {"w.toml": b""}),
         ("w.toml: no narratives", "add at least one [[narrative]]")),
    Case("track-watchlist-duplicate-id",
         with_files(track(watchlist="{folder}/w.toml"),
                    {"w.toml": b'[[narrative]]\nid="a"\nname="A"\nstatements=["x"]\n' * 2}),
         ("id 'a' is used twice", "its own id")),
    Case("track-out-under-a-file", with_files(track("--out", "{folder}/f/out"), {"f": b"a file"}),
         ("(--out) cannot be written (Not a directory)", "is a file, not a folder")),
    Case("track-since-not-a-date", track("--since", "yesterday"), ("--since 'yesterday' is not a date",)),
    Case("track-config-watchlist-not-text", with_files(track(config="{folder}/c.toml"),
                                                       {"c.toml": b"[watch]\nwatchlist = 5\n"}),
         ("c.toml: [watch] watchlist = 5 is not a path", 'watchlist = "watchlist.toml"')),
    Case("track-config-missing", track(config="{folder}/nope.toml"),
         ("Config file", "nope.toml does not exist", "detector init DIR", "packaged defaults")),
    Case("track-config-not-utf8", with_files(track(config="{folder}/c.toml"), {"c.toml": NOT_UTF8_CONFIG}),
         ("c.toml: not UTF-8",)),
    Case("track-registry-missing", with_files(track(config="{folder}/c.toml"),
                                              {"c.toml": b'[ingest]\nregistry = "mine.toml"\n'}),
         ("Outlet registry", "mine.toml", "does not exist", 'registry = ""')),
    Case("search-since-after-until", search("--since", "2024-12-02", "--until", "2024-12-01"),
         ("--since 2024-12-02 is not before --until 2024-12-01",)),
    Case("search-future-dates", search(*FUTURE), ("holds no article published from 2099-01-01",)),
    Case("search-no-article-of-the-bloc", one_bloc_store("search"), ("holds no article of bloc cn",)),
    Case("search-csv-under-a-file", with_files(search("--csv", "{folder}/f/hits.csv"), {"f": b"x"}),
         ("(--csv) cannot be written", "is a file, not a folder")),
    Case("search-blank-text", search(text="   "), ("search text is empty",)),
    Case("search-store-missing", search("--store", "{folder}/nowhere.duckdb"),
         ("store", "nowhere.duckdb does not exist", "detector run --input FEED --out out")),
    Case("search-until-not-a-date", search("--until", "2024-13-45"), ("--until '2024-13-45' is not a date",)),
    Case("search-markup-text-and-empty-scope", search(*FUTURE, text="[/] [bold]biolabs[/bold] [link=x]"),
         ("holds no article published from 2099-01-01",)),
    Case("show-unknown-narrative", review("show", "N20241127-nope"),
         ("narrative N20241127-nope is not flagged", "narrative_id of that run's flags.csv")),
    Case("show-unknown-run", review("show", "N20241127-nope", "--run", "run-nope"),
         ("run run-nope has not finished", "--run one of them")),
    Case("show-store-missing", review("show", "N1", store="{folder}/none.duckdb"), ("does not exist",)),
    Case("report-unknown-run", review("report", "--run", "run-nope", "--out", "{folder}/out"),
         ("run run-nope has not finished",)),
    Case("report-out-under-a-file",
         with_files(review("report", "--run", "run-x", "--out", "{folder}/f/out"), {"f": b"x"}),
         ("(--out) cannot be written (Not a directory)",)),
    Case("eval-empty-truth", events("eval", b""), ("x_truth.csv: is empty",)),
    Case("eval-truth-without-id", events("eval", b"event_id,kind,leader\ne1,claim,cn\n"),
         ("x_truth.csv: missing column(s) ['id']",)),
    Case("eval-truth-without-events", events("eval", TRUTH), ("x_truth.csv: has a header but no rows",)),
    Case("eval-truth-not-utf8", events("eval", "event_id,id,kind,leader\nсобытие,1,a,b\n".encode("cp1251")),
         ("x_truth.csv: not UTF-8",)),
    Case("eval-unknown-data-file", events("eval", None), ("x_feed.json: not a labelled file",)),
    Case("tune-empty-truth", events("tune", b"", "--out", "{folder}/out/tuned.toml"),
         ("x_truth.csv: is empty",)),
    Case("tune-truth-without-id", events("tune", b"event_id,kind\n", "--out", "{folder}/out/tuned.toml"),
         ("x_truth.csv: missing column(s) ['id', 'leader']",)),
    Case("run-watchlist-missing-before-any-work", run_with('[watch]\nwatchlist = "nowhere.toml"\n'),
         ("nowhere.toml does not exist",)),
    Case("run-watchlist-not-text", run_with("[watch]\nwatchlist = 5\n"),
         ("[watch] watchlist = 5 is not a path",)),
    Case("run-watchlist-not-utf8",
         with_files(run_with('[watch]\nwatchlist = "w.toml"\n'), {"w.toml": CP1251}),
         ("w.toml: not UTF-8",)),
    Case("themes-until-before-since",
         review("themes", "--since", "2024-12-02", "--until", "2024-12-01", "--out", "{folder}/out"),
         ("--until 2024-12-01 is not after --since 2024-12-02", "a later --until")),
    Case("themes-period-without-articles",
         review("themes", "--since", "2099-01-01", "--until", "2099-02-01", "--out", "{folder}/out"),
         ("holds no article published in [2099-01-01, 2099-02-01)", "pick dates the store covers")),
    Case("themes-since-not-a-date",
         review("themes", "--since", "2024-13-01", "--until", "2024-12-01", "--out", "{folder}/out"),
         ("--since '2024-13-01' is not a date", "YYYY-MM-DD")),
    Case("themes-out-under-a-file",
         with_files(review("themes", "--since", "2024-11-01", "--until", "2024-12-01",
                           "--out", "{folder}/f/o"), {"f": b"x"}),
         ("(--out) cannot be written (Not a directory)",)),
    Case("prune-before-not-a-date", review("prune", "--before", "yesterdayish"),
         ("--before 'yesterdayish' is not a date", "YYYY-MM-DD")),
    Case("prune-store-missing", review("prune", "--before", "2024-01-01", store="{folder}/none.duckdb"),
         ("none.duckdb does not exist",)),
    Case("verdicts-import-missing-file", review("verdicts", "import", "{folder}/none.csv"),
         ("none.csv: cannot be read",)),
    Case("verdicts-export-out-under-a-file",
         with_files(review("verdicts", "export", "--out", "{folder}/f/v.csv"), {"f": b"x"}),
         ("(--out) cannot be written",)),
    Case("init-would-overwrite", init(existing=True), ("outlets.toml", "already exist", "--force")),
    Case("init-under-a-file", with_files(init("{folder}/f/starter"), {"f": b"x"}),
         ("cannot be written", "not a file")),
]  # fmt: skip


def test_the_commands_sweep_has_at_least_30_distinct_cases() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 30
    assert not {case.name for case in CASES} & {case.name for case in sweep.CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_to_any_command_is_one_line_and_leaves_nothing_half_written(
    case: Case, rows: pd.DataFrame, good_store: Path, tmp_path: Path
) -> None:
    sweep.test_bad_input_or_fault_is_one_line_and_leaves_nothing_half_written(
        case, rows, good_store, tmp_path
    )


@pytest.fixture(scope="module")
def sample_store(warm_sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole sample ingested into a store warm for its vectors: `track` runs ~10 s on it."""
    store = tmp_path_factory.mktemp("ctrl_c") / "store.duckdb"
    shutil.copyfile(warm_sample_store, store)
    done = harness.cli(["ingest", "--input", str(SAMPLE_FEED), "--store", str(store)])
    assert done.returncode == 0, done.stderr
    return store


@pytest.mark.e2e
@pytest.mark.parametrize("wait_for", ["", "passages:"], ids=["during-start-up", "during-track"])
def test_ctrl_c_during_track_or_start_up_is_one_line_and_exit_130(
    wait_for: str, sample_store: Path, tmp_path: Path
) -> None:
    """Wherever the signal lands (importing the commands, or scoring), one line and 130.

    "during-track" waits for track's first progress line (its passages are split; the vectors,
    the watch statements and the scoring are still ahead), so the signal lands in the work
    whatever the machine's speed; a fixed sleep raced a fast machine."""
    args = ["-m", "detector", "-v", "track", "-w", str(WATCHLIST), "--store", str(sample_store),
            "--out", str(tmp_path / "out")]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=harness.default_sigint)  # fmt: skip
    assert proc.stderr is not None
    seen = []
    if wait_for:
        for line in proc.stderr:
            seen.append(line)
            if wait_for in line:
                break
        assert any(wait_for in line for line in seen), "".join(seen)
    else:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=300)
    stderr = "".join(seen) + rest
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("Error:")] == [
        "Error: interrupted (Ctrl-C / SIGINT). Nothing is half-written (each file is written whole or "
        "not at all). Fix: run the same command again."
    ]
    assert not (tmp_path / "out" / "watch_hits.csv").exists()
