"""Typed, frozen configuration loaded from TOML.

Every section maps 1:1 onto the constructor of the stage that consumes it (``[embed]`` ->
:func:`detector.embed.make_embedder`, ``[cluster]`` -> :class:`detector.cluster.WindowClusterer`,
...), and every key onto one documented argument. Checks are declarative: each field carries its
allowed range or choices in ``metadata``, and one validator enforces them for every section.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.errors import ConfigError


def _range(lo: float, hi: float, default: Any) -> Any:
    return field(default=default, metadata={"range": (lo, hi)})


def _choice(choices: tuple[str, ...], default: str) -> Any:
    return field(default=default, metadata={"choices": choices})


class _Section:
    """Validates the ``range``/``choices`` metadata of every field after construction."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            name = f"[{_SECTION_OF[type(self)]}] {f.name}"
            if "range" in f.metadata:
                lo, hi = f.metadata["range"]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{name} must be a number in [{lo}, {hi}], saw {value!r}.")
                if not lo <= value <= hi:
                    raise ConfigError(f"{name} = {value!r} is out of range; use a value in [{lo}, {hi}].")
            if "choices" in f.metadata and value not in f.metadata["choices"]:
                raise ConfigError(
                    f"{name} = {value!r} is not allowed; choose one of {list(f.metadata['choices'])}."
                )


@dataclass(frozen=True)
class IngestConfig(_Section):
    """Arguments of :class:`detector.ingest.FeedReader`."""

    registry: str = "outlets.toml"
    default_timezone: str = "UTC"
    on_bad_row: str = _choice(("error", "skip"), "error")
    max_text_chars: int = _range(1, 10_000_000, 200_000)


@dataclass(frozen=True)
class StoreConfig(_Section):
    """Arguments of :class:`detector.store.Store`."""

    path: str = ""


@dataclass(frozen=True)
class EmbedConfig(_Section):
    """Arguments of :func:`detector.embed.make_embedder`."""

    backend: str = _choice(
        ("use-multilingual", "use-multilingual-int8", "sentence-transformers"), "use-multilingual"
    )
    model_path: str = ""
    max_chars: int = _range(16, 100_000, 2000)
    batch_size: int = _range(1, 4096, 64)
    threads: int = _range(1, 256, 2)


@dataclass(frozen=True)
class PassageConfig(_Section):
    """Arguments of :class:`detector.passages.PassageStage`."""

    unit: str = _choice(("article", "passage"), "passage")
    max_chars: int = _range(16, 100_000, 1000)
    min_chars: int = _range(0, 100_000, 50)
    window_sentences: int = _range(1, 1000, 4)
    overlap_sentences: int = _range(0, 999, 1)
    max_passages: int = _range(1, 100_000, 200)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.overlap_sentences >= self.window_sentences:
            raise ConfigError(
                f"[passages] overlap_sentences = {self.overlap_sentences} must be smaller than "
                f"window_sentences = {self.window_sentences}."
            )


@dataclass(frozen=True)
class IndexConfig(_Section):
    """Arguments of :class:`detector.index.CrossBlocSearcher`."""

    kind: str = _choice(("auto", "flat", "ivf", "ivf_sq8", "hnsw"), "auto")
    threads: int = _range(1, 256, 2)
    nprobe: int = _range(1, 65_536, 16)
    hnsw_ef_search: int = _range(1, 65_536, 64)
    auto_exact_max: int = _range(0, 2**40, 200_000)


@dataclass(frozen=True)
class ClusterConfig(_Section):
    """Arguments of :class:`detector.cluster.WindowClusterer` (``random_state`` comes from
    ``[run] seed``)."""

    method: str = _choice(("sync-graph", "hdbscan"), "sync-graph")
    window_hours: int = _range(1, 24 * 365, 72)
    step_hours: int = _range(1, 24 * 365, 24)
    csls_k: int = _range(1, 1000, 5)
    mutual_rank: int = _range(1, 1000, 3)
    min_csls: float = _range(-2.0, 2.0, 0.25)
    passage_min_csls: float = _range(-2.0, 2.0, 0.2)
    passage_min_similarity: float = _range(-1.0, 1.0, 0.6)
    min_cluster_size: int = _range(2, 10_000, 2)
    min_samples: int = _range(1, 10_000, 1)
    pca_dims: int = _range(0, 4096, 50)
    rescue_similarity: float = _range(-1.0, 1.0, 0.8)
    link_overlap: float = _range(0.0, 1.0, 0.3)


@dataclass(frozen=True)
class ScoreConfig(_Section):
    """Arguments of :class:`detector.score.SyncScorer` (``random_state`` comes from ``[run] seed``)."""

    max_lag_hours: float = _range(0.0, 24 * 365, 72.0)
    min_similarity: float = _range(-1.0, 1.0, 0.3)
    min_similarity_by_language_pair: dict[str, float] = field(default_factory=dict)
    min_outlets_per_bloc: int = _range(1, 1000, 1)
    top_pairs: int = _range(1, 1000, 5)
    control_similarity: float = _range(-1.0, 1.0, 0.6)
    control_discount: float = _range(0.0, 1.0, 1.0)
    max_control_share: float = _range(0.0, 1.0, 0.5)
    permutations: int = _range(0, 1_000_000, 1000)
    null_span_hours: float = _range(1.0, 24 * 3650, 720.0)
    alpha: float = _range(0.0, 1.0, 0.15)


@dataclass(frozen=True)
class LinksConfig(_Section):
    """Arguments of :class:`detector.links.LinkClassifier` (``registry`` comes from ``[ingest]``)."""

    republication_similarity: float = _range(-1.0, 1.0, 0.75)
    citation_window_chars: int = _range(0, 10_000, 40)


@dataclass(frozen=True)
class RunConfig(_Section):
    """Run-wide settings."""

    seed: int = _range(0, 2**31 - 1, 0)


@dataclass(frozen=True)
class LimitsConfig(_Section):
    """Arguments of :class:`detector.limits.MemoryGuard`."""

    max_memory_gb: float = _range(0.0, 1_000_000.0, 0.0)


@dataclass(frozen=True)
class EngineConfig(_Section):
    """Arguments of :func:`pipelines.engine.make_engine` (the Ray engine's are those of
    :class:`pipelines.ray_engine.RayEngine`). Where work runs, never what it computes: no key
    is part of the method hash."""

    kind: str = _choice(("local", "ray"), "local")
    address: str = ""
    cpus: int = _range(0, 1_000_000, 0)
    workers: int = _range(0, 1_000_000, 0)
    object_store_mb: int = _range(0, 2**30, 0)
    shard_dir: str = ""
    shard_texts: int = _range(1, 2**31 - 1, 1024)


@dataclass(frozen=True)
class Config:
    """The whole resolved configuration. ``base_dir`` anchors relative paths (the config's folder)."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    passages: PassageConfig = field(default_factory=PassageConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    links: LinksConfig = field(default_factory=LinksConfig)
    run: RunConfig = field(default_factory=RunConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    base_dir: str = "."

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

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
        for section, keys in _NOT_IN_METHOD.items():
            for key in keys:
                data[section].pop(key, None)
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


_SECTIONS: dict[str, type] = {
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
}
_SECTION_OF = {cls: name for name, cls in _SECTIONS.items()}
_NOT_IN_METHOD = {
    "ingest": ("registry", "on_bad_row"),
    "store": ("path",),
    "embed": ("batch_size", "threads", "model_path"),
    "index": ("threads",),
    "limits": ("max_memory_gb",),
    "engine": tuple(f.name for f in dataclasses.fields(EngineConfig)),
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


def language_pair(a: str, b: str) -> str:
    """Canonical, order-free key for a language pair: ``language_pair('ru', 'en') == 'en-ru'``."""
    return "-".join(sorted((a or "und", b or "und")))
