from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.embed.passages import PassageMatcher
from detector.report.columns import FLAG_COLUMNS
from detector.report.findings import flag_rows, pair_rows
from detector.scoring.score import SyncScorer, burstiness


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


def flag(scorer: SyncScorer, frame: pd.DataFrame, v: np.ndarray, **kw: object) -> dict | None:
    """The candidate row of one narrative, the scorer's background fitted on its own articles."""
    result = scorer.fit(frame, v).score("N1", frame, v, **kw)  # type: ignore[arg-type]
    return None if result is None else result[0]


def test_flag_carries_lag_direction_best_pair_and_evidence() -> None:
    frame, v = members(["cn", "ru"], [0, 30]), vectors(0.8)
    result = SyncScorer(min_similarity=0.5).fit(frame, v).score("N1", frame, v)
    assert result is not None
    row, pairs = result
    assert row["direction"] == "cn->ru"
    assert row["lag_hours"] == 30.0
    assert (row["best_cn"], row["best_ru"], row["first_cn"], row["first_ru"]) == (0, 1, 0, 1)  # rows of frame
    assert row["best_similarity"] == 0.8
    assert pairs[["cn", "ru", "similarity", "lag_hours"]].values.tolist() == [[0, 1, 0.8, 30.0]]
    assert not {"best_cn_title", "best_cn_url", "leader_outlet"} & set(row)  # report columns are findings'


def test_findings_turn_the_scorers_rows_into_report_columns() -> None:
    frame, v = members(["cn", "ru"], [0, 30]), vectors(0.8)
    articles = pd.concat([frame.iloc[[1]], frame], ignore_index=True)  # the narrative's rows 1 and 2
    candidates, pairs = (
        SyncScorer(min_similarity=0.5).fit(frame, v).score_all([("N1", [1, 2])], articles, v[[1, 0, 1]])
    )
    assert (candidates.loc[0, "best_cn"], candidates.loc[0, "best_ru"]) == (1, 2)
    flags = flag_rows(candidates, articles)
    assert (flags.loc[0, "best_cn_id"], flags.loc[0, "best_ru_id"], flags.loc[0, "leader_outlet"]) == (
        "a0", "a1", frame.loc[0, "outlet"],
    )  # fmt: skip
    assert list(flags.columns[:12]) == [c for c in FLAG_COLUMNS if c not in ("rank", "label")][:12]
    rows = pair_rows(pairs, articles, None)
    assert rows[["cn_id", "ru_id", "cn_language", "similarity"]].values.tolist() == [["a0", "a1", "en", 0.8]]


def test_lag_sign_flips_when_blocs_swap() -> None:
    scorer = SyncScorer(min_similarity=0.5)
    a = flag(scorer, members(["cn", "ru"], [0, 30]), vectors(0.8))
    b = flag(scorer, members(["ru", "cn"], [0, 30]), vectors(0.8))
    assert a is not None
    assert b is not None
    assert a["lag_hours"] == -b["lag_hours"]
    assert b["direction"] == "ru->cn"


def test_single_bloc_too_far_or_too_dissimilar_is_not_flagged() -> None:
    scorer = SyncScorer(min_similarity=0.5, max_lag_hours=72)
    assert flag(scorer, members(["cn", "cn"], [0, 1]), vectors(0.9)) is None
    assert flag(scorer, members(["cn", "ru"], [0, 100]), vectors(0.9)) is None
    assert flag(scorer, members(["cn", "ru"], [0, 1]), vectors(0.4)) is None


def test_language_pair_threshold_overrides_the_default() -> None:
    scorer = SyncScorer(min_similarity=0.7, min_similarity_by_language_pair={"en-ru": 0.55})
    assert flag(scorer, members(["cn", "ru"], [0, 1], ["en", "ru"]), vectors(0.6)) is not None
    assert flag(scorer, members(["cn", "ru"], [0, 1], ["en", "en"]), vectors(0.6)) is None


def test_p_value_is_small_for_a_tight_lag_and_large_for_a_loose_one() -> None:
    scorer = SyncScorer(alpha=1.0)
    tight = flag(scorer, members(["cn", "ru"], [0, 1]), vectors(0.9))
    loose = flag(scorer, members(["cn", "ru"], [0, 70]), vectors(0.9))
    assert tight is not None
    assert loose is not None
    # Two outlets shifted uniformly within 720 h: P(|lag| <= L) is about 2L/720.
    assert tight["p_value"] == pytest.approx(2 / 720, abs=0.006)
    assert loose["p_value"] == pytest.approx(140 / 720, abs=0.04)
    # The timing test decides at selection, over a run's candidates: a loose lag is no flag.
    scorer = SyncScorer(alpha=0.05)
    candidates = pd.DataFrame([loose | {"narrative_id": "N2"}, tight | {"narrative_id": "N1"}])
    flags, null = scorer.select(candidates, decoy_candidates=None)
    assert null is None
    assert flags["narrative_id"].tolist() == ["N1"]


def test_p_value_is_reproducible_per_narrative() -> None:
    frame, v = members(["cn", "ru", "cn"], [0, 5, 9]), vectors(0.9, 3)
    assert flag(SyncScorer(alpha=1.0), frame, v) == flag(SyncScorer(alpha=1.0), frame, v)


def test_control_coverage_lowers_the_score_and_stops_shared_news() -> None:
    scorer = SyncScorer(alpha=1.0, max_control_share=0.4)
    frame, v = members(["cn", "ru"], [0, 5]), vectors(0.9)
    alone = flag(scorer, frame, v)
    control = members(["control"], [3]).assign(id="c0", outlet="Reuters")
    one = flag(scorer, frame, v, control=control, control_vectors=v[:1])
    assert alone is not None
    assert one is not None
    assert one["score"] < alone["score"]
    assert one["control_outlets"] == "Reuters"
    two = pd.concat([control, control.assign(id="c1", outlet="AP")])
    assert flag(scorer, frame, v, control=two, control_vectors=v[[0, 0]]) is None  # 2 of 4 > 0.4: shared news
    far = control.assign(published_at=pd.Timestamp("2022-05-01T00:00Z"))
    assert flag(scorer, frame, v, control=far, control_vectors=v[:1]) == alone


def test_control_coverage_looks_at_the_matching_passage_not_a_long_articles_opening() -> None:
    # A short cn item on the story (e1) and a ru press conference whose opening is on another
    # subject (e2) and whose second answer is the story. Two control articles on that other
    # subject appeared at the same time: they do not cover the story.
    story, other = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    frame = members(["cn", "ru"], [0, 5])
    passages = pd.DataFrame(
        {
            "article_id": ["a0", "a1", "a1"], "article_pos": [0, 1, 1], "text": ["story", "other", "story"],
            "start": [0, 0, 6], "end": [5, 5, 11],
        }
    )  # fmt: skip
    matcher = PassageMatcher(passages, np.vstack([story, other, story]))
    control = pd.concat([members(["control"], [3]).assign(id=f"c{i}", outlet=f"C{i}") for i in range(2)])
    scorer = SyncScorer(alpha=1.0, min_similarity=0.5, max_control_share=0.4)
    kw = {"control": control, "control_vectors": np.vstack([other, other])}
    row = flag(scorer, frame, np.vstack([story, other]), passages=matcher, **kw)
    assert row is not None
    assert row["control_coverage"] == 0
    assert row["best_similarity"] == 1.0
    # Had the ru member really been about the other subject, the controls would cover it.
    shared = flag(scorer, frame, np.vstack([other, other]), **kw)
    assert shared is None


def test_burstiness() -> None:
    hours = np.array([0, 1, 2, 100]) * 3600
    assert burstiness(hours) == 0.75
