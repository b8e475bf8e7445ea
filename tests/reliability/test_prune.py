"""`detector prune`: old articles, passages and vectors go, every run's flags and reports stay
readable (`detector show` of a pruned narrative, `detector report` byte-identical), the file
shrinks, and a kill inside the deletion or the compaction leaves a usable store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from detector.store.store import Store
from tests.conftest import ROOT
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e
KILLED = -9
ALL = "2100-01-01"  # a cut after every article: the harshest prune


def detector(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DETECTOR_FAULT", None)
    if fault:
        env["DETECTOR_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "detector", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def counts(store: Path) -> dict[str, int]:
    with Store(store) as db:
        return {
            t: db.count(t) for t in ("articles", "units", "embeddings", "clusters", "flags", "report_rows")
        }


@pytest.fixture
def store(reference: Reference, tmp_path: Path) -> Path:
    path = tmp_path / "detector.duckdb"
    shutil.copyfile(reference.store, path)
    return path


def test_a_pruned_store_still_shows_and_reports_every_flag(
    reference: Reference, store: Path, tmp_path: Path
) -> None:
    before, size = counts(store), store.stat().st_size
    done = detector("prune", "--before", ALL, "--store", str(store))
    assert done.returncode == 0, done.stderr
    after = counts(store)
    assert after["articles"] == after["units"] == 0
    assert after["embeddings"] < before["embeddings"] / 10  # the statements' own vectors may stay
    assert (after["flags"], after["report_rows"]) == (before["flags"], before["report_rows"])
    assert store.stat().st_size < size
    flags = pd.read_csv(reference.out / "flags.csv")
    shown = detector("show", str(flags["narrative_id"].iloc[0]), "--store", str(store))
    assert shown.returncode == 0, shown.stderr
    assert str(flags["narrative_id"].iloc[0]) in shown.stdout
    run_id = harness.snapshot(reference.out, reference.store)["runs"][0][0]  # type: ignore[index]
    again = detector("report", "--run", run_id, "-o", str(tmp_path / "re"), "--store", str(store))
    assert again.returncode == 0, again.stderr
    for name in ("flags.csv", "members.csv", "pairs.csv"):
        assert harness.sha256(tmp_path / "re" / name) == harness.sha256(reference.out / name)


@pytest.mark.parametrize("point", ["pruning", "compacting"])
def test_a_kill_while_pruning_leaves_a_usable_store_and_the_next_prune_finishes(
    store: Path, point: str
) -> None:
    before = counts(store)
    killed = detector("prune", "--before", ALL, "--store", str(store), fault=point)
    assert killed.returncode == KILLED, killed.stderr
    middle = counts(store)  # the store opens: nothing half-deleted
    assert middle == before if point == "pruning" else middle["articles"] == 0
    done = detector("prune", "--before", ALL, "--store", str(store))
    assert done.returncode == 0, done.stderr
    assert counts(store)["articles"] == 0
    assert not list(store.parent.glob("*.compact*"))
