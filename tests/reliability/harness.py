"""Run the real ``detector`` command in a subprocess, kill it, and fingerprint what it left.

Shared by the reliability tests and ``benchmarks/fault_injection.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from detector.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "default.toml"
TABLES = ("articles", "embeddings", "clusters", "flags", "verdicts")
REPORTS = ("flags.csv", "members.csv", "pairs.csv", "outlets.csv", "outlets.graphml")


@dataclass(frozen=True)
class Outcome:
    returncode: int  # -9 = killed by SIGKILL
    stderr: str
    seconds: float


@dataclass(frozen=True)
class Command:
    """Which command runs: ``detector run`` with the default config, unless told otherwise."""

    name: str = "run"
    config: Path = CONFIG
    options: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


def command(feed: Path, out: Path, store: Path, how: Command = Command()) -> list[str]:
    return [sys.executable, "-m", "detector", how.name, "--config", str(how.config), "--input", str(feed),
            "--out", str(out), "--store", str(store), *how.options]  # fmt: skip


def start(
    feed: Path, out: Path, store: Path, fault: str | None = None, how: Command = Command()
) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **dict(how.env)}
    env.pop("DETECTOR_FAULT", None)
    if fault:
        env["DETECTOR_FAULT"] = fault
    return subprocess.Popen(command(feed, out, store, how), cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def run(
    feed: Path,
    out: Path,
    store: Path,
    fault: str | None = None,
    kill_after: float | None = None,
    how: Command = Command(),
) -> Outcome:
    """Run to the end, or until the fault point kills it, or SIGKILL it after ``kill_after`` s."""
    began = time.perf_counter()
    proc = start(feed, out, store, fault, how)
    try:
        _, stderr = proc.communicate(timeout=kill_after if kill_after is not None else 900)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate()
    return Outcome(proc.returncode, stderr, time.perf_counter() - began)


def sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def snapshot(out: Path, store: Path) -> dict[str, object]:
    """Everything a re-run must reproduce: report bytes, row counts, run states, the lock."""
    with Store(store) as db:
        counts = {table: db.count(table) for table in TABLES}
        runs = [tuple(r) for r in db.runs()[["run_id", "status"]].itertuples(index=False)]
    return {
        **{name: sha256(out / name) for name in REPORTS},
        "manifest.json": (out / "manifest.json").is_file(),
        "leftover_temp_files": sorted(p.name for p in out.glob(".*.tmp")),
        **counts,
        "runs": runs,
    }


def warm_copy(source_store: Path, target_store: Path) -> None:
    """A store holding only the embedding cache of ``source_store``: a run on it does all the
    work except the (slow, deterministic) model calls."""
    target_store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_store, target_store)
    with Store(target_store) as db, db.transaction() as con:
        for table in ("articles", "runs", "clusters", "flags", "verdicts", "first_flagged"):
            con.execute(f"DELETE FROM {table}")


def cli(args: list[str], prefix: tuple[str, ...] = (), timeout: float = 600) -> Outcome:
    """Run ``python -m detector ARGS`` (behind ``prefix``, e.g. a privilege-dropping wrapper) to
    the end; Ctrl-C reaches it as in a terminal (SIGINT is not inherited ignored)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DETECTOR_FAULT", None)
    began = time.perf_counter()
    done = subprocess.run([*prefix, sys.executable, "-m", "detector", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout, preexec_fn=default_sigint)  # fmt: skip
    return Outcome(done.returncode, done.stderr, time.perf_counter() - began)


def default_sigint() -> None:
    """In the child before exec: a job started in the background inherits SIGINT ignored, and
    Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
