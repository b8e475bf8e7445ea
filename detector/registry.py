"""Outlet registry: outlet name -> bloc, country, default language, channel type.

The registry is one TOML file (``configs/outlets.toml``); extending it is a one-file change. Feeds
that lack ``bloc`` or ``language`` get them from here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ConfigError

BLOCS = ("cn", "ru", "control")
CHANNEL_TYPES = ("state_media", "diplomatic", "aggregator", "proxy", "control")


@dataclass(frozen=True)
class Outlet:
    """One registry entry."""

    name: str
    bloc: str
    country: str
    language: str
    channel_type: str
    aliases: tuple[str, ...] = ()
    cited_as: tuple[str, ...] = ()


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


class OutletRegistry:
    """Case- and whitespace-insensitive lookup of outlets by name or alias."""

    def __init__(self, outlets: list[Outlet]) -> None:
        self.outlets = outlets
        self._by_key: dict[str, Outlet] = {}
        for outlet in outlets:
            for alias in (outlet.name, *outlet.aliases):
                self._by_key[_key(alias)] = outlet

    def get(self, name: str) -> Outlet | None:
        return self._by_key.get(_key(name))

    def __len__(self) -> int:
        return len(self.outlets)

    @classmethod
    def from_toml(cls, path: str | Path) -> OutletRegistry:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"Outlet registry {path} does not exist. Point [ingest] registry at "
                "configs/outlets.toml (paths are relative to the config file)."
            )
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        outlets = []
        for name, entry in data.get("outlets", {}).items():
            where = f'{path}: [outlets."{name}"]'
            missing = {"bloc", "country", "language", "channel_type"} - set(entry)
            if missing:
                raise ConfigError(f"{where} lacks {sorted(missing)}; every outlet needs all four.")
            if entry["bloc"] not in BLOCS:
                raise ConfigError(f"{where} bloc = {entry['bloc']!r}; use one of {list(BLOCS)}.")
            if entry["channel_type"] not in CHANNEL_TYPES:
                raise ConfigError(
                    f"{where} channel_type = {entry['channel_type']!r}; use one of {list(CHANNEL_TYPES)}."
                )
            outlets.append(
                Outlet(
                    name=name,
                    bloc=entry["bloc"],
                    country=entry["country"],
                    language=entry["language"],
                    channel_type=entry["channel_type"],
                    aliases=tuple(entry.get("aliases", ())),
                    cited_as=tuple(entry.get("cited_as", ())),
                )
            )
        return cls(outlets)
