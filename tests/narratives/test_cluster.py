from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from detector.narratives.cluster import Window, WindowClusterer, rescue_noise, window_grid
from detector.narratives.density import Hdbscan
from detector.narratives.sync_graph import SyncGraph, add_passage_edges


def test_grid_is_aligned_so_incremental_and_batch_runs_see_the_same_windows() -> None:
    day1 = window_grid(datetime(2022, 3, 8, 5, tzinfo=UTC), datetime(2022, 3, 8, 20, tzinfo=UTC), 72, 24)
    both = window_grid(datetime(2022, 3, 8, 5, tzinfo=UTC), datetime(2022, 3, 9, 20, tzinfo=UTC), 72, 24)
    assert day1 == both[: len(day1)]
    assert [w.start.day for w in day1] == [6, 7, 8]
    assert all(w.end - w.start == pd.Timedelta(hours=72) for w in both)


def blobs(seed: int, per_blob: int = 6) -> tuple[np.ndarray, pd.DataFrame]:
    """Three tight groups of unit vectors; within each group blocs alternate cn / ru."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 16))
    x = np.vstack([c + 0.05 * rng.standard_normal((per_blob, 16)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    frame = pd.DataFrame(
        {
            "id": [f"a{i:02d}" for i in range(n)],
            "bloc": ["cn", "ru"] * (n // 2),
            "published_at": pd.Timestamp("2022-03-02T01:00Z") + pd.to_timedelta(np.arange(n), unit="h"),
        }
    )
    return x.astype(np.float32), frame


def run(clusterer: WindowClusterer, windows, frame: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
    no_history = pd.DataFrame(columns=["narrative_id", "article_id"])
    result, _ = clusterer.run(frame, x, windows, lambda w: no_history)
    return result


@pytest.mark.parametrize(
    "grouper", [SyncGraph(csls_k=3, min_csls=-1.0), Hdbscan()], ids=["sync-graph", "hdbscan"]
)
def test_clusters_continue_across_windows_with_stable_ids(grouper: SyncGraph | Hdbscan) -> None:
    x, frame = blobs(0)
    w1 = Window(datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 3, 4, tzinfo=UTC))
    w2 = Window(datetime(2022, 3, 2, tzinfo=UTC), datetime(2022, 3, 5, tzinfo=UTC))
    clusterer = WindowClusterer(grouper, rescue_similarity=0.9)
    result = run(clusterer, [w1, w2], frame, x)
    per_window = result.groupby("window_start")["narrative_id"].apply(set)
    assert len(per_window.iloc[0]) == 3
    assert per_window.iloc[0] == per_window.iloc[1]  # the same narratives, the same ids
    assert set(result["article_id"]) == set(frame["id"])  # every blob member is in a narrative
    assert run(clusterer, [w1, w2], frame, x).equals(result)  # deterministic


def test_tiny_window_is_all_noise() -> None:
    x, frame = blobs(1)
    w = Window(datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 3, 4, tzinfo=UTC))
    result = run(WindowClusterer(Hdbscan()), [w], frame[:2], x[:2])
    assert result.empty


def test_sync_graph_links_only_mutual_cross_bloc_pairs_above_min_csls() -> None:
    # Two cn-ru pairs that are each other's nearest, and a lone cn article.
    x = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 1, 0], [0.2, 0.98, 0], [0, 0, 1]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    blocs = np.array(["cn", "ru", "cn", "ru", "cn"])
    times = np.arange(5, dtype=np.int64) * 3600
    clusterer = WindowClusterer(SyncGraph(csls_k=2, mutual_rank=1, min_csls=0.0), rescue_similarity=1.0)
    labels, strength = clusterer.cluster_window(x, blocs, times)
    assert labels[0] == labels[1] != labels[2] == labels[3]
    assert labels[4] == -1
    assert (strength[:4] > 0).all()
    strict = WindowClusterer(SyncGraph(csls_k=2, mutual_rank=1, min_csls=1.5), rescue_similarity=1.0)
    assert (strict.cluster_window(x, blocs, times)[0] == -1).all()


def test_rescue_adds_near_copies_to_a_narrative() -> None:
    x, _ = blobs(2, per_blob=4)
    labels = np.array([0, 0, -1, -1] + [-1] * 8)
    strength = np.array([1.0, 1.0] + [0.0] * 10)
    rescued, rescued_strength = rescue_noise(x, labels, strength, 0.9)
    assert (rescued[:4] == 0).all()
    assert (rescued[4:] == -1).all()
    assert (rescued_strength[2:4] == 0).all()


def test_a_transcript_joins_two_narratives_through_two_passages_without_merging_them() -> None:
    # cn article A on story 1, cn article B on story 2, and one ru transcript T that opens on a
    # third subject (its article vector) and carries a paragraph on each story further down
    # (seeded random directions stand for the subjects).
    rng = np.random.default_rng(7)
    story1, story2, opening = rng.standard_normal((3, 32))
    units = np.vstack([story1, story2, opening, story1, story2]) + 0.1 * rng.standard_normal((5, 32))
    units = (units / np.linalg.norm(units, axis=1, keepdims=True)).astype(np.float32)
    unit_article = np.array([0, 1, 2, 2, 2])
    article_vectors = units[[0, 1, 2]]  # short items: their one passage; T: its opening
    articles = pd.DataFrame(
        {
            "id": ["A", "B", "T"],
            "bloc": ["cn", "cn", "ru"],
            "published_at": pd.to_datetime(["2022-03-16T01:00Z", "2022-03-16T02:00Z", "2022-03-16T03:00Z"]),
        }
    )
    window = Window(datetime(2022, 3, 15, tzinfo=UTC), datetime(2022, 3, 18, tzinfo=UTC))
    grouper = SyncGraph(
        csls_k=2, mutual_rank=2, min_csls=0.3, passage_min_csls=0.3, passage_min_similarity=0.5
    )
    clusterer = WindowClusterer(grouper, rescue_similarity=1.0)
    no_history = pd.DataFrame(columns=["narrative_id", "article_id"])
    passages = (units, unit_article)
    result, lineage = clusterer.run(articles, article_vectors, [window], lambda w: no_history, passages)
    narratives = sorted(sorted(g) for g in result.groupby("narrative_id")["article_id"].apply(set))
    assert narratives == [["A", "T"], ["B", "T"]]
    assert lineage.splits == lineage.merges == []
    # One vector per article sees only the transcript's opening: no narrative at all.
    blind, _ = clusterer.run(articles, article_vectors, [window], lambda w: no_history)
    assert blind.empty


def test_passage_edges_join_the_article_graph_only_through_long_articles() -> None:
    # Articles 0 (cn, short), 1 (ru, short), 2 (ru, long: passages 2 and 3 of the unit list).
    unit_article = np.array([0, 1, 2, 2])
    article_edges = pd.DataFrame(
        {"cn": [0], "ru": [1], "similarity": [0.8], "csls": [0.4], "cn_unit": [0], "ru_unit": [1]}
    )
    passage_edges = pd.DataFrame(
        {
            "cn": [0, 0], "ru": [1, 2], "similarity": [0.8, 0.6], "csls": [0.5, 0.3],
            "cn_unit": [0, 0], "ru_unit": [1, 3],
        }
    )  # fmt: skip
    edges, node_article = add_passage_edges(article_edges, passage_edges, unit_article, n_articles=3)
    # The short-short passage edge is the article graph's business: only the article edge stays.
    assert edges[["cn", "ru", "cn_unit", "ru_unit"]].values.tolist() == [[0, 1, 0, 1], [0, 2, 0, 3 + 3]]
    # Node 6 is the long article's second passage (unit 3), a node apart from article 2 itself.
    assert node_article.tolist() == [0, 1, 2, 0, 1, 2, 2]
    assert edges["csls"].tolist() == [0.4, 0.3]


def test_a_window_keeps_its_stored_ids_before_continuing_the_previous_window() -> None:
    from detector.narratives.lineage import Lineage, name_clusters, narrative_id

    start = datetime(2024, 11, 26, tzinfo=UTC)
    frame = pd.DataFrame({"label": [0, 0, 0, 0, 1, 1], "article_id": ["a", "b", "c", "d", "x", "y"]})
    stored = pd.DataFrame({"narrative_id": ["S", "S", "S"], "article_id": ["a", "b", "e"]})  # 2/3 shared
    previous = pd.DataFrame({"narrative_id": ["P"] * 4, "article_id": ["a", "b", "c", "d"]})  # all shared
    lineage = Lineage()
    named = name_clusters(start, frame, stored, previous, 0.3, lineage)
    assert named.groupby("label")["narrative_id"].first().tolist() == ["S", narrative_id(start, ["x", "y"])]
    assert lineage.merges == [(start.isoformat(), "S", "P")]  # P went on only inside S
    # Without history, the previous window's id continues; each run gives the same answer.
    fresh = name_clusters(start, frame, stored.iloc[:0], previous, 0.3, Lineage())
    assert fresh.groupby("label")["narrative_id"].first().tolist()[0] == "P"
    assert name_clusters(start, frame, stored, previous, 0.3, Lineage()).equals(named)
