"""Which files ``--input`` names: globs and folders expanded, in a stable order, each checked to be
a regular file, so that a typo is an error and never an empty feed."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

from detector.errors import InputError
from detector.sources.feed_files import FEED_SUFFIXES
from detector.sources.feed_open import COMPRESSIONS, os_error


def expand_inputs(patterns: Iterable[str]) -> list[str]:
    """Expand globs and folders (a folder means its feed files, by extension, sorted, not
    recursive); a pattern that matches nothing is an error, not an empty feed."""
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(pattern, "no such file (nothing matches)",
                             "check the path or glob passed as --input")  # fmt: skip
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files.extend(folder_feeds(match))
            elif not path.exists():
                raise InputError(match, "no such file", "check the path or glob passed as --input")
            elif not path.is_file():
                raise InputError(match, "is not a regular file (a device, socket or pipe)",
                                 "pass the feed file itself")  # fmt: skip
            else:
                files.append(match)
    return list(dict.fromkeys(files))


def is_feed_name(name: str) -> bool:
    """A visible file named like a feed (``.csv``, ``.jsonl.gz``, ``.xlsx`` ...)."""
    path = Path(name)
    inner = path.stem if path.suffix.lower() in COMPRESSIONS else path.name
    return not name.startswith((".", "~$")) and Path(inner).suffix.lower() in FEED_SUFFIXES


def folder_feeds(folder: str) -> list[str]:
    """The feed files directly inside ``folder``, sorted by name."""
    try:
        entries = sorted(p for p in Path(folder).iterdir() if p.is_file())
    except OSError as exc:
        raise os_error(folder, exc) from None
    feeds = [str(p) for p in entries if is_feed_name(p.name)]
    if not feeds:
        held = ", ".join(p.name for p in entries[:5]) or "nothing"
        raise InputError(folder, f"is a folder without feed files (it holds {held})",
                         f"put the feeds there (named {', '.join(FEED_SUFFIXES)}, optionally .gz, .bz2, "
                         ".xz or .zst), or pass the files themselves")  # fmt: skip
    return feeds
