"""Shared fixtures. End-to-end fixtures run the real pipeline (real USE model, DuckDB in a temp
dir, FAISS, HDBSCAN) once per session on a small slice of the bundled sample feed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "feed_2024.csv"
SAMPLE_TRUTH = ROOT / "data" / "sample" / "truth_2024.csv"
DEFAULT_CONFIG = ROOT / "configs" / "default.toml"

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"


def system_program(path: str, package: str) -> str:
    """``path`` of a program ``make setup`` installs from Debian's ``package`` (as root); missing,
    the test that needs it is skipped on a developer's machine and FAILS in CI (``CI=true``)."""
    if not Path(path).is_file():
        message = (
            f"{package} is not installed ({path} is missing): `make setup` installs it as root "
            f"(apt-get install -y --no-install-recommends {package}); see docs/reports.md"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium the browser tests drive."""
    return system_program(CHROMIUM, "chromium")


@pytest.fixture(scope="session")
def soffice() -> str:
    """LibreOffice, which opens the CSVs as a spreadsheet user would."""
    return system_program(SOFFICE, "libreoffice-calc")


@pytest.fixture(scope="session")
def default_config() -> Config:
    return load_config(DEFAULT_CONFIG)


@pytest.fixture(scope="session")
def truth() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_TRUTH, dtype=str)


def distinct_texts(config: Config, feed: Path) -> int:
    """How many texts a first run of ``config`` on ``feed`` embeds: the article texts and, in
    passage mode, the passages (a short item's one passage is its article text, embedded once)."""

    from detector.pipeline.daily import read_feeds
    from detector.pipeline.stages import Stages

    articles = read_feeds(config, [str(feed)]).articles
    stages = Stages.from_config(config)
    texts = set(stages.embedding.texts(articles))
    if stages.by_passage:
        texts |= set(stages.splitter.passages(articles)["text"])
    return len(texts)


@pytest.fixture(scope="session")
def small_feed_texts(default_config: Config, small_feed: Path) -> int:
    return distinct_texts(default_config, small_feed)


@pytest.fixture(scope="session")
def small_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 hours of the sample (383 real articles, 7 complete events), written as a CSV."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    window = (stamps >= "2024-11-27T00:00Z") & (stamps < "2024-11-28T12:00Z")
    path = tmp_path_factory.mktemp("feed") / "small_feed.csv"
    feed[window].to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def first_run_pairs(tmp_path_factory: pytest.TempPathFactory, default_config: Config, small_feed: Path):
    """pairs.csv of one real run on the small feed."""
    from detector.pipeline.daily import run_daily

    out = tmp_path_factory.mktemp("pairs_run")
    run_daily(default_config, [str(small_feed)], out)
    return pd.read_csv(out / "pairs.csv", dtype=str, encoding="utf-8-sig")


EMBEDDING_CACHE = Path("/work/cache/embeddings.duckdb")  # a shared warm cache, where the machine has one


@pytest.fixture(scope="session")
def warm_sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding only the embedding cache of the whole sample feed (no articles, runs or
    clusters): a run on a copy does everything but the model calls, and its outputs equal a
    fresh store's. Copied from the shared cache where there is one, else made by one run."""
    from detector.pipeline.daily import run_daily
    from tests.reliability.harness import warm_copy

    folder = tmp_path_factory.mktemp("warm_sample")
    source = EMBEDDING_CACHE
    if not source.is_file():
        source = folder / "first.duckdb"
        run_daily(load_config(DEFAULT_CONFIG), [str(SAMPLE_FEED)], folder / "first", source)
    warm_copy(source, folder / "warm.duckdb")
    return folder / "warm.duckdb"
