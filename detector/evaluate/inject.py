"""Injection harness: build held-out event sets from a real background feed and labelled pairs.

Each labelled cross-lingual pair becomes one event: its cn side is published as a cn outlet, its
ru side as a ru outlet, ``lag`` hours apart, the leader alternating so both directions are
balanced. Output has the same format as the corpus's ``events/`` (feed + truth CSVs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

FEED_COLUMNS = ["id", "outlet", "bloc", "language", "published_at", "title", "text", "url"]
TRUTH_COLUMNS = ["event_id", "id", "kind", "leader"]
CN_OUTLETS = ("CGTN", "Global Times", "Xinhua")
RU_OUTLETS = ("RT", "TASS", "Sputnik")


def _opaque_id(seed: int, event: int, side: str) -> str:
    # Opaque like the corpus ids, so nothing in a feed row says it was injected.
    return "n" + hashlib.sha256(f"{seed}\x1f{event}\x1f{side}".encode()).hexdigest()[:12]


def pairs_from_narratives(
    narratives: pd.DataFrame, n_translation: int, n_claim: int, seed: int = 0
) -> pd.DataFrame:
    """Labelled pairs from file E: English text for the cn side, Russian text for the ru side.

    ``translation``: one quote in both languages. ``claim``: two different quotes of one claim
    (the same narrative in other words). Columns: ``kind, cn_text, ru_text``.
    """
    rng = np.random.default_rng(seed)
    en = narratives[narratives["language"] == "en"].set_index("quote_id")
    ru = narratives[narratives["language"] == "ru"].set_index("quote_id")
    quotes = sorted(set(en.index) & set(ru.index))
    rows = []
    for q in rng.choice(quotes, size=min(n_translation, len(quotes)), replace=False):
        rows.append({"kind": "translation", "cn_text": en.at[q, "text"], "ru_text": ru.at[q, "text"]})
    by_claim = en.loc[quotes].reset_index().groupby("claim_id")["quote_id"].apply(sorted)
    candidates = [(a, b) for qs in by_claim for a in qs for b in qs if a != b]
    for k in rng.choice(len(candidates), size=min(n_claim, len(candidates)), replace=False):
        a, b = candidates[int(k)]
        rows.append({"kind": "claim", "cn_text": en.at[a, "text"], "ru_text": ru.at[b, "text"]})
    return pd.DataFrame(rows, columns=["kind", "cn_text", "ru_text"])


def inject_events(
    background: pd.DataFrame, pairs: pd.DataFrame, lags: Sequence[float], seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Insert ``pairs`` (``kind, cn_text, ru_text``) into ``background`` as events.

    Event ``k`` is ``lags[k % len(lags)]`` hours long; its first article is placed uniformly at
    random inside the background's time span (so the second still falls inside it), and the leader
    alternates cn, ru, cn ... Returns ``(feed, truth)`` sorted by time / event; deterministic for a
    given ``seed``.
    """
    if not len(lags):
        raise ValueError("lags must not be empty")
    rng = np.random.default_rng(seed)
    stamps = pd.to_datetime(background["published_at"], utc=True, format="mixed")
    start, end = stamps.min(), stamps.max()
    rows, truth = [], []
    for k, pair in enumerate(pairs.itertuples(index=False)):
        lag = pd.Timedelta(hours=float(lags[k % len(lags)]))
        if lag >= end - start:
            raise ValueError(f"lag {lag} does not fit into the background's span {end - start}")
        first = start + (end - start - lag) * float(rng.random())
        leader = "cn" if k % 2 == 0 else "ru"
        times = {leader: first, ("ru" if leader == "cn" else "cn"): first + lag}
        sides = {"cn": (pair.cn_text, rng.choice(CN_OUTLETS), "en"),
                 "ru": (pair.ru_text, rng.choice(RU_OUTLETS), "ru")}  # fmt: skip
        for bloc, (text, outlet, language) in sides.items():
            article_id = _opaque_id(seed, k, bloc)
            rows.append({
                "id": article_id, "outlet": str(outlet), "bloc": bloc, "language": language,
                "published_at": times[bloc].strftime("%Y-%m-%dT%H:%M:%SZ"), "title": "",
                "text": text, "url": "",
            })  # fmt: skip
            truth.append({"event_id": f"ev{k:03d}", "id": article_id, "kind": pair.kind, "leader": leader})
    injected = pd.DataFrame(rows, columns=FEED_COLUMNS)
    base = background.reindex(columns=FEED_COLUMNS).fillna("")
    feed = pd.concat([base, injected], ignore_index=True)
    order = pd.to_datetime(feed["published_at"], utc=True, format="mixed").argsort(kind="stable")
    return feed.iloc[order].reset_index(drop=True), pd.DataFrame(truth, columns=TRUTH_COLUMNS)


def write_event_set(feed: pd.DataFrame, truth: pd.DataFrame, prefix: Path) -> tuple[Path, Path]:
    """Write ``<prefix>_feed.csv`` and ``<prefix>_truth.csv`` (the events/ layout)."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    feed_path = prefix.with_name(prefix.name + "_feed.csv")
    truth_path = prefix.with_name(prefix.name + "_truth.csv")
    feed.to_csv(feed_path, index=False)
    truth.to_csv(truth_path, index=False)
    return feed_path, truth_path


def bury_events(
    feed: pd.DataFrame, truth: pd.DataFrame, host_outlet: str, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hide one side of events inside long multi-topic documents built from real feed items.

    The ``host_outlet``'s items of one UTC day become one document, as the outlet publishes them
    (a foreign ministry's answers of a day are its press conference). An event article of the
    host's bloc is replaced by such a document with the event's text as one more paragraph at a
    random position after the first, under a generic title and the host's outlet, keeping the
    event's id, time and language; the day's separate items leave the feed. Events take the nearest unused
    day, alternating kinds, until the days run out. Buried events get the kind ``"buried <kind>"``,
    so recall is reported apart from the events left as short items. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    items = feed[(feed["outlet"] == host_outlet) & ~feed["id"].isin(truth["id"])]  # events stay events
    items = items.sort_values(["published_at", "id"], kind="stable")
    if items.empty:
        raise ValueError(f"no items of outlet {host_outlet!r} in the feed to build documents from")
    bloc = str(items["bloc"].iloc[0])
    days = items.assign(day=pd.to_datetime(items["published_at"], utc=True, format="mixed").dt.normalize())
    documents = dict(list(days.groupby("day", sort=True)))  # a GroupBy has .keys(): not a mapping
    times = pd.to_datetime(feed.set_index("id")["published_at"], utc=True, format="mixed")
    sides = truth.merge(feed[["id", "bloc"]], on="id")
    sides = sides[sides["bloc"] == bloc].copy()
    sides["turn"] = sides.groupby("kind").cumcount()
    sides = sides.sort_values(["turn", "kind", "event_id"], kind="stable")
    feed, truth = feed.copy(), truth.copy()
    dropped: list[str] = []
    for side in sides.itertuples(index=False):
        if not documents:
            break
        day = min(documents, key=lambda d: (abs(d - times[side.id]), d))
        answers = documents.pop(day)
        paragraphs = answers["text"].tolist()
        row = feed.index[feed["id"] == side.id][0]
        paragraphs.insert(int(rng.integers(1, len(paragraphs) + 1)), str(feed.at[row, "text"]))
        feed.loc[row, ["outlet", "title", "text"]] = [
            host_outlet,
            f"{host_outlet}: regular press conference, {day:%d %B %Y}",
            "\n\n".join(paragraphs),
        ]
        truth.loc[truth["event_id"] == side.event_id, "kind"] = f"buried {side.kind}"
        dropped.extend(answers["id"])
    return feed[~feed["id"].isin(dropped)].reset_index(drop=True), truth
