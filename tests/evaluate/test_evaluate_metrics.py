"""Evaluation metrics against values computed by hand on tiny inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from detector.evaluate.data import sample_narrative_pairs
from detector.evaluate.metrics import (
    Event,
    Narrative,
    cluster_scores,
    noise_as_singletons,
    noise_rate,
    precision_recall_f1,
    roc_auc,
    score_events,
)
from detector.evaluate.metrics import average_precision as ap


def test_roc_auc_counts_correctly_ordered_pairs() -> None:
    # Positives 0.8, 0.4; negatives 0.6, 0.2: of the 4 (pos, neg) pairs 3 are ordered right.
    assert roc_auc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]) == pytest.approx(0.75)
    assert math.isnan(roc_auc([1, 1], [0.3, 0.4]))


def test_average_precision_by_hand() -> None:
    # Ranked: 0.8 (pos, P=1/1), 0.6 (neg), 0.4 (pos, P=2/3): AP = (1 + 2/3) / 2.
    assert ap([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]) == pytest.approx((1 + 2 / 3) / 2)


def test_precision_recall_f1_with_per_row_thresholds() -> None:
    y = [1, 1, 0, 0]
    scores = [0.7, 0.5, 0.6, 0.1]
    # One threshold 0.55: predicted = [1, 0, 1, 0] -> tp 1, fp 1, fn 1.
    at = precision_recall_f1(y, scores, 0.55)
    assert (at.tp, at.fp, at.fn) == (1, 1, 1)
    assert at.precision == pytest.approx(0.5)
    assert at.f1 == pytest.approx(0.5)
    # Per-row thresholds lower the second positive's bar: tp 2, fp 1 -> P 2/3, R 1, F1 0.8.
    at = precision_recall_f1(y, scores, [0.55, 0.4, 0.55, 0.55])
    assert (at.precision, at.recall, at.f1) == pytest.approx((2 / 3, 1.0, 0.8))


def test_noise_becomes_singletons_for_agreement_scores() -> None:
    assert noise_rate([0, 0, -1, -1]) == 0.5
    assert noise_as_singletons([0, -1, 1, -1]).tolist() == [0, 2, 1, 3]
    # Perfect clusters and no noise: every score is 1.
    perfect = cluster_scores(["a", "a", "b", "b"], [5, 5, 7, 7])
    assert (perfect.ari, perfect.homogeneity, perfect.completeness) == pytest.approx((1, 1, 1))
    # All noise: homogeneous singletons, but completeness and ARI collapse.
    noise = cluster_scores(["a", "a", "b", "b"], [-1, -1, -1, -1])
    assert noise.homogeneity == pytest.approx(1.0)
    assert noise.ari == pytest.approx(0.0)
    assert noise.completeness == pytest.approx(0.5)  # 1 - H(K|C)/H(K) = 1 - ln2/ln4
    assert noise.n_clusters == 0


def _event(eid: str, kind: str, leader: str, cn: str, ru: str) -> Event:
    return Event(eid, kind, leader, frozenset({cn}), frozenset({ru}))


def test_score_events_recall_leader_sweeps_and_false_flags() -> None:
    events = [
        _event("e1", "translation", "cn", "c1", "r1"),
        _event("e2", "claim", "ru", "c2", "r2"),
        _event("e3", "claim", "cn", "c3", "r3"),
    ]
    narratives = [
        Narrative("n1", frozenset({"c1", "r1", "x"}), "cn"),  # e1 found, leader right
        Narrative("n2", frozenset({"c2", "r2"}), "cn"),  # e2 found, leader wrong
        Narrative("n3", frozenset({"c3", "r3", "x", "y"}), "cn"),  # e3 in a sweep: 2 of 4 = half
        Narrative("n4", frozenset({"x", "z"}), "cn"),  # no event: a false flag
        Narrative("n5", frozenset({"c1", "z"}), "cn"),  # only one side of e1: a false flag
    ]
    s = score_events(events, narratives, n_articles=500)
    assert s.recall_by_kind == {"claim": 0.5, "translation": 1.0}
    assert s.mean_recall == pytest.approx(0.75)
    assert s.leader_accuracy == pytest.approx(0.5)
    assert s.n_sweeps == 1
    assert s.n_false_flags == 2
    assert s.false_flags_per_1000 == pytest.approx(4.0)
    assert s.found == ["e1", "e2"]


def test_narrative_pairs_are_balanced_labelled_and_seeded() -> None:
    rows = []
    for q, (n, c) in enumerate([("n1", "c1"), ("n1", "c1"), ("n1", "c2"), ("n2", "c3"), ("n2", "c3")]):
        for lang in ("en", "ru"):
            rows.append({"id": f"q{q}_{lang}", "language": lang, "text": "t", "quote_id": f"q{q}",
                         "claim_id": c, "narrative_id": n})  # fmt: skip
    frame = pd.DataFrame(rows)
    pairs = sample_narrative_pairs(frame, n_per_language_pair=3, seed=1)
    assert pairs.equals(sample_narrative_pairs(frame, n_per_language_pair=3, seed=1))
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    same = {k: frame[k].to_numpy() for k in ("quote_id", "claim_id", "narrative_id")}
    claim = pairs["kind"] == "claim"
    assert (same["claim_id"][i[claim]] == same["claim_id"][j[claim]]).all()
    assert (same["quote_id"][i[claim]] != same["quote_id"][j[claim]]).all()
    negative = (pairs["kind"] == "negative").to_numpy()
    assert (same["narrative_id"][i[negative]] != same["narrative_id"][j[negative]]).all()
    translation = (pairs["kind"] == "translation").to_numpy()
    assert (same["quote_id"][i[translation]] == same["quote_id"][j[translation]]).all()
    assert set(pairs.loc[translation, "language_pair"]) == {"en-ru"}
    # Same-language claim pairs: (q0,q1) and (q3,q4) per language -> 2 each, never a pair with itself.
    assert (pairs[claim & (pairs["language_pair"] == "en-en")].shape[0]) == 2
    assert not np.any(i == j)
    assert pairs.groupby(["language_pair", "kind"]).size().max() <= 3


def test_best_f1_threshold_by_hand() -> None:
    from detector.evaluate.pairs import best_f1_threshold

    # Cuts: >=0.8 -> F1 2/3; >=0.6 -> P 1/2 R 1/2 F1 1/2; >=0.4 -> P 2/3 R 1 F1 0.8; >=0.2 -> F1 2/3.
    y = np.array([1, 0, 1, 0])
    assert best_f1_threshold(y, np.array([0.8, 0.6, 0.4, 0.2])) == pytest.approx((0.4, 0.8))
    # Tied scores cannot be split: the cut at 0.5 takes both.
    assert best_f1_threshold(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx((0.5, 2 / 3))
