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
import functools
import hashlib
import inspect
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

from detector import resources
from detector.embed.embedding import MODEL_SHORTCUTS, EmbeddingStage
from detector.embed.passages import UNITS, PassageStage
from detector.engine_options import ENGINE_CONSTRAINTS, RayOptions
from detector.errors import ConfigError
from detector.index import VectorIndex
from detector.io import parse_toml
from detector.limits import MemoryGuard
from detector.narratives.cluster import WindowClusterer
from detector.narratives.groupers import CONTEXT, GROUPERS, grouper_factory, section_key
from detector.params import Constraint, Interval, OneOf, check_params
from detector.scoring.links import LinkClassifier
from detector.scoring.score import SyncScorer
from detector.sources.ingest import FeedReader
from detector.themes.stage import ThemeStage
from detector.verdicts.rules import VerdictRules
from detector.watch.track import NarrativeTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Section:
    """One ``[section]``: a frozen dataclass of a stage constructor's parameters, checked against
    the stage's constraint table when it is made."""

    section_name: ClassVar[str] = ""
    constraints: ClassVar[dict[str, Constraint]] = {}
    own_keys: ClassVar[tuple[str, ...]] = ()  # keys of no constructor: read by setting(), not arguments()
    subsections: ClassVar[dict[str, type[Section]]] = {}  # [name.key] tables: [cluster.sync_graph]

    def __post_init__(self) -> None:
        check_params(self.section_name, vars(self), self.constraints)

    def __getattr__(self, key: str) -> Any:
        # Only reached for a key the section lacks (its fields are made at import time, which
        # static type checkers cannot see; this tells them any key may exist).
        raise AttributeError(f"[{self.section_name}] has no key {key!r}")


def section(
    component: Callable[..., Any] | None,
    *,
    name: str = "",
    skip: tuple[str, ...] = (),
    own: dict[str, tuple[Any, Constraint | None]] | None = None,
    subsections: dict[str, type[Section]] | None = None,
) -> type[Section]:
    """The section class of ``component`` (named by its ``parameter_section``; ``name`` for a
    section of no constructor): the keys in ``own`` (``key: (default, constraint)``, keys no
    constructor has), then every parameter of ``component`` except ``skip``, with its default and
    the constraint its class declares, then one table per entry of ``subsections``."""
    name = name or component.parameter_section  # type: ignore[union-attr]
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
    fields += [(key, Section, field(default_factory=cls)) for key, cls in (subsections or {}).items()]
    where = f"the arguments of :class:`{component.__module__}.{component.__qualname__}`" if component else ""
    return dataclasses.make_dataclass(
        f"{name.title()}Config",
        fields,
        bases=(Section,),
        frozen=True,
        namespace={
            "section_name": name,
            "constraints": table,
            "own_keys": tuple(own or ()),
            "subsections": dict(subsections or {}),
            "__doc__": f"``[{name}]``: {where}",
        },
    )


@functools.cache
def _cluster_section(groupers: tuple[str, ...]) -> type[Section]:
    subsections = {section_key(name): section(grouper_factory(name), skip=CONTEXT) for name in groupers}
    own: dict[str, tuple[Any, Constraint | None]] = {"grouper": ("sync-graph", OneOf(groupers))}
    return section(WindowClusterer, skip=("grouper",), own=own, subsections=subsections)


def cluster_section() -> type[Section]:
    """``[cluster]``: the clusterer's keys, ``grouper``, and one ``[cluster.<grouper>]`` table per
    registered grouper (made again when a grouper is registered later, as a test does)."""
    return _cluster_section(tuple(GROUPERS))


# Every section, in file order, declared once: the config's fields, the sections a file may have
# and their keys all come from here (and each constructor's signature).
SECTIONS: dict[str, type[Section]] = {
    # registry: "" = the packaged registry alone; a path: a registry whose outlets extend it
    "ingest": section(FeedReader, skip=("registry",), own={"registry": ("", None)}),
    "store": section(None, name="store", own={"path": ("", None)}),  # "" = <out>/detector.duckdb
    "embed": section(EmbeddingStage, skip=("embedder",)),
    "passages": section(PassageStage, skip=("embedding",), own={"unit": ("passage", OneOf(UNITS))}),
    "index": section(VectorIndex, skip=("seed",)),
    "cluster": cluster_section(),  # as registered at import; section_class() follows later ones
    "score": section(SyncScorer, skip=("random_state",)),
    "links": section(LinkClassifier, skip=("registry",)),
    "run": section(None, name="run", own={"seed": (0, Interval(0, 2**31 - 1))}),
    "limits": section(MemoryGuard),
    "engine": section(RayOptions, own={"kind": ("local", ENGINE_CONSTRAINTS["kind"])}),
    # Permutations, null span and seed are shared with the discovered narratives' scorer.
    "watch": section(
        NarrativeTracker,
        skip=("permutations", "null_span_hours", "random_state"),
        own={"watchlist": ("", None)},  # a watchlist TOML the daily run tracks; "" = none
    ),
    "review": section(VerdictRules),  # docs/review.md: what runs do with analysts' verdicts
    "themes": section(ThemeStage, skip=("random_state",), own={"enabled": (True, None)}),  # docs/method.md §6
}


def section_class(name: str) -> type[Section]:
    return cluster_section() if name == "cluster" else SECTIONS[name]


def _default_section(name: str) -> Section:
    return section_class(name)()


def _with_sections(cls: type[Any]) -> type[Any]:
    """Add one field per entry of :data:`SECTIONS` (before ``base_dir``), defaulting to its defaults."""
    cls.__annotations__ = dict.fromkeys(SECTIONS, "Section") | cls.__annotations__
    for name in SECTIONS:
        setattr(cls, name, field(default_factory=functools.partial(_default_section, name)))
    return cls


@dataclass(frozen=True)
class ConfigSource:
    """Which config a run used: the packaged defaults, a file (with its sha256), or none (the
    constructors' defaults, as a library call with no config gets them)."""

    path: str = ""
    sha256: str = ""
    packaged: bool = False

    def as_dict(self) -> dict[str, Any]:
        """What a manifest records: ``{"packaged": true, ...}`` or the file's path and hash."""
        return {"packaged": self.packaged, "path": self.path or None, "sha256": self.sha256 or None}


@dataclass(frozen=True)
@_with_sections
class Config:
    """The whole resolved configuration: one field per section of :data:`SECTIONS`, ``base_dir``,
    which anchors relative paths (the config's folder), and ``source``, where it was read from
    (:class:`ConfigSource`, for the manifests)."""

    base_dir: str = "."
    source: ConfigSource = field(default_factory=ConfigSource)

    def __getattr__(self, name: str) -> Section:
        # Only reached for a name that is no section (the fields are made from SECTIONS, which
        # static type checkers cannot see; this tells them a section has that type).
        raise AttributeError(f"the config has no section [{name}]")

    def arguments(self, section: str) -> dict[str, Any]:
        """``[section]`` as keyword arguments of its stage: every key but those of no constructor
        (read with :meth:`setting`)."""
        part = self.part(section)
        not_arguments = (*part.own_keys, *part.subsections)
        return {key: value for key, value in self.values(section).items() if key not in not_arguments}

    def part(self, section: str) -> Section:
        """The section ``section`` names: ``"cluster"``, or a table of one, ``"cluster.hdbscan"``."""
        found: Any = self
        for name in section.split("."):
            found = getattr(found, name)
        return cast(Section, found)

    def grouper(self) -> tuple[str, dict[str, Any]]:
        """``[cluster] grouper`` and its options, ``[cluster.<grouper>]``."""
        name = self.cluster.grouper
        return name, self.values(f"cluster.{section_key(name)}")

    def setting(self, section: str, key: str) -> Any:
        """One key of ``[section]``, a path resolved as :meth:`values` resolves it."""
        return self.values(section)[key]

    def values(self, section: str) -> dict[str, Any]:
        """Every key of ``[section]``, with the keys that name files (:data:`PATH_KEYS`) resolved
        against the config's folder: the one place relative paths are resolved. Empty paths stay
        empty (each key says what empty means)."""
        values = dataclasses.asdict(self.part(section))
        for key in PATH_KEYS.get(section, ()):
            if values[key] and values[key] not in MODEL_SHORTCUTS:
                path = Path(values[key]).expanduser()
                values[key] = str((Path(self.base_dir) / path).resolve())
        return values

    def override(self, section: str, **values: Any) -> Config:
        """A copy with ``values`` replacing keys of ``[section]`` (checked like a config file's;
        ``"cluster.hdbscan"`` names a table of a section)."""
        head, _, rest = section.partition(".")
        part = getattr(self, head)
        if rest:
            values = {rest: dataclasses.replace(getattr(part, rest), **values)}
        return dataclasses.replace(self, **{head: dataclasses.replace(part, **values)})

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        data.pop("source")
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
    "engine": tuple(f.name for f in dataclasses.fields(SECTIONS["engine"])),
    "watch": tuple(f.name for f in dataclasses.fields(SECTIONS["watch"])),  # reports only, not clusters
    "review": tuple(f.name for f in dataclasses.fields(SECTIONS["review"])),  # what is reported, not found
}


def _unknown(kind: str, name: str, allowed: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{where}: unknown {kind} '{name}'.{hint} Allowed: {', '.join(allowed)}.")


def config_from_dict(data: dict[str, Any], *, base_dir: str = ".", where: str = "config") -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections and keys."""
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise _unknown("section", name, sorted(SECTIONS), where)
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of keys, saw {values!r}.")
        cls = section_class(name)
        if name == "cluster":
            values = upgrade_cluster(values, cls, where)
        sections[name] = _section_from_dict(cls, name, values, where)
    return Config(**sections, base_dir=base_dir)


def _section_from_dict(cls: type[Section], name: str, values: dict[str, Any], where: str) -> Section:
    allowed = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in allowed:
            raise _unknown(f"key in [{name}]", key, allowed, where)
    values = dict(values)
    for key, table in cls.subsections.items():
        if key in values:
            if not isinstance(values[key], dict):
                raise ConfigError(f"{where}: [{name}.{key}] must be a table of keys, saw {values[key]!r}.")
            values[key] = _section_from_dict(table, f"{name}.{key}", values[key], where)
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def upgrade_cluster(values: dict[str, Any], cls: type[Section], where: str) -> dict[str, Any]:
    """``[cluster]`` with the keys of the flat layout (before groupers were objects) moved where
    they now live: ``method`` is ``grouper``, a grouper's option goes to ``[cluster.<grouper>]``.
    Each moved key warns (a DeprecationWarning and a log line) with its new name; the flat keys
    are read for one release."""
    values = dict(values)
    moved: list[tuple[str, str]] = []
    if "method" in values:
        values.setdefault("grouper", values.pop("method"))
        moved.append(("method", "[cluster] grouper"))
    for table, sub in cls.subsections.items():
        for key in [f.name for f in dataclasses.fields(sub)]:
            if key in values and key not in {f.name for f in dataclasses.fields(cls)}:
                values[table] = {**values.get(table, {}), key: values.pop(key)}
                moved.append((key, f"[cluster.{table}] {key}"))
    for old, new in moved:
        message = (
            f"{where}: [cluster] {old} is deprecated and will be refused in the next release; use {new}."
        )
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        log.warning(message)
    return values


def load_config(path: str | Path | None = None) -> Config:
    """Load a TOML config; ``None`` gives the packaged defaults (``detector/packaged/default.toml``,
    which ``configs/default.toml`` in a checkout links to). A file overrides only the keys it sets."""
    packaged_config = resources.packaged(resources.CONFIG)
    path = packaged_config if path is None else Path(path)
    if not path.is_file():
        where = path if path.is_absolute() else f"{path} (in {Path.cwd()})"
        raise ConfigError(
            f"Config file {where} does not exist{' (it is a folder)' if path.is_dir() else ''}. Fix: pass "
            "--config the path of an existing config, write an editable one with `detector init DIR` "
            "(then --config DIR/default.toml), or leave --config out to use the packaged defaults."
        )
    raw = path.read_bytes()
    data = parse_toml(raw, path)
    _check_path_keys(data, str(path))
    config = config_from_dict(data, base_dir=str(path.resolve().parent), where=str(path))
    # configs/default.toml of a checkout is a link to the packaged file: that is the packaged config
    packaged = path.resolve() == packaged_config.resolve()
    source = ConfigSource(str(path.absolute()), hashlib.sha256(raw).hexdigest(), packaged)
    return dataclasses.replace(config, source=source)


def _check_path_keys(data: dict[str, Any], where: str) -> None:
    """A key that names a file must be text: ``watchlist = 5`` is refused here, not as a
    ``TypeError`` deep in a run."""
    for section, keys in PATH_KEYS.items():
        values = data.get(section)
        if not isinstance(values, dict):
            continue  # config_from_dict says a section must be a table
        for key in keys:
            if key in values and not isinstance(values[key], str):
                raise ConfigError(
                    f"{where}: [{section}] {key} = {values[key]!r} is not a path. Fix: write a path "
                    f'in quotes, e.g. {key} = "{_EXAMPLE_PATHS.get(key, "file")}" ("" = none).'
                )


_EXAMPLE_PATHS = {"registry": "outlets.toml", "watchlist": "watchlist.toml", "path": "detector.duckdb"}
