"""Loaders for the labelled development files and the event feeds, and seeded pair sampling.

File names are matched by their documented basenames (``e_propaganda_diary_narratives.csv``,
``g_semeval2022_pairs.csv`` + ``g_semeval2022_articles.csv`` beside it, ``*_feed.csv`` with a
``*_truth.csv`` beside it), so ``--data`` can take any mix of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations_with_replacement
from pathlib import Path

import numpy as np
import pandas as pd

from detector.errors import InputError
from detector.evaluate.metrics import Event
from detector.sources.registry import language_pair

log = logging.getLogger(__name__)

NARRATIVES_FILE = "e_propaganda_diary_narratives.csv"
SEMEVAL_PAIRS_FILE = "g_semeval2022_pairs.csv"
SEMEVAL_ARTICLES_FILE = "g_semeval2022_articles.csv"
# A parallel sample (data/parallel/): lines.tsv (source line, document) beside one <code>.txt per
# language, line-aligned. File codes of NTREX-128 -> the ISO 639-1 codes the detector uses.
PARALLEL_LINES_FILE = "lines.tsv"
PARALLEL_LANGUAGES = {"eng": "en", "arb": "ar", "spa": "es", "fra": "fr", "rus": "ru", "zho-CN": "zh"}

# SemEval-2022 Task 8 "Overall" runs 1 (very similar) .. 4 (very dissimilar), averaged over
# annotators. <= 2 is "similar", >= 3 "dissimilar"; averages strictly between are ambiguous and
# left out rather than forced into a class.
SEMEVAL_SIMILAR_MAX = 2.0
SEMEVAL_DISSIMILAR_MIN = 3.0


@dataclass(frozen=True)
class DataFiles:
    """The labelled files found among the ``--data`` arguments."""

    narratives: Path | None = None
    semeval_pairs: Path | None = None
    parallel: Path | None = None  # lines.tsv of a parallel sample
    feeds: tuple[tuple[Path, Path], ...] = ()  # (feed, truth)


TRUTH_COLUMNS = ("event_id", "id", "kind", "leader")


def _read(path: Path, columns: tuple[str, ...] = (), **kwargs: object) -> pd.DataFrame:
    """A labelled CSV as strings; an empty, non-UTF-8 or malformed file, or one without
    ``columns``, is one :class:`InputError` naming it."""
    if not path.is_file():
        raise InputError(str(path), "file does not exist", "pass an existing file to --data")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "is empty (no header, no rows)", _REBUILD) from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 (byte {exc.start})", "save it as UTF-8") from None
    except pd.errors.ParserError as exc:
        raise InputError(str(path), f"not a valid CSV ({exc})", _REBUILD) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            str(path), f"missing column(s) {missing} (its header: {list(frame.columns)})",
            f"give it the columns {list(columns)}; {_REBUILD}",
        )  # fmt: skip
    return frame


_REBUILD = (
    "copy or rebuild it (an events set is a *_feed.csv and its *_truth.csv; `detector bury` writes one)"
)


def classify_files(paths: list[str]) -> DataFiles:
    """Sort ``--data`` paths into the three kinds the harness knows; anything else is an error."""
    narratives = semeval = parallel = None
    feeds: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InputError(raw, "file does not exist", "pass existing files to --data")
        if path.name == NARRATIVES_FILE:
            narratives = path
        elif path.name == SEMEVAL_PAIRS_FILE:
            semeval = path
        elif path.name == PARALLEL_LINES_FILE:
            parallel = path
        elif path.name.endswith("_feed.csv"):
            truth = path.with_name(path.name.removesuffix("_feed.csv") + "_truth.csv")
            if not truth.is_file():
                raise InputError(
                    raw, f"no truth file {truth.name} beside the feed", "put it next to the feed"
                )
            if _read(truth, TRUTH_COLUMNS, encoding="utf-8-sig").empty:  # before any work is done
                raise InputError(str(truth), "has a header but no rows (no event)", _REBUILD)
            feeds.append((path, truth))
        else:
            raise InputError(
                raw,
                "not a labelled file the evaluation knows",
                f"pass {NARRATIVES_FILE}, {SEMEVAL_PAIRS_FILE}, a parallel sample's {PARALLEL_LINES_FILE} "
                "or an events *_feed.csv with its *_truth.csv",
            )
    return DataFiles(narratives, semeval, parallel, tuple(feeds))


def load_narratives(path: Path) -> pd.DataFrame:
    """File E: one row per (quote, language) with ``narrative_id``, ``claim_id``, ``quote_id``."""
    frame = _read(path)
    missing = {"id", "language", "text", "narrative_id", "claim_id", "quote_id"} - set(frame.columns)
    if missing:
        raise InputError(str(path), f"missing columns {sorted(missing)}", "use the file E of the dev corpus")
    return frame.reset_index(drop=True)


def load_parallel(lines_path: Path) -> pd.DataFrame:
    """A line-aligned parallel sample as file-E-like rows: ``id, language, text`` with the source
    line as ``quote_id`` (a translation = same line) and its document as ``claim_id`` and
    ``narrative_id`` (same story = same document), so :func:`sample_narrative_pairs` applies."""
    lines = _read(lines_path, sep="\t")
    frames = []
    for code, language in PARALLEL_LANGUAGES.items():
        path = lines_path.with_name(f"{code}.txt")
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8").splitlines()
        if len(text) != len(lines):
            raise InputError(
                str(path), f"{len(text)} lines, {lines_path.name} lists {len(lines)}", "re-copy it"
            )
        frames.append(
            pd.DataFrame(
                {"id": [f"{language}-{n}" for n in lines["line"]], "language": language, "text": text,
                 "quote_id": lines["line"].to_numpy(), "claim_id": lines["document"].to_numpy(),
                 "narrative_id": lines["document"].to_numpy()}
            )
        )  # fmt: skip
    if not frames:
        raise InputError(
            str(lines_path), "no <language>.txt beside it", f"use one of {list(PARALLEL_LANGUAGES)}"
        )
    return pd.concat(frames, ignore_index=True)


def load_semeval(pairs_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """File G: (pairs with a 0/1 ``label``, articles). Ambiguous pairs (2 < Overall < 3) are dropped."""
    pairs = _read(pairs_path)
    articles = _read(pairs_path.with_name(SEMEVAL_ARTICLES_FILE))
    overall = pairs["Overall"].astype(float)
    keep = (overall <= SEMEVAL_SIMILAR_MAX) | (overall >= SEMEVAL_DISSIMILAR_MIN)
    log.info("semeval: %d of %d pairs are unambiguous", int(keep.sum()), len(pairs))
    pairs = pairs[keep].assign(label=(overall[keep] <= SEMEVAL_SIMILAR_MAX).astype(int))
    known = set(articles["id"])
    pairs = pairs[pairs["id1"].isin(known) & pairs["id2"].isin(known)]
    return pairs.reset_index(drop=True), articles


def read_event_set(feed_path: Path, truth_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An events feed and its truth as tables of strings, once every truth id is in the feed."""
    feed = _read(feed_path, ("id", "bloc"), encoding="utf-8-sig")
    truth = _read(truth_path, TRUTH_COLUMNS, encoding="utf-8-sig")
    unknown = set(truth["id"]) - set(feed["id"])
    if unknown:
        raise InputError(
            str(truth_path), f"{len(unknown)} ids are not in {feed_path.name}", "rebuild the pair"
        )
    return feed, truth


def load_feed_events(feed_path: Path, truth_path: Path) -> tuple[pd.DataFrame, list[Event]]:
    """An events feed and its truth (``event_id, id, kind, leader``; one cn and one ru row each)."""
    feed, truth = read_event_set(feed_path, truth_path)
    return feed, events_from_truth(truth, dict(zip(feed["id"], feed["bloc"], strict=True)))


def events_from_truth(truth: pd.DataFrame, bloc_of: dict[str, str]) -> list[Event]:
    """Build events; the bloc of each id comes from the feed (truth files carry no bloc)."""
    events = []
    for event_id, group in truth.groupby("event_id", sort=True):
        blocs = group["id"].map(bloc_of)
        events.append(
            Event(
                event_id=str(event_id),
                kind=str(group["kind"].iloc[0]),
                leader=str(group["leader"].iloc[0]),
                cn_ids=frozenset(group.loc[blocs == "cn", "id"]),
                ru_ids=frozenset(group.loc[blocs == "ru", "id"]),
            )
        )
    return events


def sample_narrative_pairs(
    narratives: pd.DataFrame, n_per_language_pair: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Labelled pairs of file-E rows, balanced per language pair.

    Returns rows ``i, j, language_pair, kind, label`` (``i``/``j`` index ``narratives``):

    * ``claim`` (label 1): same ``claim_id``, different ``quote_id`` — one narrative, other words.
    * ``translation`` (label 1): same ``quote_id``, different language — trivial, reported apart.
    * ``negative`` (label 0): different ``narrative_id``.

    Each language pair gets at most ``n_per_language_pair`` of each kind, drawn with ``seed``.
    """
    rng = np.random.default_rng(seed)
    frames = []
    by_language = {lang: g.index.to_numpy() for lang, g in narratives.groupby("language", sort=True)}
    claim = narratives["claim_id"].to_numpy()
    quote = narratives["quote_id"].to_numpy()
    narrative = narratives["narrative_id"].to_numpy()
    for la, lb in combinations_with_replacement(sorted(by_language), 2):
        ia, ib = by_language[la], by_language[lb]
        same_claim = claim[ia][:, None] == claim[ib][None, :]
        same_quote = quote[ia][:, None] == quote[ib][None, :]
        other_narrative = narrative[ia][:, None] != narrative[ib][None, :]
        upper = np.ones_like(same_claim) if la != lb else np.triu(np.ones_like(same_claim), k=1)
        kinds = {
            "claim": same_claim & ~same_quote & upper,
            "translation": same_quote & upper if la != lb else np.zeros_like(same_quote),
            "negative": other_narrative & upper,
        }
        for kind, mask in kinds.items():
            rows, cols = np.nonzero(mask)
            if not len(rows):
                continue
            take = rng.choice(len(rows), size=min(n_per_language_pair, len(rows)), replace=False)
            take.sort()
            frames.append(
                pd.DataFrame(
                    {
                        "i": ia[rows[take]],
                        "j": ib[cols[take]],
                        "language_pair": language_pair(la, lb),
                        "kind": kind,
                        "label": int(kind != "negative"),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
