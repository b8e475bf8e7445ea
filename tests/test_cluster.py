from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from detector.cluster import Window, WindowClusterer, window_grid


def test_grid_is_aligned_so_incremental_and_batch_runs_see_the_same_windows() -> None:
    day1 = window_grid(datetime(2022, 3, 8, 5, tzinfo=UTC), datetime(2022, 3, 8, 20, tzinfo=UTC), 72, 24)
    both = window_grid(datetime(2022, 3, 8, 5, tzinfo=UTC), datetime(2022, 3, 9, 20, tzinfo=UTC), 72, 24)
    assert day1 == both[: len(day1)]
    assert [w.start.day for w in day1] == [6, 7, 8]
    assert all(w.end - w.start == pd.Timedelta(hours=72) for w in both)


def blobs(seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 16))
    x = np.vstack([c + 0.05 * rng.standard_normal((6, 16)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [f"a{i:02d}" for i in range(len(x))]


def run(clusterer: WindowClusterer, windows, members) -> pd.DataFrame:
    result, _ = clusterer.run(
        windows, members, lambda w: pd.DataFrame(columns=["narrative_id", "article_id"])
    )
    return result


def test_clusters_continue_across_windows_with_stable_ids() -> None:
    x, ids = blobs(0)
    frame = pd.DataFrame({"id": ids})
    w1 = Window(datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 3, 4, tzinfo=UTC))
    w2 = Window(datetime(2022, 3, 2, tzinfo=UTC), datetime(2022, 3, 5, tzinfo=UTC))
    result = run(WindowClusterer(), [w1, w2], lambda w: (frame, x))
    per_window = result.groupby("window_start")["narrative_id"].apply(set)
    assert len(per_window.iloc[0]) == 3
    assert per_window.iloc[0] == per_window.iloc[1]  # the same narratives, the same ids
    assert run(WindowClusterer(), [w1, w2], lambda w: (frame, x)).equals(result)  # deterministic


def test_tiny_window_is_all_noise() -> None:
    x, ids = blobs(1)
    w = Window(datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 3, 4, tzinfo=UTC))
    result = run(WindowClusterer(min_cluster_size=2), [w], lambda _: (pd.DataFrame({"id": ids[:2]}), x[:2]))
    assert result.empty
