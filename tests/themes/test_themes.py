"""Unit tests of the theme stage's parts: labels (real text), synchronisation statistics, the
nulls (seeded generators) and discovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.errors import ConfigError
from detector.themes.discovery import WindowedAgglomerative, condensed_distances, cut_tree, renumber
from detector.themes.labels import (
    chinese_tokens,
    ctfidf_keywords,
    english_tokens,
    russian_tokens,
    theme_labels,
)
from detector.themes.null import (
    bh_q_values,
    decoy_offsets,
    null_note,
    outlet_shift_p,
    q_and_p,
    shift_hours,
)
from detector.themes.stage import ThemeStage
from detector.themes.sync import (
    burst_days,
    cross_correlation,
    daily_counts,
    shared_burst,
    theme_timing,
)
from tests.conftest import ROOT

# ---- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_condensed_distances_are_scipys_pdist(metric: str) -> None:
    from scipy.spatial.distance import pdist

    units = np.random.default_rng(7).normal(size=(301, 16))
    got = condensed_distances(units, metric, block=64)  # several blocks, a ragged last one
    assert got.shape == (301 * 300 // 2,)
    np.testing.assert_allclose(got, pdist(units, metric), rtol=0, atol=1e-12)


def test_russian_tokens_are_lemmas_without_function_words() -> None:
    # A real Russian quote of file E (tests/data/campaign_ev61_2022.csv, RIA Novosti's).
    text = (
        pd.read_csv(ROOT / "tests" / "data" / "campaign_ev61_2022.csv").query("bloc == 'ru'")["text"].iloc[0]
    )
    tokens = russian_tokens(text)
    assert tokens
    assert all(t == t.lower() for t in tokens)
    assert not {"и", "в", "на", "что", "не"} & set(tokens)
    assert russian_tokens("лабораториями лабораторий лаборатории") == ["лаборатория"] * 3


def test_chinese_tokens_are_words_not_characters() -> None:
    tokens = chinese_tokens("美国在乌克兰的生物实验室引发国际社会关注")
    assert "美国" in tokens
    assert "乌克兰" in tokens
    assert all(len(t) >= 2 for t in tokens)


def test_english_tokens_drop_stop_words() -> None:
    assert english_tokens("The US has secret biolabs in Ukraine, and they are dangerous") == [
        "secret", "biolabs", "ukraine", "dangerous",
    ]  # fmt: skip


def test_ctfidf_ranks_a_word_of_one_class_above_a_word_of_every_class() -> None:
    classes = [["nato", "war", "war"], ["biolab", "war"], ["war", "grain"]]
    top = ctfidf_keywords(classes, 1)
    assert top == [["nato"], ["biolab"], ["grain"]]
    assert ctfidf_keywords([[], ["a"]], 2) == [[], ["a"]]


def test_theme_labels_are_per_language_and_joined() -> None:
    texts = ["NATO expansion threatens Russia", "NATO expansion again", "Расширение НАТО угрожает России"]
    labels = theme_labels(texts, ["en", "en", "ru"], [0, 0, 0], 2)
    assert labels["en"][0].split("; ")[0] in {"nato", "expansion"}
    assert "нато" in labels["ru"][0]
    assert labels["zh"] == {}


# ---- synchronisation ------------------------------------------------------------------------


def test_daily_counts_and_cross_correlation_find_the_lag() -> None:
    cn = np.array([0, 0, 5, 0, 0, 0, 3, 0, 0, 0], dtype=float)
    ru = np.roll(cn, 2)  # ru two days after cn
    assert cross_correlation(cn, ru, 3) == (2, pytest.approx(1.0))
    assert cross_correlation(ru, cn, 3)[0] == -2
    assert cross_correlation(np.zeros(5), ru[:5], 2) == (0, pytest.approx(np.nan, nan_ok=True))
    hours = np.array([0.5, 23.0, 24.0, 24 * 9 + 1]) + 24 * 100
    assert daily_counts(hours, 100, 10).tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_burst_days_need_both_blocs_above_their_baseline_within_the_lag() -> None:
    cn = np.array([0, 4, 0, 0, 0, 0, 0, 0, 4, 0], dtype=float)
    ru = np.array([0, 0, 3, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    assert burst_days(cn, ru, 1) == [1, 2]  # cn's day 8 has no ru burst near it


def test_theme_timing_leader_lag_and_bursts() -> None:
    hours = np.array([10.0, 30.0, 5.0, 50.0]) + 24 * 1000
    outlets = np.array(["CGTN", "Xinhua", "RT", "TASS"])
    is_cn = np.array([True, True, False, False])
    timing = theme_timing(hours, outlets, is_cn, 1000, 7, 72)
    assert timing.first_ru == pytest.approx(24 * 1000 + 5)
    assert timing.leader == "ru"  # RT, 5 h before CGTN
    assert timing.lag_hours == pytest.approx(5.0)
    assert all(1000 <= d < 1007 for d in timing.burst_days)


def test_the_bloc_of_the_earliest_member_leads_by_the_gap_between_the_blocs_firsts() -> None:
    hours = np.array([30.0, 31.0, 20.0, 21.0])
    outlets = np.array(["CGTN", "Xinhua", "RT", "TASS"])
    is_cn = np.array([True, True, False, False])
    timing = theme_timing(hours, outlets, is_cn, 0, 3, 72)
    assert (timing.leader, timing.lag_hours) == ("ru", pytest.approx(10.0))
    timing = theme_timing(hours, outlets, ~is_cn, 0, 3, 72)  # the blocs swapped: cn first at 20 h
    assert (timing.leader, timing.lag_hours) == ("cn", pytest.approx(10.0))


def test_shared_burst_counts_the_weaker_blocs_outlets_within_the_lag() -> None:
    hours = np.array([[0.0, 1.0, 2.0, 10.0, 50.0, 500.0]])
    outlets = np.array(["CGTN", "CGTN", "Xinhua", "RT", "TASS", "Sputnik"])
    is_cn = np.array([True, True, True, False, False, False])
    # Window from 0 h: CGTN, Xinhua | RT, TASS -> 2, plus the share of outlets in it (4 of 5).
    assert shared_burst(hours, outlets, is_cn, 72, 1000)[0] == pytest.approx(2 + 0.999 * 4 / 5)
    # On a 520 h circle Sputnik (500 h) is 20 h before 0 h: three ru outlets but still two cn.
    assert shared_burst(hours, outlets, is_cn, 72, 520)[0] == pytest.approx(2 + 0.999)
    one_bloc = shared_burst(hours[:, :3], outlets[:3], is_cn[:3], 72, 1000)[0]
    assert one_bloc < 1


# ---- nulls ----------------------------------------------------------------------------------


def synchronised(n_outlets: int, spread: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    hours = rng.uniform(0, spread, size=2 * n_outlets) + 200
    outlets = np.array([f"cn{i}" for i in range(n_outlets)] + [f"ru{i}" for i in range(n_outlets)])
    return hours, outlets, np.arange(2 * n_outlets) < n_outlets


def test_outlet_shift_p_is_small_for_outlets_in_step_and_uniform_otherwise() -> None:
    rng = np.random.default_rng(7)
    hours, outlets, is_cn = synchronised(3, 48, rng)
    assert outlet_shift_p(hours, outlets, is_cn, 72, 24 * 60, 999, np.random.default_rng(1)) < 0.01
    # Outlets scattered over the period at random: p-values spread over (0, 1].
    ps = []
    for seed in range(60):
        r = np.random.default_rng(100 + seed)
        scattered = r.uniform(0, 24 * 60, size=6)
        ps.append(outlet_shift_p(scattered, outlets, is_cn, 72, 24 * 60, 199, r))
    assert 0.3 < float(np.mean(ps)) < 0.75
    assert np.mean(np.array(ps) <= 0.1) < 0.25


def test_outlet_shift_p_is_reproducible_with_the_same_seed() -> None:
    hours, outlets, is_cn = synchronised(3, 48, np.random.default_rng(3))
    one = outlet_shift_p(hours, outlets, is_cn, 72, 1000, 199, np.random.default_rng(5))
    assert one == outlet_shift_p(hours, outlets, is_cn, 72, 1000, 199, np.random.default_rng(5))


def test_bh_q_values_match_a_hand_computation() -> None:
    q = bh_q_values(np.array([0.01, 0.04, 0.03, 0.5]))
    # sorted p 0.01, 0.03, 0.04, 0.5 -> p * 4 / rank 0.04, 0.06, 0.0533, 0.5 -> running min from the top
    assert q.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert bh_q_values(np.array([])).size == 0


def test_decoy_offsets_stay_clear_of_the_guard_and_vanish_on_short_periods() -> None:
    offsets = decoy_offsets(24 * 60, 240, 8, np.random.default_rng(0))
    assert len(offsets) == 8
    assert offsets.min() >= 240
    assert offsets.max() <= 24 * 60 - 240
    assert decoy_offsets(24 * 7, 240, 8, np.random.default_rng(0)).size == 0
    assert "no timing null has power" in null_note(24 * 7, 21)
    assert null_note(24 * 60, 21) == ""


def test_shift_hours_wraps_only_the_shifted_rows() -> None:
    hours = np.array([10.0, 90.0, 95.0])
    out = shift_hours(hours, np.array([False, True, True]), 20, 0, 100)
    assert out.tolist() == [10.0, 10.0, 15.0]


def test_q_and_p_against_decoys() -> None:
    q, p = q_and_p(np.array([5.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0, 1.0]), 2)
    assert q[0] == 0.0
    assert p[0] == pytest.approx(1 / 5)
    assert q[2] == 1.0
    assert p[2] == 1.0


# ---- discovery ------------------------------------------------------------------------------


def clustered_vectors(rng: np.random.Generator, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(size=(len(sizes), 32))
    rows = [centres[i] + 0.2 * rng.normal(size=(n, 32)) for i, n in enumerate(sizes)]
    vectors = np.vstack(rows)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.repeat(np.arange(len(sizes)), sizes)


def test_windowed_agglomerative_finds_groups_in_time_and_content() -> None:
    rng = np.random.default_rng(0)
    vectors, truth = clustered_vectors(rng, [8, 8, 8])
    hours = 24 * 1000 + rng.uniform(0, 48, size=len(vectors))
    labels = (
        WindowedAgglomerative(7, 0.5, 60, 3, False, "average")
        .fit(vectors, hours, np.array(["en"] * 24))
        .labels_
    )
    assert len(set(labels)) == 3
    assert -1 not in labels
    for group in set(labels):
        assert len(set(truth[labels == group])) == 1
    # The same content a month apart is two groups, not one.
    far = hours + np.where(np.arange(24) % 2 == 0, 0, 24 * 30)
    split = (
        WindowedAgglomerative(7, 0.5, 60, 3, False, "average")
        .fit(vectors, far, np.array(["en"] * 24))
        .labels_
    )
    assert len(set(split) - {-1}) >= 5


def test_a_group_larger_than_max_units_is_split_along_its_tree() -> None:
    rng = np.random.default_rng(1)
    vectors, _ = clustered_vectors(rng, [30, 30])
    hours = np.full(60, 24 * 1000 + 12.0)
    labels = (
        WindowedAgglomerative(7, 1.9, 40, 3, False, "average")
        .fit(vectors, hours, np.array(["en"] * 60))
        .labels_
    )
    assert np.bincount(labels[labels >= 0]).max() <= 40


def test_cut_tree_and_renumber() -> None:
    from scipy.cluster.hierarchy import linkage, to_tree

    points = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [9.0]])
    tree = to_tree(linkage(points, method="average"))
    assert sorted(map(sorted, cut_tree(tree, 1.0, 10, 2))) == [[0, 1, 2], [3, 4]]
    assert renumber(np.array([3, 3, -1, 1, 1, 1, 7]), 2).tolist() == [0, 0, -1, 1, 1, 1, -1]


def test_stage_parameters_are_checked_once() -> None:
    with pytest.raises(ConfigError, match="null"):
        ThemeStage(null="nonsense")
    with pytest.raises(ConfigError, match="min_outlets"):
        ThemeStage(min_outlets=0)
    assert type(ThemeStage().discovery()).__name__ == "WindowedAgglomerative"
