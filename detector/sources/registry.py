"""Outlet registry: outlet name -> bloc, country, languages, channel type.

The registry is one TOML file (``detector/packaged/outlets.toml``, linked as
``configs/outlets.toml``); a user's registry (``[ingest] registry``) extends it
(:meth:`OutletRegistry.extended`). Adding an outlet is a one-file change: add a table there and
ingest, the channel-type columns, the spread paths, the citation matcher and the
``--channel-type`` filter pick it up. Feeds that lack ``bloc`` or ``language`` get them from
here (``language``: the first of the outlet's ``languages``). Languages are read as BCP 47 tags
reduced to their primary language, as ingest reads a feed's (``zh-CN`` -> ``zh``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from detector.errors import ConfigError
from detector.io import parse_toml
from detector.languages import loose_primary, primary_language
from detector.sources.lookalikes import name_key

log = logging.getLogger(__name__)

BLOCS = ("cn", "ru", "control")
CHANNEL_TYPES = ("state_media", "diplomatic", "aggregator", "proxy", "control")
UNKNOWN_CHANNEL = "unknown"  # outlets a feed names that the registry does not know
KEYS = ("bloc", "country", "languages", "language", "channel_type", "aliases", "cited_as")


@dataclass(frozen=True)
class Outlet:
    """One registry entry. ``languages`` are the ones it publishes in, default first."""

    name: str
    bloc: str
    country: str
    languages: tuple[str, ...]
    channel_type: str
    aliases: tuple[str, ...] = ()
    cited_as: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        """The default language: filled into feed rows that have none."""
        return self.languages[0]


def _key(name: str) -> str:
    return name_key(name)  # NFKC, casefolded, whitespace collapsed: "ＴＡＳＳ " is TASS


class OutletRegistry:
    """Case-, width- and whitespace-insensitive lookup (NFKC) of outlets by name or alias."""

    def __init__(self, outlets: list[Outlet]) -> None:
        self.outlets = outlets
        self._by_key: dict[str, Outlet] = {}
        for outlet in outlets:
            for alias in (outlet.name, *outlet.aliases):
                self._by_key[_key(alias)] = outlet

    def get(self, name: str) -> Outlet | None:
        return self._by_key.get(_key(name))

    def channel_type(self, name: str) -> str:
        """The outlet's channel type, ``unknown`` when the registry does not list it."""
        entry = self.get(name)
        return entry.channel_type if entry else UNKNOWN_CHANNEL

    def __len__(self) -> int:
        return len(self.outlets)

    def extended(self, other: OutletRegistry, where: str) -> OutletRegistry:
        """This registry with ``other``'s outlets: new ones appended, an outlet of the same name
        replaced in place (with a warning naming what changed), so an unedited copy of this
        registry changes nothing, order included."""
        outlets = list(self.outlets)
        position = {_key(o.name): i for i, o in enumerate(outlets)}
        for outlet in other.outlets:
            at = position.get(_key(outlet.name))
            if at is None:
                position[_key(outlet.name)] = len(outlets)
                outlets.append(outlet)
            elif outlets[at] != outlet:
                changed = [k for k in vars(outlet) if getattr(outlet, k) != getattr(outlets[at], k)]
                log.warning("%s changes the packaged outlet %r (%s)", where, outlet.name, ", ".join(changed))
                outlets[at] = outlet
        return OutletRegistry(outlets)

    @classmethod
    def from_toml(cls, path: str | Path) -> OutletRegistry:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"Outlet registry {path} (from [ingest] registry, relative to the config's folder) does "
                "not exist. Fix: correct that path, write an editable registry with `detector init DIR`, "
                'or set registry = "" to use the packaged registry alone.'
            )
        data = parse_toml(path.read_bytes(), path)
        return cls(
            [_outlet(f'{path}: [outlets."{name}"]', name, e) for name, e in data.get("outlets", {}).items()]
        )


def _outlet(where: str, name: str, entry: dict[str, Any]) -> Outlet:
    """One validated entry; every problem names the table and the fix."""
    unknown = set(entry) - set(KEYS)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; allowed: {list(KEYS)}.")
    missing = {"bloc", "country", "channel_type"} - set(entry)
    if missing or not ({"languages", "language"} & set(entry)):
        needed = sorted(missing | ({"languages"} if not {"languages", "language"} & set(entry) else set()))
        raise ConfigError(
            f"{where} lacks {needed}; every outlet needs bloc, country, languages and channel_type."
        )
    if "languages" in entry and "language" in entry:
        raise ConfigError(f"{where} has both languages and language; keep languages (default first).")
    # `language = "ru"` is the older single-language form, still read.
    languages = entry["languages"] if "languages" in entry else [entry["language"]]
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and x for x in languages)
    ):
        raise ConfigError(f'{where} languages = {languages!r}; use a non-empty list like ["ru", "en"].')
    try:  # the same primary codes as ingest gives feed rows: "zh-CN" and "zh-TW" are one "zh"
        languages = list(dict.fromkeys(primary_language(x) for x in languages))
    except ValueError as exc:
        raise ConfigError(f"{where} languages: {exc}.") from None
    if entry["bloc"] not in BLOCS:
        raise ConfigError(f"{where} bloc = {entry['bloc']!r}; use one of {list(BLOCS)}.")
    if entry["channel_type"] not in CHANNEL_TYPES:
        raise ConfigError(
            f"{where} channel_type = {entry['channel_type']!r}; use one of {list(CHANNEL_TYPES)}."
        )
    return Outlet(
        name=name,
        bloc=entry["bloc"],
        country=entry["country"],
        languages=tuple(languages),
        channel_type=entry["channel_type"],
        aliases=tuple(entry.get("aliases", ())),
        cited_as=tuple(entry.get("cited_as", ())),
    )


@lru_cache(maxsize=4096)  # called per background pair (200,000 a run) on a handful of distinct tags
def language_pair(a: str, b: str) -> str:
    """Canonical, order-free key for a language pair: ``language_pair('ru', 'en') == 'en-ru'``,
    ``language_pair('zh-CN', 'ru-RU') == 'ru-zh'``."""
    return "-".join(sorted((loose_primary(a), loose_primary(b))))
