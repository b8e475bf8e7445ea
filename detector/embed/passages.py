"""Passage-level units: split long articles, embed the passages through the cache, roll up to articles.

Why: narratives hide inside long documents. A Kremlin transcript of 45k characters states the
"US biolabs" claim in one paragraph in its middle; an article vector of title + first 2,000
characters cannot see it. Each article is therefore split into passages (paragraphs, or sentence
windows of over-long paragraphs), each passage is embedded, and an article pair's passage
similarity is the best cosine over their passages, with the matching passages as evidence.

Conventions
-----------
A passage has a ``kind``:

* ``"whole"``: the article as one unit, text = title + "\\n" + body as the article-level embedder
  builds it (:func:`detector.embed.embedding.embedding_text`). Short items (headlines, posts, anything whose
  title + body fits ``max_chars``) are one whole passage, so (with ``max_chars`` at most
  ``[embed] max_chars``) their passage vector *is* their article vector: same text, same cache
  row. ``start``/``end`` span the part of the body it holds, so
  ``passage.text.endswith(text[start:end])``.
* ``"title"``: the title of a long article, on its own; ``start == end == -1``.
* ``"body"``: a span of the body; ``passage.text == text[start:end]`` exactly.

Passage ids are ``"{article_id}:{index}:{sha256(text)[:8]}"``: stable across re-splits, and an
edit changes only the ids (and cache keys) of the passages whose text changed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from detector.embed.embedding import EmbeddingStage, embedding_text
from detector.embed.passage_pairs import best_passage_pairs
from detector.params import Below, Constraint, Interval, check_params, validate_params
from detector.store.store import Store

log = logging.getLogger(__name__)

Kind = Literal["whole", "title", "body"]

# A paragraph ends at a newline, or at an asterism ("* * *", the section break of kremlin.ru
# transcripts, which otherwise arrive as one 45k-character line).
_PARAGRAPH_BREAK = re.compile(r"\n|(?<=\s)\*\s\*\s\*(?=\s)")
# Latin/Cyrillic sentences end in . ! ? … (plus closing quotes/brackets) followed by whitespace;
# Chinese ones in 。！？； (plus closing quotes), with no space after.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”’)\]]*(?=\s)|[。！？；]+[”’」』\"'）)]*")
# Tokens that end in a full stop without ending a sentence (lower case, final dot removed).
_ABBREVIATION_LIST = (
    "mr mrs ms dr prof st jr sr gen col lt sgt gov sen rep no vs e.g i.e u.s u.k u.n u.s.a "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "т.е т.д т.п т.н т.к г гг им ул д стр см ср др пр н.э руб млн млрд тыс"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())


@dataclass(frozen=True)
class Passage:
    """One passage of an article; see the module docstring for ``kind`` and the offsets."""

    index: int
    start: int
    end: int
    text: str
    kind: Kind

    def id(self, article_id: str) -> str:
        return passage_id(article_id, self.index, self.text)


def passage_id(article_id: str, index: int, text: str) -> str:
    """``"{article_id}:{index}:{sha256(text)[:8]}"``."""
    return f"{article_id}:{index}:{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        s, e = _strip_span(text, start, end)
        if e > s:
            spans.append((s, e))
        start = m.end() if m else end
    return spans


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    """Whether the full stop at ``dot`` closes an abbreviation or an initial ("U.S.", "т.е.", "V.")."""
    token = text[start:dot].rsplit(None, 1)[-1] if text[start:dot].strip() else ""
    token = token.lstrip("\"'«“‘([").lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cur = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        if m.end() >= end:
            break
        following = text[m.end() : end].lstrip()[:1]
        if text[m.start()] in ".!?…":
            # Cheap guards against false breaks: a lower-case continuation ("5 млн. рублей",
            # "e.g. this") or a known abbreviation before a single full stop.
            if following.islower():
                continue
            if m.group() == "." and _is_abbreviation(text, cur, m.start()):
                continue
        s, e = _strip_span(text, cur, m.end())
        if e > s:
            spans.append((s, e))
        cur = m.end()
    s, e = _strip_span(text, cur, end)
    if e > s:
        spans.append((s, e))
    return spans


def _cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``max_chars`` (a run-on "sentence") at spaces, else hard."""
    spans = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        cut = cut if cut > start else start + max_chars
        spans.append(_strip_span(text, start, cut))
        start = _strip_span(text, cut, end)[0]
    spans.append((start, end))
    return spans


def _windows(
    sentences: list[tuple[int, int]], size: int, overlap: int, max_chars: int
) -> list[tuple[int, int]]:
    """Windows of up to ``size`` sentences (and ``max_chars``), consecutive ones sharing ``overlap``."""
    spans, i, n = [], 0, len(sentences)
    while True:
        j = i + 1
        while j < n and j - i < size and sentences[j][1] - sentences[i][0] <= max_chars:
            j += 1
        spans.append((sentences[i][0], sentences[j - 1][1]))
        if j >= n:
            return spans
        i = max(i + 1, j - overlap)


def _merge_short(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Merge spans shorter than ``min_chars`` into the following span (the last one into the previous)."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and out[-1][1] - out[-1][0] < min_chars:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    if len(out) > 1 and out[-1][1] - out[-1][0] < min_chars:
        tail = out.pop()
        out[-1] = (out[-1][0], max(out[-1][1], tail[1]))
    return out


def whole_passage(title: str, text: str, max_chars: int) -> Passage:
    """The article as one passage: exactly the text the article-level embedder uses."""
    joined = embedding_text(title, text, max_chars)
    start, end = _strip_span(text or "", 0, len(text or ""))
    prefix = len((title or "").strip()) + 1 if (title or "").strip() else 0
    shown = max(0, len(joined) - prefix) if end > start else 0
    return Passage(0, start, start + shown, joined, "whole")


UNITS = ("article", "passage")  # [passages] unit: whether a run matches passages at all
# The splitting arguments, as split_passages and PassageStage both take them.
SPLIT_CONSTRAINTS: dict[str, Constraint] = {
    "max_chars": Interval(16, 100_000),
    "min_chars": Interval(0, 100_000),
    "window_sentences": Interval(1, 1000),
    "overlap_sentences": Below("window_sentences", 0, 999),
    "max_passages": Interval(1, 100_000),
}


def split_passages(
    title: str,
    text: str,
    *,
    max_chars: int,
    min_chars: int,
    window_sentences: int,
    overlap_sentences: int,
    max_passages: int,
) -> list[Passage]:
    """Split one article into passages (deterministic; see the module docstring).

    Items whose title + body fit in ``max_chars`` stay one ``"whole"`` passage. Longer ones become
    a ``"title"`` passage (if there is a title) and ``"body"`` passages: paragraphs, paragraphs
    longer than ``max_chars`` as windows of ``window_sentences`` sentences overlapping by
    ``overlap_sentences``, fragments shorter than ``min_chars`` merged into a neighbour (so a
    passage may exceed ``max_chars`` by less than ``min_chars``). Only the first ``max_passages``
    are kept.
    """
    arguments = {"max_chars": max_chars, "min_chars": min_chars, "window_sentences": window_sentences,
                 "overlap_sentences": overlap_sentences, "max_passages": max_passages}  # fmt: skip
    check_params("passages", arguments, SPLIT_CONSTRAINTS)
    title, text = title or "", text or ""
    if not title.strip() and not text.strip():
        return []
    if len(embedding_text(title, text, max_chars + 1)) <= max_chars:
        return [whole_passage(title, text, max_chars)]
    spans: list[tuple[int, int]] = []
    for s, e in _paragraphs(text):
        if e - s <= max_chars:
            spans.append((s, e))
            continue
        sentences = [piece for s2, e2 in _sentences(text, s, e) for piece in _cut(text, s2, e2, max_chars)]
        spans.extend(_windows(sentences, window_sentences, overlap_sentences, max_chars))
    passages = [Passage(0, -1, -1, title.strip(), "title")] if title.strip() else []
    passages += [
        Passage(len(passages) + i, s, e, text[s:e], "body")
        for i, (s, e) in enumerate(_merge_short(spans, min_chars))
    ]
    if len(passages) > max_passages:
        log.info(
            "passages: kept the first %d of %d passages of %r (max_passages)",
            max_passages,
            len(passages),
            (title or text)[:60],
        )
        passages = passages[:max_passages]
    return passages


# Blocs whose articles are never a side of a cross-bloc pair (see PassageStage.passages).
UNMATCHED_BLOCS = frozenset({"control"})


class PassageStage:
    """Splits articles into passages and embeds them through the store's embedding cache; the
    clusterer matches these passages in addition to the article vectors. Whether a run uses
    passages at all is ``[passages] unit`` (``"article"``: the article vectors only), decided once
    by the pipeline.

    Parameters mirror ``[passages]``:

    max_chars, min_chars, window_sentences, overlap_sentences, max_passages : see
        :func:`split_passages`.
    embedding : the stage whose backend, batch size and cache are used (the cache is keyed by the
        sha256 of the exact passage text and the model id, so short items share their article's
        row and a re-run or an edit embeds only passages whose text is new).
    """

    parameter_section: ClassVar[str] = "passages"
    parameter_constraints: ClassVar[dict[str, Constraint]] = SPLIT_CONSTRAINTS

    def __init__(
        self,
        max_chars: int = 1000,
        min_chars: int = 50,
        window_sentences: int = 4,
        overlap_sentences: int = 1,
        max_passages: int = 200,
        embedding: EmbeddingStage | None = None,
    ) -> None:
        self.max_chars = max_chars
        self.min_chars = min_chars
        self.window_sentences = window_sentences
        self.overlap_sentences = overlap_sentences
        self.max_passages = max_passages
        self.embedding = embedding or EmbeddingStage()
        validate_params(self)

    def split(self, title: str, text: str) -> list[Passage]:
        return split_passages(
            title,
            text,
            max_chars=self.max_chars,
            min_chars=self.min_chars,
            window_sentences=self.window_sentences,
            overlap_sentences=self.overlap_sentences,
            max_passages=self.max_passages,
        )

    def passages(self, articles: pd.DataFrame) -> pd.DataFrame:
        """One row per passage, articles in row order: ``article_id`` (the feed id),
        ``article_pos`` (row position in ``articles``), ``passage_id``, ``index``, ``kind``,
        ``start``, ``end``, ``text``.

        Articles of a bloc that is never matched (``control``, where ``articles`` has a ``bloc``
        column) stay one whole passage, their article text: the sync graph pairs cn with ru units
        only and the shared-news check reads control *article* vectors, so their passages would be
        embedded for nothing (on the 2022 feeds, 6,189 of 9,751 passage texts: Ukrainian
        presidential press releases)."""
        blocs = articles["bloc"] if "bloc" in articles else pd.Series("", index=articles.index)
        fields = zip(
            articles["id"], articles["title"].fillna(""), articles["text"].fillna(""), blocs, strict=True
        )
        rows = [
            (article_id, pos, p.id(article_id), p.index, p.kind, p.start, p.end, p.text)
            for pos, (article_id, title, text, bloc) in enumerate(fields)
            for p in (
                [whole_passage(title, text, self.embedding.max_chars)]
                if bloc in UNMATCHED_BLOCS
                else self.split(title, text)
            )
        ]
        columns = ["article_id", "article_pos", "passage_id", "index", "kind", "start", "end", "text"]
        frame = pd.DataFrame(rows, columns=columns)
        log.info("passages: %d articles -> %d passages", len(articles), len(frame))
        return frame.astype({"article_pos": np.int64, "index": np.int64, "start": np.int64, "end": np.int64})

    def vectors(self, store: Store, passages: pd.DataFrame) -> np.ndarray:
        """L2-normalised vectors for ``passages`` in row order, embedding only uncached texts."""
        return self.embedding.embed_texts(store, passages["text"].tolist())[0]


class PassageMatcher:
    """Best passage pairs for article pairs given by feed id, over one run's passages.

    Parameters
    ----------
    passages : :meth:`PassageStage.passages` of the run's articles.
    vectors : their vectors, row for row.
    """

    def __init__(self, passages: pd.DataFrame, vectors: np.ndarray) -> None:
        self.passages = passages.reset_index(drop=True)
        self.vectors = vectors

    def best(self, ids_a: list[str], ids_b: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(similarity, passage row of a, passage row of b)`` per pair; ``-inf`` and ``-1``
        where an article has no passages here (e.g. stored by an earlier run)."""
        if not hasattr(self, "position_"):
            self.position_ = dict(zip(self.passages["article_id"], self.passages["article_pos"], strict=True))
        known = np.array(
            [a in self.position_ and b in self.position_ for a, b in zip(ids_a, ids_b, strict=True)]
        )
        sims = np.full(len(ids_a), -np.inf, dtype=np.float32)
        rows_a = np.full(len(ids_a), -1, dtype=np.int64)
        rows_b = np.full(len(ids_a), -1, dtype=np.int64)
        if known.any():
            qa = np.array([self.position_[a] for a, ok in zip(ids_a, known, strict=True) if ok])
            qb = np.array([self.position_[b] for b, ok in zip(ids_b, known, strict=True) if ok])
            sims[known], rows_a[known], rows_b[known] = best_passage_pairs(
                self.vectors, self.passages["article_pos"].to_numpy(), qa, qb
            )
        return sims, rows_a, rows_b

    def evidence(self, row: int) -> tuple[str, int, int]:
        """Text, start and end offsets of a passage row (``("", -1, -1)`` for none)."""
        if row < 0:
            return "", -1, -1
        passage = self.passages.iloc[row]
        return str(passage["text"]), int(passage["start"]), int(passage["end"])
