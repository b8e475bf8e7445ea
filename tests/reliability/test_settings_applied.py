"""Settings apply whatever form the feed writes its languages in, and the run id changes with
every article field that changes results (and only with those)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from detector.config import Config
from detector.pipeline.daily import read_feeds, run_daily, run_id_for
from tests.reliability import harness
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e
BCP47 = {"zh": "zh-CN", "ru": "ru-RU", "en": "en-GB"}


def test_a_language_pair_threshold_applies_to_regional_tags(
    reference: Reference, default_config: Config, tmp_path: Path
) -> None:
    feed = pd.read_csv(reference.feed, dtype=str, keep_default_na=False)
    tagged = tmp_path / "tagged.csv"
    feed.assign(language=feed["language"].map(BCP47)).to_csv(tagged, index=False)
    score = replace(default_config.score, min_similarity_by_language_pair={"ru-zh": 0.7})  # stricter
    strict = replace(default_config, score=score)
    runs = {}
    for name, config, path in [("default", default_config, reference.feed), ("plain", strict, reference.feed),
                               ("tagged", strict, tagged)]:  # fmt: skip
        store = tmp_path / f"{name}.duckdb"
        harness.warm_copy(reference.store, store)
        runs[name] = run_daily(config, [str(path)], tmp_path / name, store)
    flags = {name: pd.read_csv(tmp_path / name / "flags.csv", encoding="utf-8-sig") for name in runs}
    # The threshold has an effect: it removes the narratives whose best pair is ru-zh ...
    assert runs["plain"].n_flags < runs["default"].n_flags
    assert flags["default"]["languages"].str.contains("zh").any()
    assert not flags["plain"]["languages"].str.contains("zh").any()
    # ... and the same effect when the feed says zh-CN and ru-RU: the same input, the same run.
    assert runs["tagged"].run_id == runs["plain"].run_id
    for name in ("flags.csv", "members.csv", "pairs.csv"):
        assert (tmp_path / "tagged" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    members = pd.read_csv(tmp_path / "default" / "members.csv", encoding="utf-8-sig")
    assert set(members["language"]) <= {"en", "ru", "zh"}


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("outlet", lambda v: "TASS" if v != "TASS" else "RT"),
        ("bloc", lambda v: "control"),
        ("language", lambda v: "fr"),
        ("published_at", lambda v: (pd.Timestamp(v) + pd.Timedelta(minutes=1)).isoformat()),
        ("title", lambda v: v + " (updated)"),
        ("text", lambda v: v + " Updated."),
        ("url", lambda v: v + "?utm=1"),
    ],
)
def test_the_run_id_changes_with_every_field_that_changes_results(
    reference: Reference, default_config: Config, tmp_path: Path, field: str, edit: object
) -> None:
    feed = pd.read_csv(reference.feed, dtype=str, keep_default_na=False)
    method = default_config.method_hash()
    before = run_id_for(method, read_feeds(default_config, [str(reference.feed)]).articles)
    row = feed.index[feed["bloc"] == "ru"][0]
    edited = feed.copy()
    edited.loc[row, field] = edit(edited.loc[row, field])  # type: ignore[operator]
    path = tmp_path / "edited.csv"
    edited.to_csv(path, index=False)
    assert run_id_for(method, read_feeds(default_config, [str(path)]).articles) != before
    # Writing the same languages as regional tags, or the rows in another order, is the same input.
    same = feed.assign(language=feed["language"].map(BCP47)).iloc[::-1]
    same.to_csv(path, index=False)
    assert run_id_for(method, read_feeds(default_config, [str(path)]).articles) == before
