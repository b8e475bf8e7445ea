"""The best passage pair of each article pair: the cosine of two long articles is the best cosine
over their passages (a paragraph of a transcript can match a short news item), computed with one
GEMM per long article involved (:mod:`detector.embed.passages` splits the passages)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits


def best_passage_pairs(
    passage_vectors: np.ndarray,
    passage_article_pos: np.ndarray,
    query_article_pos: np.ndarray,
    candidate_article_pos: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each article pair ``(query_article_pos[i], candidate_article_pos[i])``: the best cosine
    over their passages and the passage rows (into ``passage_vectors``) that reach it.

    ``passage_vectors`` are L2-normalised rows; ``passage_article_pos[r]`` (>= 0) is the article of
    row ``r``. A pair whose article has no passage gets ``-inf`` and rows ``-1``; of tied passage
    pairs, one is returned. Single-passage pairs (the bulk: headlines) are one row-wise dot
    product. Every other pair is anchored at its article with more passages; per distinct anchor,
    one GEMM of its passages against all its partners' passages, reduced per partner. So the
    Python loop runs once per long article involved, not per pair or per passage.
    """
    vectors = np.ascontiguousarray(passage_vectors, dtype=np.float32)
    article = np.asarray(passage_article_pos, dtype=np.int64)
    queries = np.asarray(query_article_pos, dtype=np.int64)
    candidates = np.asarray(candidate_article_pos, dtype=np.int64)
    n_pairs = len(queries)
    sims = np.full(n_pairs, -np.inf, dtype=np.float32)
    best_q = np.full(n_pairs, -1, dtype=np.int64)
    best_c = np.full(n_pairs, -1, dtype=np.int64)
    if n_pairs == 0 or len(vectors) == 0:
        return sims, best_q, best_c

    # Passage rows grouped by article (CSR): rows order[first[a] : first[a] + count[a]].
    order = np.argsort(article, kind="stable")
    n_articles = int(max(article.max(), queries.max(), candidates.max())) + 1
    count = np.bincount(article, minlength=n_articles)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    nq, nc = count[queries], count[candidates]

    single = (nq == 1) & (nc == 1)
    if single.any():
        rq, rc = order[first[queries[single]]], order[first[candidates[single]]]
        sims[single] = np.einsum("ij,ij->i", vectors[rq], vectors[rc])
        best_q[single], best_c[single] = rq, rc

    flip = nc > nq
    anchors = np.where(flip, candidates, queries)
    partners = np.where(flip, queries, candidates)
    multi = np.flatnonzero(~single & (nq > 0) & (nc > 0))
    multi = multi[np.argsort(anchors[multi], kind="stable")]
    bounds = np.flatnonzero(np.diff(anchors[multi])) + 1
    # The blocks are small: threaded BLAS only adds synchronisation (4x slower on 2 shared cores).
    rows_of = (order, first, count)
    with threadpool_limits(limits=1, user_api="blas"):
        for group in np.split(multi, bounds) if len(multi) else []:
            sims[group], a_best, p_best = anchor_block(vectors, rows_of, anchors[group[0]], partners[group])
            best_q[group] = np.where(flip[group], p_best, a_best)
            best_c[group] = np.where(flip[group], a_best, p_best)
    return sims, best_q, best_c


def anchor_block(
    vectors: np.ndarray, rows_of: tuple[np.ndarray, np.ndarray, np.ndarray], anchor: int, partners: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One anchor article against its partner articles: one GEMM of the anchor's passages against
    all the partners' passages, reduced per partner to ``(best cosine, anchor row, partner row)``.
    ``rows_of``: the passage rows grouped by article (``order``, ``first``, ``count``, CSR)."""
    order, first, count = rows_of
    a_rows = order[first[anchor] : first[anchor] + count[anchor]]
    widths = count[partners]
    seg_start = np.concatenate([[0], np.cumsum(widths)[:-1]])
    # Passage rows of all the partners, concatenated pair after pair.
    within = np.arange(widths.sum()) - np.repeat(seg_start, widths)
    p_rows = order[np.repeat(first[partners], widths) + within]
    block = vectors[a_rows] @ vectors[p_rows].T  # (anchor passages, partner passages)
    col_best = block.argmax(axis=0)
    col_sim = block[col_best, np.arange(block.shape[1])]
    seg_sim = np.maximum.reduceat(col_sim, seg_start)
    # First column of each partner's segment that reaches the segment's maximum.
    hits = np.where(col_sim == np.repeat(seg_sim, widths), np.arange(len(col_sim)), len(col_sim))
    seg_col = np.minimum.reduceat(hits, seg_start)
    return seg_sim, a_rows[col_best[seg_col]], p_rows[seg_col]
