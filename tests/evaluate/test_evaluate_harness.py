"""Injection harness, tuning helpers and the event scorer on real data (the real pipeline)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config, load_config
from detector.evaluate.data import classify_files, load_feed_events
from detector.evaluate.events import evaluate_feed, feed_store
from detector.evaluate.inject import bury_events, inject_events, pairs_from_narratives, write_event_set
from detector.evaluate.tune import search_space, set_param, write_config
from tests.conftest import SAMPLE_FEED


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False)
    return feed.iloc[:200].reset_index(drop=True)


@pytest.fixture(scope="module")
def quote_pairs() -> pd.DataFrame:
    rows = []
    for q, claim in enumerate(["c1", "c1", "c2", "c2"]):
        for language, word in (("en", "english"), ("ru", "русский")):
            rows.append({"quote_id": f"q{q}", "claim_id": claim, "language": language, "text": f"{word} {q}"})
    return pairs_from_narratives(pd.DataFrame(rows), n_translation=2, n_claim=2, seed=3)


def test_pairs_from_narratives_pairs_translations_and_other_quotes(quote_pairs: pd.DataFrame) -> None:
    assert quote_pairs["kind"].tolist() == ["translation", "translation", "claim", "claim"]
    for row in quote_pairs.itertuples():
        cn_quote, ru_quote = row.cn_text.split()[1], row.ru_text.split()[1]
        assert (cn_quote == ru_quote) == (row.kind == "translation")
        assert {cn_quote, ru_quote} <= {"0", "1"} or {cn_quote, ru_quote} <= {"2", "3"}  # one claim


def test_inject_events_is_seeded_and_places_pairs_at_their_lags(
    background: pd.DataFrame, quote_pairs: pd.DataFrame, tmp_path: Path
) -> None:
    feed, truth = inject_events(background, quote_pairs, lags=[1.5, 30.0], seed=7)
    again, truth_again = inject_events(background, quote_pairs, lags=[1.5, 30.0], seed=7)
    assert feed.equals(again)
    assert truth.equals(truth_again)
    other, _ = inject_events(background, quote_pairs, lags=[1.5, 30.0], seed=8)
    assert not feed.equals(other)

    assert len(feed) == len(background) + 2 * len(quote_pairs)
    assert not set(truth["id"]) & set(background["id"])
    stamps = pd.to_datetime(feed.set_index("id")["published_at"], utc=True)
    assert stamps.is_monotonic_increasing
    for k, (_, event) in enumerate(truth.groupby("event_id", sort=True)):
        blocs = feed.set_index("id").loc[event["id"], "bloc"].tolist()
        assert sorted(blocs) == ["cn", "ru"]
        times = dict(zip(blocs, stamps.loc[event["id"]], strict=True))
        lag_hours = (times["ru"] - times["cn"]).total_seconds() / 3600
        leader = event["leader"].iloc[0]
        assert leader == ("cn" if k % 2 == 0 else "ru")
        assert lag_hours == pytest.approx([1.5, 30.0][k % 2] * (1 if leader == "cn" else -1))
    feed_path, truth_path = write_event_set(feed, truth, tmp_path / "held" / "set_a")
    assert classify_files([str(feed_path)]).feeds == ((feed_path, truth_path),)
    _, events = load_feed_events(feed_path, truth_path)
    assert len(events) == 4
    assert all(len(e.cn_ids) == len(e.ru_ids) == 1 for e in events)


def test_inject_events_rejects_a_lag_longer_than_the_background(
    background: pd.DataFrame, quote_pairs: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        inject_events(background, quote_pairs, lags=[24 * 365], seed=0)


def test_bury_events_hides_one_side_inside_a_days_items_as_one_document(
    background: pd.DataFrame, quote_pairs: pd.DataFrame
) -> None:
    feed, truth = inject_events(background, quote_pairs, lags=[1.5, 30.0], seed=7)
    host = "Xinhua"
    hosts = feed[(feed["outlet"] == host) & ~feed["id"].isin(truth["id"])]
    n_days = pd.to_datetime(hosts["published_at"], utc=True).dt.normalize().nunique()
    buried_feed, buried_truth = bury_events(feed, truth, host, seed=1)
    again, _ = bury_events(feed, truth, host, seed=1)
    assert buried_feed.equals(again)

    buried = buried_truth[buried_truth["kind"].str.startswith("buried ")]
    n_buried = min(n_days, len(quote_pairs))
    assert buried["event_id"].nunique() == n_buried
    assert set(buried_truth["id"]) == set(truth["id"])  # ids, hence the truth's pairs, are kept
    by_id = buried_feed.set_index("id")
    original = feed.set_index("id")
    cn_ids = set(feed[feed["bloc"] == "cn"]["id"])
    for event_id in buried["event_id"].unique():
        (cn_id,) = [i for i in truth[truth["event_id"] == event_id]["id"] if i in cn_ids]
        document = by_id.loc[cn_id]
        paragraphs = document["text"].split("\n\n")
        assert paragraphs.index(original.loc[cn_id, "text"]) >= 1  # buried after another item
        assert document["outlet"] == host
        assert document["published_at"] == original.loc[cn_id, "published_at"]
    # The host's items that went into documents are gone as separate items; nothing else is.
    assert len(buried_feed) < len(feed)
    assert set(feed["id"]) - set(buried_feed["id"]) <= set(hosts["id"])
    with pytest.raises(ValueError, match="no items of outlet"):
        bury_events(feed, truth, "Nobody", seed=1)


def test_tuned_config_round_trips_through_toml(tmp_path: Path, default_config: Config) -> None:
    tuned = set_param(default_config, "score.min_similarity_by_language_pair.en-ru", 0.45)
    tuned = set_param(tuned, "score.max_lag_hours", 48.0)
    path = tmp_path / "elsewhere" / "tuned.toml"
    write_config(tuned, ["measured: something", ""], path)
    loaded = load_config(path)
    assert loaded.method_hash() == tuned.method_hash()  # every method key survived, paths aside
    assert loaded.score.min_similarity_by_language_pair == {"en-ru": 0.45}
    assert Path(loaded.setting("ingest", "registry")).is_file()  # the registry path still resolves
    assert path.read_text().startswith("# measured: something\n#\n")


def test_search_space_covers_every_swept_key_and_the_language_pairs(default_config: Config) -> None:
    space = search_space(default_config, {"en-ru", "ru-zh"})
    assert "score.max_lag_hours" in space
    assert "score.min_similarity_by_language_pair.ru-zh" in space
    assert "cluster.window_hours" not in space
    assert "score.target_fdr" in space  # `detector tune --target-fdr` fixes it instead
    assert "score.decoys" not in space  # effort, not a verdict
    for name, grid in space.items():
        section, key = name.split(".")[:2]
        assert len(grid) > 1, name
        assert hasattr(getattr(default_config, section), key)


def test_event_scorer_on_real_pipeline_output(
    tmp_path: Path, default_config: Config, small_feed: Path, truth: pd.DataFrame
) -> None:
    feed_ids = set(pd.read_csv(small_feed, dtype=str)["id"])
    complete = truth.groupby("event_id")["id"].transform(lambda ids: set(ids) <= feed_ids)
    truth_path = small_feed.with_name("small_truth.csv")
    truth[complete.astype(bool)].to_csv(truth_path, index=False)
    run = evaluate_feed(default_config, small_feed, truth_path, tmp_path / "eval.duckdb", tmp_path / "out")
    s = run.scores
    assert s.events_by_kind == {"claim": 2, "translation": 5}
    assert s.found_by_kind["translation"] >= 4  # the pipeline's e2e test holds it to the same bar
    assert s.leader_accuracy == pytest.approx(1.0)
    flagged = pd.read_csv(tmp_path / "out" / "flags.csv", encoding="utf-8-sig")
    assert s.n_flagged == len(flagged)
    assert s.false_flags_per_1000 == pytest.approx(1000 * s.n_false_flags / run.run.n_articles)
    assert feed_store(tmp_path / "eval.duckdb", small_feed).is_file()


def test_parallel_sample_is_evaluated_per_language_pair(default_config: Config, tmp_path: Path) -> None:
    """The NTREX-128 sample (real human translations): every cross-lingual pair of en, ar, es, fr,
    ru, zh gets a row, and translations of one sentence score above sentences of other stories."""
    from detector.evaluate.data import load_parallel
    from detector.evaluate.harness import evaluate

    lines = Path(__file__).resolve().parents[2] / "data" / "parallel" / "ntrex128" / "lines.tsv"
    files = classify_files([str(lines)])
    assert files.parallel == lines
    sample = load_parallel(lines)
    assert sample.groupby("language").size().to_dict() == dict.fromkeys(
        ("ar", "en", "es", "fr", "ru", "zh"), 35
    )
    result = evaluate(default_config, files, tmp_path / "eval.duckdb", ("pair",), n_pairs=50, seed=0)
    table = result.tables["pairs_parallel_translation"].set_index("language_pair")
    cross = {
        f"{a}-{b}"
        for a in ("ar", "en", "es", "fr", "ru", "zh")
        for b in ("ar", "en", "es", "fr", "ru", "zh")
        if a < b
    }
    assert cross <= set(table.index)
    assert (table.loc[sorted(cross), "n_pos"] == 35).all()
    assert (table.loc[sorted(cross), "mean_sim_pos"] > table.loc[sorted(cross), "mean_sim_neg"]).all()
    assert "pairs_parallel_story" in result.tables
