"""Groupers are objects chosen by ``[cluster] grouper``: a new one is a class and its registration
(nothing in detector/narratives/cluster.py changes), and the flat keys of the old layout still load
for one release, each with a warning that names its new key."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from detector.config import config_from_dict, load_config
from detector.errors import ConfigError
from detector.narratives import groupers
from detector.narratives.cluster import Window
from detector.narratives.density import Hdbscan
from detector.narratives.groupers import register_grouper
from detector.narratives.sync_graph import SyncGraph
from detector.params import Constraint, Interval, validate_params
from detector.pipeline.stages import Stages
from tests.conftest import DEFAULT_CONFIG

CONFIGS = str(DEFAULT_CONFIG.parent)  # the registry path resolves as in the shipped config


class OneStory:
    """An example grouper: every window that holds at least ``min_articles`` articles of both
    blocs is one narrative of all its articles."""

    parameter_section: ClassVar[str] = "cluster.one_story"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {"min_articles": Interval(2, 100)}

    def __init__(self, min_articles: int = 2) -> None:
        self.min_articles = min_articles
        validate_params(self)

    def prepare(
        self,
        vectors: np.ndarray,
        blocs: np.ndarray | None,
        times: np.ndarray | None,
        units: tuple[np.ndarray, np.ndarray] | None,
        lag_hours: float,
    ) -> np.ndarray:
        assert blocs is not None
        return blocs

    def group(self, prepared: Any, vectors: np.ndarray, bounds: tuple[int, int]) -> pd.DataFrame:
        lo, hi = bounds
        blocs = set(prepared[lo:hi])
        rows = np.arange(hi - lo) if {"cn", "ru"} <= blocs and hi - lo >= self.min_articles else np.arange(0)
        return pd.DataFrame({"label": 0, "row": rows, "strength": 1.0})


@pytest.fixture
def one_story() -> Iterator[None]:
    register_grouper("one-story", OneStory)
    yield
    del groupers.GROUPERS["one-story"]


def test_a_grouper_registered_outside_the_package_is_configured_and_runs(one_story: None) -> None:
    config = config_from_dict(
        {"cluster": {"grouper": "one-story", "one_story": {"min_articles": 3}}}, base_dir=CONFIGS
    )
    assert config.to_dict()["cluster"]["one_story"] == {"min_articles": 3}
    clusterer = Stages.from_config(config).clusterer
    assert isinstance(clusterer.grouper, OneStory)
    assert clusterer.grouper.min_articles == 3
    times = pd.to_datetime(
        ["2022-03-16T01:00Z", "2022-03-16T02:00Z", "2022-03-16T03:00Z", "2022-03-20T03:00Z"]
    )
    articles = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "bloc": ["cn", "ru", "cn", "ru"], "published_at": times}
    )
    vectors = np.eye(4, dtype=np.float32)
    window = Window(datetime(2022, 3, 15, tzinfo=UTC), datetime(2022, 3, 18, tzinfo=UTC))
    clusters, _ = clusterer.run(
        articles, vectors, [window], lambda w: pd.DataFrame(columns=["narrative_id", "article_id"])
    )
    assert sorted(clusters["article_id"]) == ["a", "b", "c"]
    assert clusters["narrative_id"].nunique() == 1
    with pytest.raises(ConfigError, match=r"\[cluster.one_story\] min_articles = 1 is out of range"):
        config_from_dict({"cluster": {"grouper": "one-story", "one_story": {"min_articles": 1}}})


def test_the_built_in_groupers_are_built_from_their_tables() -> None:
    config = config_from_dict(
        {"cluster": {"grouper": "hdbscan", "hdbscan": {"pca_dims": 0}}, "run": {"seed": 7}}, base_dir=CONFIGS
    )
    grouper = Stages.from_config(config).clusterer.grouper
    assert isinstance(grouper, Hdbscan)
    assert (grouper.pca_dims, grouper.random_state) == (0, 7)
    sync = Stages.from_config(load_config(DEFAULT_CONFIG)).clusterer.grouper
    assert isinstance(sync, SyncGraph)
    assert sync.searcher is not None


def test_the_flat_keys_still_load_with_a_warning_naming_the_new_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.warns(DeprecationWarning, match="deprecated") as warned:
        old = config_from_dict(
            {"cluster": {"method": "hdbscan", "csls_k": 4, "pca_dims": 0}}, where="old.toml"
        )
    new = config_from_dict(
        {"cluster": {"grouper": "hdbscan", "sync_graph": {"csls_k": 4}, "hdbscan": {"pca_dims": 0}}}
    )
    assert old == new
    messages = [str(w.message) for w in warned]
    method = "[cluster] method is deprecated and will be refused in the next release; use [cluster] grouper."
    assert f"old.toml: {method}" in messages
    assert any(
        "[cluster] csls_k is deprecated" in m and "use [cluster.sync_graph] csls_k" in m for m in messages
    )
    assert any("use [cluster.hdbscan] pca_dims" in r.getMessage() for r in caplog.records)


def test_the_shipped_config_uses_the_new_layout() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        load_config(DEFAULT_CONFIG)
