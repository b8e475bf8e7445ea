"""One uninterrupted run of the real command on the small feed: the reference every crashed and
re-run run must reproduce byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability import harness


@dataclass(frozen=True)
class Reference:
    feed: Path
    out: Path
    store: Path
    snapshot: dict[str, object]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, small_feed: Path) -> Reference:
    out = tmp_path_factory.mktemp("reference")
    outcome = harness.run(small_feed, out, out / "detector.duckdb")
    assert outcome.returncode == 0, outcome.stderr
    return Reference(small_feed, out, out / "detector.duckdb", harness.snapshot(out, out / "detector.duckdb"))
