"""End to end: the real pipeline on real text (USE model, DuckDB file, FAISS, HDBSCAN)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.config import Config
from detector.pipeline.daily import RunSummary, run_daily
from detector.store.store import Store
from tests.conftest import DEFAULT_CONFIG

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, default_config: Config, small_feed: Path):
    out = tmp_path_factory.mktemp("run")
    summary = run_daily(default_config, [str(small_feed)], out)
    return out, summary


def narratives_of(out: Path) -> dict[str, set[str]]:
    members = pd.read_csv(out / "members.csv", dtype=str, encoding="utf-8-sig")
    return {nid: set(g["id"]) for nid, g in members.groupby("narrative_id")}


def test_translated_events_are_flagged(
    first_run: tuple[Path, RunSummary], truth: pd.DataFrame, small_feed: Path, small_feed_texts: int
) -> None:
    out, summary = first_run
    feed_ids = set(pd.read_csv(small_feed, dtype=str)["id"])
    events = [set(g["id"]) for _, g in truth[truth["kind"] == "translation"].groupby("event_id")
              if set(g["id"]) <= feed_ids]  # fmt: skip
    assert len(events) == 5
    flagged = list(narratives_of(out).values())
    found = [e for e in events if any(e <= members for members in flagged)]
    assert len(found) >= 4, f"only {len(found)} of 5 translation events flagged"
    assert small_feed_texts > 383  # passages of the long articles come on top of the articles
    assert summary.n_embedded == small_feed_texts


def test_every_flag_has_both_blocs_and_its_evidence(first_run: tuple[Path, RunSummary]) -> None:
    out, _ = first_run
    flags = pd.read_csv(out / "flags.csv", encoding="utf-8-sig")
    assert len(flags) > 0
    assert (flags["n_cn"] > 0).all()
    assert (flags["n_ru"] > 0).all()
    assert flags["best_cn_id"].notna().all()
    assert flags["best_ru_id"].notna().all()
    assert (flags["best_pair_lag_hours"].abs() <= 72).all()
    assert flags["rank"].tolist() == list(range(1, len(flags) + 1))
    assert (out / "manifest.json").is_file()


def test_story_without_a_cn_article_is_not_flagged(
    tmp_path: Path, default_config: Config, small_feed: Path, truth: pd.DataFrame
) -> None:
    """The same translated quote, but the cn copy moved to a control outlet: a shared story
    between ru and control is not a cn-ru synchronisation."""
    feed = pd.read_csv(small_feed, dtype=str, keep_default_na=False)
    event = truth[truth["kind"] == "translation"].groupby("event_id")["id"].apply(set)
    pair = next(ids for ids in event if ids <= set(feed["id"]))
    cn_id = feed[feed["id"].isin(pair) & (feed["bloc"] == "cn")]["id"].item()
    feed.loc[feed["id"] == cn_id, ["outlet", "bloc"]] = ["Reuters", "control"]
    path = tmp_path / "feed.csv"
    feed.to_csv(path, index=False)
    run_daily(default_config, [str(path)], tmp_path / "out")
    assert not any(pair & members for members in narratives_of(tmp_path / "out").values())


def test_rerun_embeds_nothing_and_writes_identical_flags(
    first_run: tuple[Path, RunSummary], default_config: Config, small_feed: Path, small_feed_texts: int
) -> None:
    out, summary = first_run
    before = (out / "flags.csv").read_bytes()
    again = run_daily(default_config, [str(small_feed)], out)
    assert again.n_embedded == 0
    assert again.run_id == summary.run_id
    assert (out / "flags.csv").read_bytes() == before
    with Store(out / "detector.duckdb") as db:
        assert db.count("articles") == 383
        assert db.count("embeddings") == small_feed_texts


def test_cli_run_writes_reports(tmp_path: Path, small_feed: Path, first_run) -> None:
    out, _ = first_run
    # Reuse the embedding cache of the first run, so this only exercises the command line.
    result = CliRunner().invoke(
        main, ["run", "--config", str(DEFAULT_CONFIG), "--input", str(small_feed),
               "--out", str(tmp_path), "--store", str(out / "detector.duckdb")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "flagged narratives" in result.output
    assert (tmp_path / "flags.csv").read_bytes() == (out / "flags.csv").read_bytes()


def test_found_events_have_the_right_direction(
    first_run: tuple[Path, RunSummary], truth: pd.DataFrame
) -> None:
    """Injected translations 1-48 h apart: the flag's leading bloc is the truth's leader."""
    out, _ = first_run
    flags = pd.read_csv(out / "flags.csv", dtype=str, encoding="utf-8-sig").set_index("narrative_id")
    checked = 0
    for nid, members in narratives_of(out).items():
        for _, event in truth[truth["kind"] == "translation"].groupby("event_id"):
            if set(event["id"]) <= members:
                expected = "cn->ru" if event["leader"].iloc[0] == "cn" else "ru->cn"
                assert flags.loc[nid, "direction"] == expected
                checked += 1
    assert checked >= 4


def test_control_coverage_of_the_same_story_is_shown_and_discounted(
    tmp_path: Path, default_config: Config, small_feed: Path, first_run
) -> None:
    """Control outlets carrying the ru article's text at the same time: one copy is shown and
    lowers the score; three make the story a shared news event, not flagged."""
    out, _ = first_run
    feed = pd.read_csv(small_feed, dtype=str, keep_default_na=False)
    top = pd.read_csv(out / "flags.csv", dtype=str, encoding="utf-8-sig").iloc[0]
    ru = feed[feed["id"] == top["best_ru_id"]].iloc[0]

    def run_with(outlets: list[str], name: str) -> pd.DataFrame:
        copies = pd.DataFrame([ru] * len(outlets)).assign(
            id=[f"ctl-{o}" for o in outlets], outlet=outlets, bloc="control"
        )
        path = tmp_path / f"{name}.csv"
        pd.concat([feed, copies]).to_csv(path, index=False)
        run_daily(default_config, [str(path)], tmp_path / name, store=tmp_path / f"{name}.duckdb")
        flags = pd.read_csv(tmp_path / name / "flags.csv", dtype=str, encoding="utf-8-sig")
        return flags[flags["best_ru_id"] == top["best_ru_id"]]

    one = run_with(["Reuters"], "one")
    assert len(one) == 1
    assert one["control_outlets"].item() == "Reuters"
    assert float(one["score"].item()) < float(top["score"])
    assert run_with(["Reuters", "AP", "AFP"], "three").empty
