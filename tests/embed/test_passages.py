"""Passage layer on real text (see tests/data/SOURCE.md): splitting, offsets, stable ids, the
embedding cache per passage (real USE model, real DuckDB store) and the article-pair roll-up."""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.config import Config
from detector.embed.embedding import Embedder, EmbeddingStage, embedding_text
from detector.embed.passage_pairs import best_passage_pairs
from detector.embed.passages import PassageStage, split_passages
from detector.errors import ConfigError
from detector.store.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "passages_real.json"
ITEMS = {item["id"]: item for item in json.loads(DATA.read_text(encoding="utf-8"))}
KREMLIN, CCTV, RIA, GT = "k_67996", "c_20220319_01", "d_rian_ru_270605", "a_65e833a9c614"
DEFAULTS = {k: v for k, v in asdict(Config().passages).items() if k != "unit"}
BIOLABS = "network of dozens of laboratories in Ukraine, where military biological programmes"


def split(item_id: str, **overrides: int) -> list:
    item = ITEMS[item_id]
    return split_passages(item["title"], item["text"], **{**DEFAULTS, **overrides})


def articles(*item_ids: str) -> pd.DataFrame:
    return pd.DataFrame([ITEMS[i] for i in item_ids])


@pytest.mark.parametrize(
    ("item_id", "max_chars"), [(KREMLIN, 1000), (CCTV, 1000), (CCTV, 200), (RIA, 1000), (RIA, 300)]
)
def test_body_offsets_give_back_the_exact_passage_text_and_cover_the_body(
    item_id: str, max_chars: int
) -> None:
    item = ITEMS[item_id]
    passages = split(item_id, max_chars=max_chars)
    text = item["text"]
    assert len(passages) > 2
    assert [p.index for p in passages] == list(range(len(passages)))
    covered = np.zeros(len(text), dtype=bool)
    for p in passages:
        if p.kind == "title":
            assert (p.start, p.end, p.text) == (-1, -1, item["title"].strip())
            continue
        assert p.kind == "body"
        assert text[p.start : p.end] == p.text
        assert len(p.text) < max_chars + DEFAULTS["min_chars"]
        covered[p.start : p.end] = True
    # Nothing of the body is lost: all but whitespace and "* * *" section breaks lies in a passage.
    assert all(covered[i] or text[i].isspace() or text[i] == "*" for i in range(len(text)))


def test_long_transcript_is_split_into_sentence_windows_and_one_holds_the_biolabs_claim() -> None:
    passages = split(KREMLIN)
    assert passages[0].kind == "title"
    holders = [p for p in passages if BIOLABS in p.text]
    assert len(holders) == 1
    # Windows end at sentence ends, and consecutive windows of one paragraph share a sentence.
    body = [p for p in passages if p.kind == "body"]
    assert all(p.text[-1] in ".!?…\"'»”" for p in body)
    assert any(b.start < a.end for a, b in itertools.pairwise(body))


def test_chinese_windows_end_at_chinese_sentence_ends() -> None:
    body = [p for p in split(CCTV, max_chars=200) if p.kind == "body"]
    paragraph_ends = {i for i, ch in enumerate(ITEMS[CCTV]["text"]) if ch == "\n"} | {
        len(ITEMS[CCTV]["text"])
    }
    assert all(p.text[-1] in "。！？；”’」』" or p.end in paragraph_ends for p in body)
    assert any(p.text[-1] in "。！？；" and p.end not in paragraph_ends for p in body)


def test_abbreviations_do_not_end_sentences() -> None:
    # Question of 2022-03-02 at the PRC MFA press conference (m_cn_26777 in the dev corpus).
    text = (
        "The Russian Foreign Minister Sergey Lavrov has said there is a real threat of a third world war "
        "breaking out following his country’s invasion of Ukraine. Does China share Mr. Lavrov’s view on "
        "that? And what preparations is China taking in case the scope of the war grows larger?"
    )
    windows = split_passages(
        "", text, max_chars=60, min_chars=0, window_sentences=1, overlap_sentences=0, max_passages=100
    )
    assert any("Mr. Lavrov’s view" in p.text for p in windows)
    assert not any(p.text.endswith("Mr.") for p in windows)


@pytest.mark.parametrize(("item_id", "max_chars"), [(GT, 1000), (RIA, 2000), (CCTV, 2000)])
def test_short_items_are_one_passage_equal_to_the_article_embedding_text(
    item_id: str, max_chars: int
) -> None:
    item = ITEMS[item_id]
    (passage,) = split(item_id, max_chars=max_chars)
    assert passage.kind == "whole"
    assert passage.text == embedding_text(item["title"], item["text"], 2000)
    assert passage.text.endswith(item["text"][passage.start : passage.end])


def test_ids_are_stable_across_resplits_and_an_edit_changes_only_its_passage() -> None:
    first = [p.id(CCTV) for p in split(CCTV)]
    assert first == [p.id(CCTV) for p in split(CCTV)]
    assert len(set(first)) == len(first)
    assert all(pid.startswith(f"{CCTV}:{i}:") for i, pid in enumerate(first))
    text = ITEMS[CCTV]["text"]
    edited = text.replace("中方历来主张和平，反对战争", "中方始终主张和平，反对战争")
    assert edited != text
    after = [p.id(CCTV) for p in split_passages(ITEMS[CCTV]["title"], edited, **DEFAULTS)]
    assert len(after) == len(first)
    assert sum(a != b for a, b in zip(first, after, strict=True)) == 1


def test_max_passages_keeps_the_first_and_says_how_many_were_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = split(KREMLIN)
    with caplog.at_level(logging.INFO, logger="detector.embed.passages"):
        capped = split(KREMLIN, max_passages=3)
    assert capped == full[:3]
    assert f"kept the first 3 of {len(full)} passages" in caplog.text


def test_overlap_must_be_smaller_than_the_window() -> None:
    with pytest.raises(ConfigError, match=r"overlap_sentences = 2 must be smaller than window_sentences = 2"):
        split(KREMLIN, window_sentences=2, overlap_sentences=2)


def test_best_passage_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    n_articles = 60
    counts = rng.choice([0, 1, 1, 1, 2, 5, 17], size=n_articles)
    article = rng.permutation(np.repeat(np.arange(n_articles), counts))  # rows not grouped by article
    vectors = rng.standard_normal((len(article), 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.integers(0, n_articles, 500)
    candidates = rng.integers(0, n_articles, 500)

    sims, rows_q, rows_c = best_passage_pairs(vectors, article, queries, candidates)

    for i, (q, c) in enumerate(zip(queries, candidates, strict=True)):
        q_rows, c_rows = np.flatnonzero(article == q), np.flatnonzero(article == c)
        if not len(q_rows) or not len(c_rows):
            assert (sims[i], rows_q[i], rows_c[i]) == (-np.inf, -1, -1)
            continue
        expected = (vectors[q_rows] @ vectors[c_rows].T).max()
        assert sims[i] == pytest.approx(expected, abs=1e-5)
        assert article[rows_q[i]] == q
        assert article[rows_c[i]] == c
        assert vectors[rows_q[i]] @ vectors[rows_c[i]] == pytest.approx(expected, abs=1e-5)


class CountingEmbedder:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def use_stage() -> EmbeddingStage:
    return EmbeddingStage()


def test_an_edited_paragraph_is_the_only_passage_embedded_again(
    use_stage: EmbeddingStage, tmp_path: Path
) -> None:
    counting = CountingEmbedder(use_stage.embedder)
    stage = PassageStage(embedding=replace_embedder(use_stage, counting))
    original = articles(CCTV, GT)
    edited = original.assign(
        text=original["text"].str.replace(
            "中方历来主张和平，反对战争", "中方始终主张和平，反对战争", regex=False
        )
    )
    with Store(tmp_path / "s.duckdb") as db:
        before_frame = stage.passages(original)
        before = stage.vectors(db, before_frame)
        assert len(counting.seen) == len(before_frame) > 3
        counting.seen.clear()
        np.testing.assert_array_equal(stage.vectors(db, before_frame), before)
        assert counting.seen == []

        after_frame = stage.passages(edited)
        after = stage.vectors(db, after_frame)
    changed = before_frame["passage_id"] != after_frame["passage_id"]
    assert changed.sum() == 1
    assert counting.seen == after_frame.loc[changed, "text"].tolist()
    np.testing.assert_array_equal(after[~changed.to_numpy()], before[~changed.to_numpy()])
    assert not np.allclose(after[changed.to_numpy()], before[changed.to_numpy()])


def replace_embedder(stage: EmbeddingStage, embedder: Embedder) -> EmbeddingStage:
    return EmbeddingStage(max_chars=stage.max_chars, batch_size=stage.batch_size, embedder=embedder)


def test_biolabs_paragraph_is_the_best_match_for_the_global_times_headline(
    use_stage: EmbeddingStage, tmp_path: Path
) -> None:
    frame = articles(GT, KREMLIN)
    stage = PassageStage(embedding=use_stage)
    with Store(tmp_path / "s.duckdb") as db:
        passages = stage.passages(frame)
        vectors = stage.vectors(db, passages)
        article_vectors = use_stage.vectors(db, frame)
    sims, row_q, row_c = best_passage_pairs(vectors, passages["article_pos"].to_numpy(), [0], [1])
    assert passages.loc[row_q[0], "kind"] == "whole"
    best = passages.loc[row_c[0]]
    # The window stating the claim, or the one overlapping it that goes on about "biological
    # weapons" (the two score within 0.01 of each other).
    (claim,) = passages.loc[passages["text"].str.contains(BIOLABS)].itertuples()
    assert best["start"] < claim.end
    assert best["end"] > claim.start
    assert "biological" in best["text"]
    assert ITEMS[KREMLIN]["text"][best["start"] : best["end"]] == best["text"]
    article_similarity = float(article_vectors[0] @ article_vectors[1])
    assert sims[0] > article_similarity + 0.15


def test_control_articles_stay_whole_and_share_their_article_vector() -> None:
    """Control outlets are never a side of a pair: a long control document is not split, and its
    one passage is the article text, whose vector the article stage has cached already."""
    as_control = articles(KREMLIN).assign(bloc="control", id="k_control")
    frame = pd.concat([articles(KREMLIN), as_control], ignore_index=True)
    stage = PassageStage()
    passages = stage.passages(frame)
    by_article = passages.groupby("article_pos").size()
    assert by_article[0] > 10
    assert by_article[1] == 1
    (control,) = passages[passages["article_pos"] == 1].itertuples()
    assert control.kind == "whole"
    assert control.text == stage.embedding.texts(as_control)[0]
