from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from detector import resources
from detector.config import Config, config_from_dict, load_config
from detector.embed.embedding import EmbeddingStage
from detector.embed.passages import PassageStage
from detector.errors import ConfigError
from detector.index import VectorIndex
from detector.limits import MemoryGuard
from detector.narratives.cluster import WindowClusterer
from detector.narratives.density import Hdbscan
from detector.narratives.groupers import make_grouper
from detector.narratives.sync_graph import SyncGraph
from detector.pipeline.engine import make_engine
from detector.pipeline.ray_engine import RayEngine
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader
from detector.sources.registry import OutletRegistry
from detector.themes.stage import ThemeStage
from detector.verdicts.rules import VerdictRules
from detector.watch import NarrativeTracker
from tests.conftest import DEFAULT_CONFIG, ROOT


def test_shipped_default_config_equals_built_in_defaults() -> None:
    shipped = load_config(DEFAULT_CONFIG)
    # Its registry names the packaged registry itself, which is what the built-in "" means.
    assert Path(shipped.setting("ingest", "registry")) == resources.packaged(resources.REGISTRY).resolve()
    assert Config().ingest.registry == ""
    assert shipped.override("ingest", registry="").to_dict() == Config().to_dict()


# Each section: the constructor it is derived from, the parameters that are not config keys, and
# the keys that belong to no constructor (their defaults are written in detector/config.py).
SECTIONS = [
    ("ingest", FeedReader, {"registry"}, {"registry"}),
    ("store", None, set(), {"path"}),
    ("embed", EmbeddingStage, {"embedder"}, set()),
    ("passages", PassageStage, {"embedding"}, {"unit"}),
    ("index", VectorIndex, {"seed"}, set()),
    ("cluster", WindowClusterer, {"grouper"}, {"grouper", "sync_graph", "hdbscan"}),
    ("cluster.sync_graph", SyncGraph, {"searcher"}, set()),
    ("cluster.hdbscan", Hdbscan, {"random_state"}, set()),
    ("score", SyncScorer, {"random_state"}, set()),
    ("links", LinkClassifier, {"registry"}, set()),
    ("run", None, set(), {"seed"}),
    ("limits", MemoryGuard, set(), set()),
    ("engine", RayEngine, set(), {"kind"}),
    ("watch", NarrativeTracker, {"permutations", "null_span_hours", "random_state"}, {"watchlist"}),
    ("review", VerdictRules, set(), set()),
    ("themes", ThemeStage, {"random_state"}, {"enabled"}),
]


def test_every_section_is_listed_here() -> None:
    assert [s for s, *_ in SECTIONS if "." not in s] == list(Config().to_dict())
    tables = [s for s, *_ in SECTIONS if "." in s]
    assert tables == [f"cluster.{t}" for t in Config().cluster.subsections]


@pytest.mark.parametrize(("section", "component", "not_keys", "own"), SECTIONS)
def test_every_config_default_is_the_constructor_default(
    section: str, component: type | None, not_keys: set[str], own: set[str]
) -> None:
    values = dataclasses.asdict(Config().part(section))
    params = {} if component is None else dict(inspect.signature(component).parameters)
    assert set(values) == (set(params) - not_keys) | own
    for key in set(values) - own:
        default = params[key].default
        assert values[key] == ({} if default is None else default), f"[{section}] {key}"
        assert type(values[key]) is type({} if default is None else default), f"[{section}] {key}"


@pytest.mark.parametrize(("section", "component", "not_keys", "own"), SECTIONS)
def test_every_config_constraint_is_the_constructor_constraint(
    section: str, component: type | None, not_keys: set[str], own: set[str]
) -> None:
    table = getattr(component, "parameter_constraints", {})
    for f in dataclasses.fields(Config().part(section)):
        if f.name in table:
            assert dict(f.metadata) == table[f.name].metadata()
        else:
            assert f.name in own or not f.metadata, f"[{section}] {f.name} has no constraint to read"


def test_the_tracker_takes_the_scorers_permutation_test() -> None:
    # tracker_for() passes [score] permutations and null_span_hours; library defaults agree too
    for key in ("permutations", "null_span_hours"):
        assert inspect.signature(NarrativeTracker).parameters[key].default == getattr(Config().score, key)


def test_the_seed_default_is_every_stage_random_state_default() -> None:
    for component in (Hdbscan, SyncScorer, NarrativeTracker):
        assert inspect.signature(component).parameters["random_state"].default == Config().run.seed
    assert inspect.signature(VectorIndex).parameters["seed"].default == Config().run.seed


REGISTRY = OutletRegistry.from_toml(ROOT / "configs" / "outlets.toml")
BAD_ARGUMENTS = [
    (make_grouper, {"name": "sync_graph", "options": {}},
     "[cluster] grouper = 'sync_graph' is not allowed; choose one of ['hdbscan', 'sync-graph']."),
    (SyncGraph, {"min_csls": 3.0}, "[cluster.sync_graph] min_csls = 3.0 is out of range"),
    (WindowClusterer, {"link_overlap": 1.5},
     "[cluster] link_overlap = 1.5 is out of range; use a value in [0.0, 1.0]."),
    (SyncScorer, {"alpha": -0.1}, "[score] alpha = -0.1 is out of range"),
    (SyncScorer, {"top_pairs": "5"}, "[score] top_pairs must be a number in [1, 1000], saw '5'."),
    (PassageStage, {"window_sentences": 2, "overlap_sentences": 2},
     "[passages] overlap_sentences = 2 must be smaller than window_sentences = 2."),
    (VectorIndex, {"kind": "ivfpq"}, "[index] kind = 'ivfpq' is not allowed; choose one of ['auto', 'flat'"),
    (VectorIndex, {"nprobe": 0}, "[index] nprobe = 0 is out of range"),
    (EmbeddingStage, {"backend": "openai"},
     "[embed] backend = 'openai' is not allowed; choose one of ['use-multilingual', 'use-multilingual-int8'"),
    (LinkClassifier, {"registry": REGISTRY, "citation_window_chars": -1},
     "[links] citation_window_chars = -1 is out of range"),
    (FeedReader, {"registry": REGISTRY, "on_bad_row": "ignore"},
     "[ingest] on_bad_row = 'ignore' is not allowed; choose one of ['error', 'skip']."),
    (MemoryGuard, {"max_memory_gb": -1.0}, "[limits] max_memory_gb = -1.0 is out of range"),
    (RayEngine, {"shard_texts": 0}, "[engine] shard_texts = 0 is out of range"),
    (make_engine, {"kind": "dask"}, "[engine] kind = 'dask' is not allowed; choose one of ['local', 'ray']."),
]  # fmt: skip


@pytest.mark.parametrize(("component", "arguments", "message"), BAD_ARGUMENTS)
def test_library_code_gets_the_config_error_too(component: type, arguments: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        component(**arguments)


def test_a_config_only_key_is_checked_too() -> None:
    message = "[passages] unit = 'sentence' is not allowed; choose one of ['article', 'passage']."
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict({"passages": {"unit": "sentence"}})


def test_a_config_file_and_library_code_get_the_same_message() -> None:
    with pytest.raises(ConfigError) as from_library:
        WindowClusterer(link_overlap=1.5)
    with pytest.raises(ConfigError) as from_config:
        config_from_dict({"cluster": {"link_overlap": 1.5}}, where="my.toml")
    assert str(from_config.value) == f"my.toml: {from_library.value}"


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
        (
            {"cluster": {"hdbscan": {"min_cluster_size": "2"}}},
            r"\[cluster.hdbscan\] min_cluster_size must be a number",
        ),
        ({"cluster": {"grouper": "sync_graph"}}, r"choose one of \['sync-graph', 'hdbscan'\]"),
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
