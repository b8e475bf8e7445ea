"""Readable labels: each theme's top keywords per language, by class-based TF-IDF (c-TF-IDF, as
BERTopic labels its topics: Grootendorst 2022) over proper tokens, never characters.

Tokens: words of Chinese by jieba's segmenter, Russian lemmas by pymorphy3 (so "НАТО", "НАТО-вских"
and "альянса"/"альянс" count as one word each), English words lower-cased; function words are
dropped (English stop words, Russian parts of speech that carry no topic, Chinese single
characters). jieba and pymorphy3 ship their dictionaries in their wheels: nothing is downloaded.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import numpy as np

from detector.errors import ConfigError

LABEL_LANGUAGES = ("en", "ru", "zh")
WORD_EN = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]")
WORD_RU = re.compile(r"[А-Яа-яЁё][А-Яа-яЁё\-]*[А-Яа-яЁё]")
HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")
# pymorphy3 tags that carry no topic: prepositions, conjunctions, particles, pronouns,
# interjections, predicatives, numerals, adverbs and gerunds.
RU_SKIP = frozenset({"PREP", "CONJ", "PRCL", "NPRO", "INTJ", "PRED", "NUMR", "ADVB", "GRND", "COMP"})
# Frequent Chinese words of news prose that name no topic (jieba keeps them as words).
ZH_SKIP = frozenset(
    [
        "我们",
        "他们",
        "表示",
        "进行",
        "一个",
        "没有",
        "已经",
        "以及",
        "这些",
        "这个",
        "同时",
        "可以",
        "相关",
        "目前",
        "通过",
        "其中",
        "对于",
        "此前",
        "记者",
        "报道",
        "新闻",
    ]
)


def require(module: str, extra: str) -> Any:
    """``module`` imported, or a :class:`ConfigError` naming the package to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"theme labels need the package {extra!r}, which is not installed. "
            f"Fix: pip install {extra} (it is a core dependency in pyproject.toml)."
        ) from None


@cache
def _jieba() -> Any:
    jieba = require("jieba", "jieba")
    jieba.setLogLevel(logging.WARNING)  # its dictionary-load chatter is not our log
    return jieba


@cache
def _morph() -> Any:
    return require("pymorphy3", "pymorphy3").MorphAnalyzer()


def english_tokens(text: str) -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (w.lower() for w in WORD_EN.findall(text))
    return [w for w in words if len(w) > 2 and w not in ENGLISH_STOP_WORDS]


def russian_tokens(text: str) -> list[str]:
    morph, out = _morph(), []
    for word in WORD_RU.findall(text):
        parse = morph.parse(word)[0]
        if parse.tag.POS not in RU_SKIP and len(parse.normal_form) > 2:
            out.append(parse.normal_form)
    return out


def chinese_tokens(text: str) -> list[str]:
    return [w for w in _jieba().lcut(text) if HAN.match(w) and w not in ZH_SKIP]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "en": english_tokens,
    "ru": russian_tokens,
    "zh": chinese_tokens,
}


def ctfidf_keywords(classes: list[Iterable[str]], top: int) -> list[list[str]]:
    """The ``top`` words of each class (a list of tokens per class) by c-TF-IDF: a word's share
    of its class times ``log(1 + A / f)`` with ``A`` the mean class size in words and ``f`` the
    word's count over all classes. Ties go to the alphabetically first word."""
    counts = [Counter(c) for c in classes]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    if not total:
        return [[] for _ in counts]
    average = sum(total.values()) / max(1, sum(1 for c in counts if c))
    out = []
    for c in counts:
        size = sum(c.values())
        scored = sorted(
            ((-(n / size) * np.log1p(average / total[w]), w) for w, n in c.items()), key=lambda x: x
        )
        out.append([w for _, w in scored[:top]])
    return out


def theme_labels(
    texts: list[str], languages: list[str], themes: list[int], top: int
) -> dict[str, dict[int, str]]:
    """``{language: {theme: "kw1; kw2; ..."}}`` for :data:`LABEL_LANGUAGES`, from the members'
    ``texts`` (the passage that put each in its theme); a theme with no text in a language has
    no entry for it."""
    labels: dict[str, dict[int, str]] = {}
    for language in LABEL_LANGUAGES:
        tokens: dict[int, list[str]] = {}
        for text, lang, theme in zip(texts, languages, themes, strict=True):
            if lang == language:
                tokens.setdefault(theme, []).extend(TOKENIZERS[language](text))
        keys = sorted(tokens)
        words = ctfidf_keywords([tokens[k] for k in keys], top)
        labels[language] = {k: "; ".join(w) for k, w in zip(keys, words, strict=True) if w}
    return labels
