"""The theme stage end to end with real text and the real model: a real 28-day background of the
2022 window (tests/data/themes_background_2022.csv), and one campaign of the dev feed (3 cn + 3 ru
real quotes of one claim, tests/data/campaign_ev61_2022.csv) moved into it. Each scenario gets
its own store (a copy of one whose embedding cache holds every text), through the same path as
``detector themes``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config
from detector.pipeline.daily import read_feeds
from detector.pipeline.stages import Stages
from detector.pipeline.themes import ThemeRun
from detector.pipeline.themes_command import themes_between
from detector.store.store import Store
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

DATA = ROOT / "tests" / "data"
BACKGROUND = DATA / "themes_background_2022.csv"
CAMPAIGN = DATA / "campaign_ev61_2022.csv"
SINCE, UNTIL = pd.Timestamp("2022-03-01"), pd.Timestamp("2022-03-29")
SHIFT = pd.Timedelta(days=14)  # the campaign (2022-02-27 .. 03-02) into the background's middle


def campaign(blocs: tuple[str, ...]) -> pd.DataFrame:
    rows = pd.read_csv(CAMPAIGN, dtype=str, keep_default_na=False)
    rows = rows[rows["bloc"].isin(blocs)].drop(columns="leader")
    moved = pd.to_datetime(rows["published_at"], utc=True) + SHIFT
    return rows.assign(published_at=moved.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture(scope="module")
def warm_store(tmp_path_factory: pytest.TempPathFactory, default_config: Config) -> Path:
    """A store whose embedding cache holds every article and passage text of the scenarios."""
    folder = tmp_path_factory.mktemp("themes_warm")
    feed = folder / "all.csv"
    pd.concat([pd.read_csv(BACKGROUND, dtype=str, keep_default_na=False), campaign(("cn", "ru"))]).to_csv(
        feed, index=False
    )
    articles = read_feeds(default_config, [str(feed)]).articles
    stages = Stages.from_config(default_config)
    embedding, splitter = stages.embedding, stages.splitter
    with Store(folder / "warm.duckdb") as db:
        embedding.embed_texts(db, embedding.texts(articles))
        embedding.embed_texts(db, splitter.passages(articles[articles["bloc"] != "control"])["text"].tolist())
    return folder / "warm.duckdb"


def themes_of(tmp_path: Path, warm: Path, config: Config, extra: pd.DataFrame | None) -> ThemeRun:
    tmp_path.mkdir(parents=True, exist_ok=True)
    feed = tmp_path / "feed.csv"
    background = pd.read_csv(BACKGROUND, dtype=str, keep_default_na=False)
    pd.concat([background, extra]).to_csv(feed, index=False)
    store = tmp_path / "store.duckdb"
    shutil.copy(warm, store)
    with Store(store) as db:
        db.upsert_articles(read_feeds(config, [str(feed)]).articles)
    return themes_between(config, store, SINCE.to_pydatetime(), UNTIL.to_pydatetime(), tmp_path / "out")


def test_a_real_background_yields_no_more_flagged_themes_than_the_null_predicts(
    tmp_path: Path, warm_store: Path, default_config: Config
) -> None:
    found = themes_of(tmp_path, warm_store, default_config, None)
    themes = found.report.themes
    assert len(themes) > 0
    assert found.summary["null_note"] == ""
    tested = themes[themes["null_note"] == ""]
    # Under the null, Benjamini-Hochberg at 0.1 flags nothing with probability >= 0.9.
    assert themes["flagged"].sum() <= 0.1 * len(tested)
    assert (tmp_path / "out" / "themes.csv").read_bytes().startswith(b"\xef\xbb\xbftheme_id,flagged,q_value")


def test_an_injected_campaign_is_a_flagged_theme_with_the_right_leader(
    tmp_path: Path, warm_store: Path, default_config: Config
) -> None:
    injected = campaign(("cn", "ru"))
    found = themes_of(tmp_path, warm_store, default_config, injected)
    themes, members = found.report.themes, found.report.members
    holding = members[members["id"].isin(injected["id"])].groupby("theme_id")["id"].nunique()
    best = themes.set_index("theme_id").loc[holding.idxmax()]
    assert holding.max() >= 4
    assert best["articles"] <= 60
    assert bool(best["flagged"])
    assert best["q_value"] <= 0.1
    assert best["leader"] == "ru"  # RIA Novosti published first (truth: leader ru)
    assert best["n_outlets_ru"] >= 3
    assert best["n_outlets_cn"] >= 3


def test_removing_the_campaigns_ru_side_removes_the_flag(
    tmp_path: Path, warm_store: Path, default_config: Config
) -> None:
    injected = campaign(("cn",))
    found = themes_of(tmp_path, warm_store, default_config, injected)
    themes, members = found.report.themes, found.report.members
    flagged = set(themes.loc[themes["flagged"], "theme_id"])
    assert not set(members.loc[members["id"].isin(injected["id"]), "theme_id"]) & flagged


def test_same_input_gives_byte_identical_themes_csv(
    tmp_path: Path, warm_store: Path, default_config: Config
) -> None:
    first = themes_of(tmp_path / "a", warm_store, default_config, campaign(("cn", "ru")))
    again = themes_of(tmp_path / "b", warm_store, default_config, campaign(("cn", "ru")))
    assert first.report.themes.equals(again.report.themes)
    for name in ("themes.csv", "theme_members.csv", "theme_daily.csv"):
        assert (tmp_path / "a" / "out" / name).read_bytes() == (tmp_path / "b" / "out" / name).read_bytes()
