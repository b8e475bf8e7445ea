"""Typed, frozen configuration loaded from TOML, derived from the stages' constructors.

Every section is the constructor of the stage that consumes it (``[cluster]`` ->
:class:`detector.narratives.cluster.WindowClusterer`, ``[score]`` ->
:class:`detector.scoring.score.SyncScorer`, ...): its keys, types and defaults are read from that
constructor's signature, and its allowed values from the class's ``parameter_constraints``, so each
default and each range is written once, where the stage is. A few keys belong to no constructor
(``[ingest] registry``, ``[store] path``, ``[run] seed``, ``[engine] kind``) and are declared here.
Because it is made from the stages, this module sits above them: stage packages never import it.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import inspect
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from detector.embed.embedding import MODEL_SHORTCUTS, EmbeddingStage
from detector.embed.passages import UNITS, PassageStage
from detector.errors import ConfigError
from detector.index import VectorIndex
from detector.narratives.cluster import WindowClusterer
from detector.params import Constraint, Interval, OneOf, check_params
from detector.pipeline.engine import ENGINE_CONSTRAINTS
from detector.pipeline.limits import MemoryGuard
from detector.pipeline.ray_engine import RayEngine
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader
from detector.themes.stage import ThemeStage
from detector.watch.track import NarrativeTracker


@dataclass(frozen=True)
class Section:
    """One ``[section]``: a frozen dataclass of a stage constructor's parameters, checked against
    the stage's constraint table when it is made."""

    section_name: ClassVar[str] = ""
    constraints: ClassVar[dict[str, Constraint]] = {}

    def __post_init__(self) -> None:
        check_params(self.section_name, vars(self), self.constraints)

    def __getattr__(self, key: str) -> Any:
        # Only reached for a key the section lacks (its fields are made at import time, which
        # static type checkers cannot see; this tells them any key may exist).
        raise AttributeError(f"[{self.section_name}] has no key {key!r}")


def section(
    name: str,
    component: Callable[..., Any] | None,
    *,
    skip: tuple[str, ...] = (),
    own: dict[str, tuple[Any, Constraint | None]] | None = None,
) -> type[Section]:
    """The ``[name]`` section class: the keys in ``own`` (``key: (default, constraint)``, keys no
    constructor has), then every parameter of ``component`` except ``skip``, with its default and
    the constraint its class declares."""
    table: dict[str, Constraint] = dict(getattr(component, "parameter_constraints", {}))
    table |= {key: c for key, (_, c) in (own or {}).items() if c is not None}
    keys: list[tuple[str, Any, Any]] = [
        (key, type(default), default) for key, (default, _) in (own or {}).items()
    ]
    for p in inspect.signature(component).parameters.values() if component else []:
        if p.name not in skip and p.kind is not inspect.Parameter.VAR_KEYWORD:
            keys.append((p.name, p.annotation, p.default))
    table = {key: table[key] for key, _, _ in keys if key in table}
    fields = [
        # A dict parameter defaults to None (no overrides): its key defaults to an empty table.
        (key, kind, field(default_factory=dict) if default is None and str(kind).startswith("dict")
         else field(default=default, metadata=table[key].metadata() if key in table else None))
        for key, kind, default in keys
    ]  # fmt: skip
    where = f"the arguments of :class:`{component.__module__}.{component.__qualname__}`" if component else ""
    return dataclasses.make_dataclass(
        f"{name.title()}Config",
        fields,
        bases=(Section,),
        frozen=True,
        namespace={"section_name": name, "constraints": table, "__doc__": f"``[{name}]``: {where}"},
    )


IngestConfig = section("ingest", FeedReader, skip=("registry",), own={"registry": ("outlets.toml", None)})
StoreConfig = section("store", None, own={"path": ("", None)})  # "" = <out>/detector.duckdb
EmbedConfig = section("embed", EmbeddingStage, skip=("embedder",))
PassageConfig = section(
    "passages", PassageStage, skip=("embedding",), own={"unit": ("passage", OneOf(UNITS))}
)
IndexConfig = section("index", VectorIndex, skip=("seed",))
ClusterConfig = section("cluster", WindowClusterer, skip=("random_state", "searcher"))
ScoreConfig = section("score", SyncScorer, skip=("random_state",))
LinksConfig = section("links", LinkClassifier, skip=("registry",))
RunConfig = section("run", None, own={"seed": (0, Interval(0, 2**31 - 1))})
LimitsConfig = section("limits", MemoryGuard)
EngineConfig = section("engine", RayEngine, own={"kind": ("local", ENGINE_CONSTRAINTS["kind"])})
# Permutations, null span and seed are shared with the discovered narratives' scorer.
WatchConfig = section(
    "watch",
    NarrativeTracker,
    skip=("permutations", "null_span_hours", "random_state"),
    own={"watchlist": ("", None)},  # a watchlist TOML the daily run tracks; "" = none
)
ThemesConfig = section("themes", ThemeStage, skip=("random_state",), own={"enabled": (True, None)})


@dataclass(frozen=True)
class Config:
    """The whole resolved configuration. ``base_dir`` anchors relative paths (the config's folder)."""

    ingest: Section = field(default_factory=IngestConfig)
    store: Section = field(default_factory=StoreConfig)
    embed: Section = field(default_factory=EmbedConfig)
    passages: Section = field(default_factory=PassageConfig)
    index: Section = field(default_factory=IndexConfig)
    cluster: Section = field(default_factory=ClusterConfig)
    score: Section = field(default_factory=ScoreConfig)
    links: Section = field(default_factory=LinksConfig)
    run: Section = field(default_factory=RunConfig)
    limits: Section = field(default_factory=LimitsConfig)
    engine: Section = field(default_factory=EngineConfig)
    watch: Section = field(default_factory=WatchConfig)
    themes: Section = field(default_factory=ThemesConfig)
    base_dir: str = "."

    def arguments(self, section: str) -> dict[str, Any]:
        """``[section]`` as keyword arguments of its stage, with the keys that name files
        (:data:`PATH_KEYS`) resolved against the config's folder: the one place relative paths
        are resolved. Empty paths stay empty (each key says what empty means)."""
        values = dataclasses.asdict(getattr(self, section))
        for key in PATH_KEYS.get(section, ()):
            if values[key] and values[key] not in MODEL_SHORTCUTS:
                path = Path(values[key]).expanduser()
                values[key] = str((Path(self.base_dir) / path).resolve())
        return values

    def override(self, section: str, **values: Any) -> Config:
        """A copy with ``values`` replacing keys of ``[section]`` (checked like a config file's)."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section), **values)})

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        return data

    def config_hash(self) -> str:
        """sha256 of the whole resolved config as canonical JSON: two runs with equal hashes were
        configured identically (paths and threads included, unlike :meth:`method_hash`)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def method_hash(self) -> str:
        """Hash of everything that changes results (not paths, threads or batch sizes).

        Cluster rows in the store are keyed by it, so two configs never overwrite each other.
        """
        data = self.to_dict()
        data.pop("themes")  # themes change no cluster or flag: a run's id stays what it was without them
        for section, keys in _NOT_IN_METHOD.items():
            for key in keys:
                data[section].pop(key, None)
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# Keys that name a file or folder: relative values are relative to the config file's folder.
PATH_KEYS = {
    "ingest": ("registry",),
    "store": ("path",),
    "embed": ("model_path",),
    "engine": ("shard_dir",),
    "watch": ("watchlist",),
}
_SECTIONS: dict[str, type[Section]] = {
    "ingest": IngestConfig,
    "store": StoreConfig,
    "embed": EmbedConfig,
    "passages": PassageConfig,
    "index": IndexConfig,
    "cluster": ClusterConfig,
    "score": ScoreConfig,
    "links": LinksConfig,
    "run": RunConfig,
    "limits": LimitsConfig,
    "engine": EngineConfig,
    "watch": WatchConfig,
    "themes": ThemesConfig,
}
_NOT_IN_METHOD = {
    # The size limits and the sheet only decide which rows are read, and the rows are in the run id.
    "ingest": (
        "registry",
        "on_bad_row",
        "max_field_chars",
        "max_file_mb",
        "max_line_chars",
        "max_json_depth",
        "sheet",
    ),
    "store": ("path",),
    "embed": ("batch_size", "threads", "model_path"),
    "index": ("threads",),
    "limits": ("max_memory_gb",),
    "engine": tuple(f.name for f in dataclasses.fields(EngineConfig)),
    "watch": tuple(f.name for f in dataclasses.fields(WatchConfig)),  # reports only, not clusters
}


def _unknown(kind: str, name: str, allowed: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{where}: unknown {kind} '{name}'.{hint} Allowed: {', '.join(allowed)}.")


def config_from_dict(data: dict[str, Any], *, base_dir: str = ".", where: str = "config") -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections and keys."""
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name not in _SECTIONS:
            raise _unknown("section", name, sorted(_SECTIONS), where)
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of keys, saw {values!r}.")
        cls = _SECTIONS[name]
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in allowed:
                raise _unknown(f"key in [{name}]", key, allowed, where)
        try:
            sections[name] = cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return Config(**sections, base_dir=base_dir)


def load_config(path: str | Path | None) -> Config:
    """Load a TOML config; ``None`` gives the built-in defaults (same as ``configs/default.toml``)."""
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist. Pass --config configs/default.toml.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    return config_from_dict(data, base_dir=str(path.resolve().parent), where=str(path))
