"""The narrative-level null on real text: the real pipeline on the sample's real background (CCTV,
RIA Novosti, BBC Russian; nothing injected), then with one injected translation; and the evidence
of a real campaign (three cn and three ru outlets restating one claim) against that background."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.pipeline.daily import read_feeds, run_daily
from detector.scoring.score import SyncScorer
from tests.conftest import SAMPLE_FEED, SAMPLE_TRUTH

pytestmark = pytest.mark.e2e

CAMPAIGN = Path(__file__).resolve().parents[1] / "data" / "campaign_ev50.csv"
REAL_OUTLETS = [
    "CCTV Xinwen Lianbo",
    "RIA Novosti (Telegram @rian_ru)",
    "BBC News Russian (Telegram @bbcrussian)",
]


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    """The sample's real rows only: no injected event, quote pair or distractor."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE_TRUTH, dtype=str)
    return feed[feed["outlet"].isin(REAL_OUTLETS) & ~feed["id"].isin(truth["id"])].reset_index(drop=True)


def run(config: Config, feed: pd.DataFrame, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    path = folder / "feed.csv"
    feed.to_csv(path, index=False)
    run_daily(config, [str(path)], folder / "out", folder / "store.duckdb")
    out = folder / "out"
    read = lambda name: (  # noqa: E731
        pd.read_csv(out / name, dtype=str, encoding="utf-8-sig")
        if (out / name).stat().st_size
        else pd.DataFrame()
    )
    return read("flags.csv"), read("members.csv"), json.loads((out / "manifest.json").read_text())


def test_a_real_background_gets_no_more_flags_than_its_decoys_predict(
    default_config: Config, background: pd.DataFrame, tmp_path: Path
) -> None:
    flags, _, manifest = run(default_config, background, tmp_path)
    # 141 h of real articles: shorter than twice the lag, so one valid shift (docs/method.md §4).
    assert manifest["decoys"]["decoys"] == 1
    assert manifest["null"]["estimated"] is True
    expected = manifest["null"]["expected_false_flags"] or 0.0
    assert len(flags) <= np.ceil(expected)


def test_an_injected_translation_is_flagged_with_its_leader_and_a_small_q_value(
    default_config: Config, background: pd.DataFrame, tmp_path: Path
) -> None:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE_TRUTH, dtype=str)
    first = sorted(truth.loc[truth["kind"] == "translation", "event_id"].unique())[0]  # by rule, not result
    event = truth[truth["event_id"] == first]
    flags, members, _ = run(
        default_config, pd.concat([background, feed[feed["id"].isin(event["id"])]]), tmp_path
    )
    holding = members[members["id"].isin(event["id"])]["narrative_id"].unique()
    assert len(holding) == 1
    flag = flags[flags["narrative_id"] == holding[0]].iloc[0]
    assert float(flag["q_value"]) <= default_config.score.target_fdr
    leader = event["leader"].iloc[0]
    assert flag["direction"] == ("cn->ru" if leader == "cn" else "ru->cn")


def test_a_campaigns_evidence_falls_when_two_of_its_six_outlets_are_removed(
    default_config: Config, background: pd.DataFrame
) -> None:
    config = default_config
    campaign = read_feeds(config, [str(CAMPAIGN)]).articles.sort_values(["published_at", "id"])
    campaign = campaign.reset_index(drop=True)
    embedding = EmbeddingStage(**config.arguments("embed"))
    texts = embedding.texts
    base = background.assign(published_at=pd.to_datetime(background["published_at"], utc=True))
    scorer = SyncScorer(**config.arguments("score")).fit(base, embedding.embedder.encode(texts(base)))
    vectors = embedding.embedder.encode(texts(campaign))

    def evidence(rows: np.ndarray) -> float:
        scored = scorer.score("ev50", campaign.iloc[rows].reset_index(drop=True), vectors[rows])
        assert scored is not None
        return float(scored[0]["evidence"])

    leader = pd.read_csv(CAMPAIGN, dtype=str)["leader"].iloc[0]
    lead = np.flatnonzero(campaign["bloc"] == leader)
    follow = np.flatnonzero(campaign["bloc"] != leader)
    everyone = np.arange(len(campaign))
    full = scorer.score("ev50", campaign, vectors)
    assert full is not None
    assert full[0]["direction"] == f"{leader}->{'ru' if leader == 'cn' else 'cn'}"
    assert full[0]["outlets_cn"] == full[0]["outlets_ru"] == 3
    # Two of the following bloc's outlets gone, or one of each bloc: less evidence either way.
    assert evidence(everyone) > evidence(np.r_[lead, follow[:1]])
    assert evidence(everyone) > evidence(np.r_[lead[:2], follow[:2]])
