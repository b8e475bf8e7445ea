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
