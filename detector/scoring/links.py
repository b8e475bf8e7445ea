"""How two articles of one narrative are linked: ``citation``, ``republication`` or ``echo``.

* ``citation``: one article names the other's outlet as its source ("citing TASS", "据塔斯社报道",
  "по данным Синьхуа", "según Sputnik"): a name from the registry's ``cited_as`` list with an
  attribution cue within ``citation_window_chars`` of it. Checked first, because an explicit
  attribution is the strongest, verifiable evidence of amplification.
* ``republication``: a near-verbatim copy in the same or another language: cosine at least
  ``republication_similarity``, confirmed by the numbers in both texts when both have any (a
  translation keeps "96.6" and "2014"; a new write-up rarely keeps all of them).
* ``echo``: the same narrative, independently worded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

import pandas as pd

from detector.params import Constraint, Interval, validate_params
from detector.sources.registry import OutletRegistry

# Attribution cues, lower-cased. Latin and Cyrillic cues are matched as words; CJK ones anywhere.
CUES = (
    "citing", "cited", "according to", "reported", "reports", "said", "told", "quoted", "via",
    "сообщает", "сообщило", "сообщил", "по данным", "по сообщению", "со ссылкой на", "передает",
    "пишет", "заявил", "цитирует", "según", "citando", "informó", "selon", "citant", "rapporte",
    "laut", "berichtet", "نقلا عن", "وفقا", "ذكرت",
    "据", "报道", "援引", "引述", "援用",
)  # fmt: skip
# Wire-style attribution at the end of a headline: "Putin authorizes operation in Donbass: TASS".
TRAILING = r"(?:[:：]|--|—|–|-)\s*{name}\s*$"
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _name_pattern(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    # Word boundaries make "RIA" not match inside "Syria"; CJK names have no word boundaries.
    return re.compile(escaped if CJK.search(name) else rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def numbers(text: str) -> set[str]:
    return {n.replace(",", ".") for n in NUMBER.findall(text)}


class LinkClassifier:
    """Labels cross-bloc evidence pairs.

    Parameters
    ----------
    registry : the outlet registry (its ``cited_as`` names).
    republication_similarity : cosine from which a pair is a near-verbatim copy.
    citation_window_chars : how close an attribution cue must be to the outlet's name.
    """

    parameter_section: ClassVar[str] = "links"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "republication_similarity": Interval(-1.0, 1.0),
        "citation_window_chars": Interval(0, 10_000),
    }

    def __init__(
        self,
        registry: OutletRegistry,
        republication_similarity: float = 0.75,
        citation_window_chars: int = 40,
    ) -> None:
        self.registry = registry
        self.republication_similarity = republication_similarity
        self.citation_window_chars = citation_window_chars
        validate_params(self)

    def cites(self, text: str, outlet: str) -> bool:
        """Whether ``text`` names ``outlet`` as a source."""
        entry = self.registry.get(outlet)
        names: Iterable[str] = entry.cited_as if entry and entry.cited_as else (outlet,)
        lowered = text.lower()
        for name in names:
            trailing = re.compile(TRAILING.format(name=re.escape(name)), re.IGNORECASE | re.MULTILINE)
            if trailing.search(text):
                return True
            for match in _name_pattern(name).finditer(text):
                lo = max(0, match.start() - self.citation_window_chars)
                context = lowered[lo : match.end() + self.citation_window_chars]
                if any(cue in context for cue in CUES):
                    return True
        return False

    def classify(self, text_a: str, outlet_a: str, text_b: str, outlet_b: str, similarity: float) -> str:
        if self.cites(text_a, outlet_b) or self.cites(text_b, outlet_a):
            return "citation"
        if similarity >= self.republication_similarity:
            nums_a, nums_b = numbers(text_a), numbers(text_b)
            if not nums_a or not nums_b or nums_a & nums_b:
                return "republication"
        return "echo"

    def label_pairs(self, pairs: pd.DataFrame, articles: pd.DataFrame) -> pd.Series:
        """``link_type`` for each row of ``pairs.csv`` (``cn_id``, ``ru_id``, ``similarity``)."""
        text = (articles["title"].fillna("") + "\n" + articles["text"].fillna("")).set_axis(articles["id"])
        outlet = articles.set_index("id")["outlet"]
        return pd.Series(
            [
                self.classify(text[a], outlet[a], text[b], outlet[b], float(sim))
                for a, b, sim in zip(pairs["cn_id"], pairs["ru_id"], pairs["similarity"], strict=True)
            ],
            index=pairs.index,
            dtype=str,
        )
