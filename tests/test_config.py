from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from detector.config import Config, config_from_dict, load_config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageStage
from detector.errors import ConfigError
from detector.index import CrossBlocSearcher
from detector.narratives.cluster import WindowClusterer
from detector.pipeline.engine import make_engine
from detector.pipeline.limits import MemoryGuard
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader
from detector.store.store import Store
from tests.conftest import DEFAULT_CONFIG


def test_shipped_default_config_equals_built_in_defaults() -> None:
    assert load_config(DEFAULT_CONFIG).to_dict() == Config().to_dict()


@pytest.mark.parametrize(
    ("section", "component", "extra"),
    [
        ("ingest", FeedReader, {"registry"}),
        ("store", Store, set()),
        ("embed", EmbeddingStage, {"embedder"}),
        ("passages", PassageStage, {"embedding"}),
        ("index", CrossBlocSearcher, set()),
        ("cluster", WindowClusterer, {"random_state", "searcher"}),
        ("score", SyncScorer, {"random_state"}),
        ("links", LinkClassifier, {"registry"}),
        ("limits", MemoryGuard, set()),
        ("engine", make_engine, set()),
    ],
)
def test_every_config_key_is_a_constructor_argument(section: str, component: type, extra: set[str]) -> None:
    keys = {f.name for f in dataclasses.fields(getattr(Config(), section))}
    params = set(inspect.signature(component).parameters) - {"self"}
    assert keys - {"registry"} <= params
    assert params - keys <= extra


def test_unknown_key_names_the_key_and_suggests() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown key in \[score\] 'max_lag_hour'.*Did you mean 'max_lag_hours'"
    ):
        config_from_dict({"score": {"max_lag_hour": 10}})


def test_unknown_section_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown section 'scoring'"):
        config_from_dict({"scoring": {}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"score": {"min_similarity": 1.5}}, r"min_similarity = 1.5 is out of range"),
        ({"cluster": {"min_cluster_size": "2"}}, r"must be a number"),
        ({"ingest": {"on_bad_row": "ignore"}}, r"choose one of \['error', 'skip'\]"),
        ({"passages": {"window_sentences": 2, "overlap_sentences": 2}}, r"must be smaller than"),
    ],
)
def test_bad_values_say_what_was_seen_and_what_is_allowed(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)


def test_method_hash_ignores_threads_but_not_thresholds() -> None:
    base = Config().method_hash()
    assert config_from_dict({"embed": {"threads": 1}}).method_hash() == base
    assert config_from_dict({"engine": {"kind": "ray", "workers": 2}}).method_hash() == base
    assert config_from_dict({"score": {"min_similarity": 0.6}}).method_hash() != base


def test_bad_toml_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[score\nmin_similarity = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_config_hash_covers_every_key_and_is_stable() -> None:
    base = config_from_dict({})
    assert base.config_hash() == config_from_dict({}).config_hash()
    assert len(base.config_hash()) == 64
    # Threads do not change results (method hash) but are still part of the configuration.
    threads = config_from_dict({"embed": {"threads": 1}})
    assert threads.method_hash() == base.method_hash()
    assert threads.config_hash() != base.config_hash()
