from __future__ import annotations

from pathlib import Path

import pytest

from detector.config import config_from_dict
from detector.errors import ResourceError
from detector.limits import GIB, MemoryGuard, available_memory
from detector.pipeline.daily import run_daily
from detector.store.store import Store
from tests.conftest import ROOT
from tests.sources.test_ingest import ROWS, write


def test_estimate_grows_with_the_scope_and_the_budget_refuses_it() -> None:
    guard = MemoryGuard(max_memory_gb=4)
    assert guard.check(10_000, 10_000 * 2000) < 4 * GIB
    with pytest.raises(ResourceError, match=r"needs an estimated 14\.4 GiB for 1,000,000 articles.*budget "
                       r"is 4\.0 GiB.*\[limits\] max_memory_gb"):  # fmt: skip
        guard.check(1_000_000, 0)


def test_passage_mode_counts_the_passage_vectors_of_long_texts() -> None:
    short = MemoryGuard.estimate(10_000, 10_000 * 200, passage_chars=1000)
    assert short == MemoryGuard.estimate(10_000, 10_000 * 200) + 4_000 * (1024 * 4 * 3 + 1024)
    transcripts = MemoryGuard.estimate(100, 100 * 30_000, passage_chars=1000)
    assert transcripts > MemoryGuard.estimate(100, 100 * 30_000) + 6_000 * 1024 * 4 * 3


def test_default_budget_is_most_of_the_available_memory(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  2048000 kB\nMemAvailable:    1024000 kB\n")
    assert available_memory(meminfo) == 1024000 * 1024
    assert available_memory(tmp_path / "missing") is None
    assert MemoryGuard().budget() == int(available_memory() * 0.9)  # type: ignore[operator]


def test_run_is_refused_before_embedding_and_recorded_as_failed(tmp_path: Path) -> None:
    config = config_from_dict(
        {"limits": {"max_memory_gb": 0.5}, "ingest": {"registry": "configs/outlets.toml"}},
        base_dir=str(ROOT),
    )
    with pytest.raises(ResourceError, match=r"budget is 0\.5 GiB"):
        run_daily(config, [str(write(tmp_path, ROWS))], tmp_path / "out")
    with Store(tmp_path / "out" / "detector.duckdb") as db:
        assert db.count("embeddings") == 0
        assert db.runs()["status"].tolist() == ["failed"]
        assert "max_memory_gb" in db.runs()["note"].iloc[0]
