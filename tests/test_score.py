from __future__ import annotations

import numpy as np
import pandas as pd

from detector.score import SyncScorer


def members(blocs: list[str], hours: list[float], languages: list[str] | None = None) -> pd.DataFrame:
    n = len(blocs)
    return pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(n)],
            "outlet": [f"{b}-outlet{i}" for i, b in enumerate(blocs)],
            "bloc": blocs,
            "language": languages or ["en"] * n,
            "published_at": pd.Timestamp("2022-03-08T00:00Z") + pd.to_timedelta(hours, unit="h"),
            "title": [f"title {i}" for i in range(n)],
            "text": [""] * n,
            "url": [""] * n,
        }
    )


def vectors(sim: float, n: int = 2) -> np.ndarray:
    """First vector e1; the others at cosine ``sim`` to it."""
    v = np.zeros((n, 2), dtype=np.float32)
    v[0] = [1, 0]
    v[1:] = [sim, np.sqrt(1 - sim**2)]
    return v


def test_flag_carries_lag_direction_and_best_pair() -> None:
    row = SyncScorer(min_similarity=0.5).score("N1", members(["cn", "ru"], [0, 30]), vectors(0.8))
    assert row is not None
    assert row["direction"] == "cn->ru"
    assert row["lag_hours"] == 30.0
    assert (row["best_cn_id"], row["best_ru_id"]) == ("a0", "a1")
    assert row["best_similarity"] == 0.8


def test_lag_sign_flips_when_blocs_swap() -> None:
    scorer = SyncScorer(min_similarity=0.5)
    a = scorer.score("N", members(["cn", "ru"], [0, 30]), vectors(0.8))
    b = scorer.score("N", members(["ru", "cn"], [0, 30]), vectors(0.8))
    assert a is not None
    assert b is not None
    assert a["lag_hours"] == -b["lag_hours"]
    assert b["direction"] == "ru->cn"


def test_single_bloc_too_far_or_too_dissimilar_is_not_flagged() -> None:
    scorer = SyncScorer(min_similarity=0.5, max_lag_hours=72)
    assert scorer.score("N", members(["cn", "cn"], [0, 1]), vectors(0.9)) is None
    assert scorer.score("N", members(["cn", "ru"], [0, 100]), vectors(0.9)) is None
    assert scorer.score("N", members(["cn", "ru"], [0, 1]), vectors(0.4)) is None


def test_language_pair_threshold_overrides_the_default() -> None:
    scorer = SyncScorer(min_similarity=0.7, min_similarity_by_language_pair={"en-ru": 0.55})
    assert scorer.score("N", members(["cn", "ru"], [0, 1], ["en", "ru"]), vectors(0.6)) is not None
    assert scorer.score("N", members(["cn", "ru"], [0, 1], ["en", "en"]), vectors(0.6)) is None
