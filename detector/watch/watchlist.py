"""Watchlist files: the narratives an analyst names, each with statements in any language.

Schema (TOML; docs/watchlists.md)::

    [[narrative]]
    id = "biolabs"                       # required: letters, digits, '-', '_'; unique in the file
    name = "US military biolabs in Ukraine"   # required
    statements = [                       # required: one or more, any language
        "The United States runs secret military biological laboratories in Ukraine.",
        "США финансируют военные биолаборатории на Украине.",
    ]
    keywords = ["biolab", "биолаборатор", "生物实验室"]   # optional, any script (shown, not scored)
    notes = "..."                        # optional
    sources = ["https://..."]            # optional

Unknown keys are errors that name the entry, so a misspelt ``statement`` never silently drops
what the analyst wrote.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.errors import ConfigError
from detector.io import parse_toml

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
REQUIRED = ("id", "name", "statements")
OPTIONAL = ("keywords", "notes", "sources")
TOP_LEVEL = ("narrative",)


@dataclass(frozen=True)
class WatchedNarrative:
    """One watched narrative; ``statements`` are what articles are compared with."""

    id: str
    name: str
    statements: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    notes: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Watchlist:
    """The narratives of one watchlist file, in file order."""

    narratives: tuple[WatchedNarrative, ...]
    path: str = ""

    def __len__(self) -> int:
        return len(self.narratives)

    def statements(self) -> list[tuple[str, str]]:
        """``(narrative id, statement)`` for every statement, narratives in file order."""
        return [(n.id, s) for n in self.narratives for s in n.statements]


def _strings(value: object, where: str, key: str, *, required: bool) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f'{where}: \'{key}\' must be a list of strings, saw {value!r}. Fix: write {key} = ["...", "..."].'
        )
    cleaned = tuple(v.strip() for v in value if v.strip())
    if required and not cleaned:
        raise ConfigError(f"{where}: '{key}' is empty. Fix: give at least one non-empty statement.")
    return cleaned


def narrative_from_dict(entry: object, where: str) -> WatchedNarrative:
    """Build one narrative from its TOML table; ``where`` names it in errors."""
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{where}: must be a table ([[narrative]]), saw {entry!r}. Fix: write each narrative as a "
            "[[narrative]] table (docs/watchlists.md)."
        )
    name_hint = f" (id {entry['id']!r})" if isinstance(entry.get("id"), str) else ""
    where = f"{where}{name_hint}"
    for key in entry:
        if key not in REQUIRED + OPTIONAL:
            close = difflib.get_close_matches(key, REQUIRED + OPTIONAL, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{where}: unknown key '{key}'.{hint} Fix: rename or remove it; allowed: "
                f"{', '.join(REQUIRED + OPTIONAL)}."
            )
    for key in REQUIRED:
        if key not in entry:
            raise ConfigError(
                f"{where}: missing required key '{key}'. Fix: add it (every narrative needs "
                f"{', '.join(REQUIRED)})."
            )
    nid, name, notes = entry["id"], entry["name"], entry.get("notes", "")
    if not isinstance(nid, str) or not ID_PATTERN.match(nid):
        raise ConfigError(
            f"{where}: 'id' must be letters, digits, '-' or '_' (saw {nid!r}). Fix: write it so, in quotes."
        )
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"{where}: 'name' must be a non-empty string, saw {name!r}. Fix: name it, in quotes."
        )
    if not isinstance(notes, str):
        raise ConfigError(
            f"{where}: 'notes' must be a string, saw {notes!r}. Fix: write it as one quoted string."
        )
    return WatchedNarrative(
        id=nid,
        name=name.strip(),
        statements=_strings(entry["statements"], where, "statements", required=True),
        keywords=_strings(entry.get("keywords", []), where, "keywords", required=False),
        notes=notes.strip(),
        sources=_strings(entry.get("sources", []), where, "sources", required=False),
    )


def watchlist_from_dict(data: dict[str, Any], where: str = "watchlist") -> Watchlist:
    """Build a :class:`Watchlist` from parsed TOML, rejecting unknown keys and duplicate ids."""
    for key in data:
        if key not in TOP_LEVEL:
            raise ConfigError(
                f"{where}: unknown top-level key '{key}'; a watchlist holds only [[narrative]] tables. Fix: "
                "remove it, or move it into a narrative's table."
            )
    entries = data.get("narrative", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{where}: no narratives. Fix: add at least one [[narrative]] table with id, name and "
            "statements (docs/watchlists.md; `detector init DIR` writes a starter watchlist)."
        )
    narratives, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        narrative = narrative_from_dict(entry, f"{where}: narrative {number}")
        if narrative.id in seen:
            raise ConfigError(
                f"{where}: narrative {number}: id {narrative.id!r} is used twice. Fix: give each its own id."
            )
        seen.add(narrative.id)
        narratives.append(narrative)
    return Watchlist(tuple(narratives), where)


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and check a watchlist TOML file."""
    path = Path(path)
    if not path.is_file():
        where = path if path.is_absolute() else f"{path} (in {Path.cwd()})"
        raise ConfigError(
            f"watchlist {where} does not exist{' (it is a folder)' if path.is_dir() else ''}. Fix: "
            "pass the path of a watchlist TOML (docs/watchlists.md); `detector init DIR` writes a "
            "starter one, DIR/watchlist.toml."
        )
    data = parse_toml(path.read_bytes(), path)
    return watchlist_from_dict(data, str(path))
