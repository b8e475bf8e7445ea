"""Identifiers from hostile feeds: compared after Unicode normalisation, and look-alikes named.

Outlet names, blocs and ids are compared in NFKC form, trimmed (so a full-width "ＴＡＳＳ" or a
name padded with a no-break space is the outlet it spells). NFKC does not fold one script into
another, so an outlet name that mixes Latin with Cyrillic or Greek letters ("RТ" with a Cyrillic
Т) is the classic look-alike: :func:`mixed_script_warning` says so, and which registry outlet it
imitates, so it cannot pass unnoticed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# Scripts whose letters are confused with each other; Han next to Latin ("CGTN 中文") is normal.
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# Cyrillic and Greek letters drawn like Latin ones (the common subset of Unicode's confusables).
_TO_LATIN = str.maketrans(
    "АВЕКМНОРСТУХаеорсуххіјѕԁӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧοναιϲ",
    "ABEKMHOPCTYXaeopcyxxijsdlABEZHIKMNOPTYXovaic",
)


_WORD = re.compile(r"[^\W\d_]+")


def nfkc(value: str) -> str:
    """``value`` in NFKC form, trimmed (what identifiers are compared and stored as)."""
    return unicodedata.normalize("NFKC", value).strip()


def name_key(value: str) -> str:
    """Case-, width- and whitespace-insensitive key of a name: NFKC, casefolded, spaces collapsed."""
    return " ".join(nfkc(value).casefold().split())


def scripts_of(value: str) -> dict[str, list[str]]:
    """Letters of ``value`` by script (the first word of their Unicode name), in order seen."""
    found: dict[str, list[str]] = {}
    for char in value:
        if char.isalpha():
            script = unicodedata.name(char, "UNKNOWN").split(" ")[0]
            found.setdefault(script, []).append(char)
    return found


def mixed_script_warning(name: str, known: Callable[[str], str | None]) -> str | None:
    """Why ``name`` looks like a spoof (or ``None``): a word of it mixes Latin, Cyrillic or Greek
    letters. Words of different scripts side by side ("РИА Новости (Telegram)") are normal.

    ``known(name)`` gives the registry's name for a name it knows (else ``None``); used to say
    which registry outlet the look-alike imitates.
    """
    mixed = [w for w in _WORD.findall(name) if len(set(scripts_of(w)) & set(CONFUSABLE_SCRIPTS)) > 1]
    if not mixed:
        return None
    scripts = {s: chars for s, chars in scripts_of("".join(mixed)).items() if s in CONFUSABLE_SCRIPTS}
    main = max(scripts, key=lambda s: len(scripts[s]))
    odd = [f"{c!r} U+{ord(c):04X} {s.title()}" for s, chars in scripts.items() if s != main for c in chars]
    names = " and ".join(s.title() for s in scripts)
    message = f"outlet name {name!r} mixes {names} letters ({', '.join(odd[:5])})"
    imitated = known(name.translate(_TO_LATIN))
    if imitated is not None and known(name) is None:
        message += f": it looks like registry outlet {imitated!r} but is not it"
    return message
