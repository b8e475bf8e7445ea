"""Passage units end to end (real USE model, real DuckDB, FAISS, the real pipeline): a claim stated
in one paragraph in the middle of a long transcript is linked to a short item of the other bloc,
with that paragraph as evidence; an unrelated transcript is not; whole-article vectors miss it.

Real text only (tests/data/SOURCE.md): two Kremlin transcripts of March 2022 and one quote of
VoxCheck's Propaganda Diary in Russian and in its English translation. The Russian quote is put
into the first transcript as a paragraph ~3,000 characters in (past what an article vector sees),
the English one is a Global Times item; both join 36 hours of the bundled sample feed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from detector.config import config_from_dict
from detector.pipeline.daily import run_daily
from tests.conftest import DEFAULT_CONFIG

pytestmark = pytest.mark.e2e

ITEMS = {
    item["id"]: item
    for item in json.loads(
        (Path(__file__).resolve().parents[1] / "data" / "transcript_injection.json").read_text("utf-8")
    )
}
TRANSCRIPT, UNRELATED, QUOTE_EN, QUOTE_RU = "k_67982", "k_68004", "e_q0205_en", "e_q0205_ru"


def transcript_with_quote() -> tuple[str, int, int]:
    """The transcript with the Russian quote as its own paragraph after the first sentence end
    past 3,000 characters; returns the text and the quote's offsets."""
    text = ITEMS[TRANSCRIPT]["text"]
    cut = text.index(". ", 3000) + 1
    quote = ITEMS[QUOTE_RU]["text"].strip()
    start = cut + 1
    return f"{text[:cut]}\n{quote}\n{text[cut + 1 :]}", start, start + len(quote)


@pytest.fixture(scope="module")
def feed(small_feed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    background = pd.read_csv(small_feed, dtype=str, keep_default_na=False)
    text, _, _ = transcript_with_quote()
    rows = [
        {"id": "gt-quote", "outlet": "Global Times", "language": "en", "published_at": "2024-11-27T09:00:00Z",
         "title": "", "text": ITEMS[QUOTE_EN]["text"], "url": ""},
        {"id": "kremlin-with-quote", "outlet": "Kremlin (en.kremlin.ru)", "language": "en",
         "published_at": "2024-11-27T20:00:00Z", "title": ITEMS[TRANSCRIPT]["title"], "text": text,
         "url": ""},
        {"id": "kremlin-unrelated", "outlet": "Kremlin (en.kremlin.ru)", "language": "en",
         "published_at": "2024-11-27T21:00:00Z", "title": ITEMS[UNRELATED]["title"],
         "text": ITEMS[UNRELATED]["text"], "url": ""},
    ]  # fmt: skip
    path = tmp_path_factory.mktemp("transcripts") / "feed.csv"
    pd.concat([background, pd.DataFrame(rows)], ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for both runs: the background is embedded once (runs differ in method hash)."""
    return tmp_path_factory.mktemp("store") / "detector.duckdb"


def run(feed: Path, unit: str, out: Path, store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    # The built-in defaults (== configs/default.toml) with only the matching unit changed.
    config = config_from_dict({"passages": {"unit": unit}}, base_dir=str(DEFAULT_CONFIG.parent))
    run_daily(config, [str(feed)], out, store)
    read = {"dtype": str, "encoding": "utf-8-sig", "keep_default_na": False}
    return pd.read_csv(out / "members.csv", **read), pd.read_csv(out / "pairs.csv", **read)


def narratives_of(members: pd.DataFrame, article_id: str) -> set[str]:
    return set(members.loc[members["id"] == article_id, "narrative_id"])


def test_the_quoted_paragraph_links_the_transcript_and_is_the_evidence(
    feed: Path, store: Path, tmp_path: Path
) -> None:
    members, pairs = run(feed, "passage", tmp_path, store)
    shared = narratives_of(members, "gt-quote") & narratives_of(members, "kremlin-with-quote")
    assert len(shared) == 1
    (pair,) = pairs[(pairs["cn_id"] == "gt-quote") & (pairs["ru_id"] == "kremlin-with-quote")].itertuples()
    text, start, end = transcript_with_quote()
    assert (int(pair.ru_passage_start), int(pair.ru_passage_end)) == (start, end)
    assert pair.ru_passage == text[start:end]
    assert "kremlin-unrelated" not in set(members.loc[members["narrative_id"].isin(shared), "id"])


def test_whole_article_vectors_do_not_link_it(feed: Path, store: Path, tmp_path: Path) -> None:
    members, _ = run(feed, "article", tmp_path, store)
    assert not narratives_of(members, "gt-quote") & narratives_of(members, "kremlin-with-quote")
