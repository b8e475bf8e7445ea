"""``detector eval --level theme``'s scoring (detector/evaluate/themes.py) on the reports a run writes,
with real sample articles as campaigns and background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from detector.cli.main import main
from detector.evaluate.themes import score_themes
from detector.pipeline.daily import RunSummary
from detector.report.theme_html import ThemeReport
from detector.report.writer import write_reports
from tests.conftest import SAMPLE_FEED
from tests.report.test_theme_report import theme_row

FEED = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).sort_values(["published_at", "id"])
CN, RU = FEED[FEED["bloc"] == "cn"], FEED[FEED["bloc"] == "ru"]
RUN = RunSummary("run-e", "out", len(FEED), 0, 0, 1.5)


def campaign(event_id: str, cn: pd.DataFrame, ru: pd.DataFrame, narrative: str) -> pd.DataFrame:
    ids = [*cn["id"], *ru["id"]]
    first = "cn" if cn["published_at"].min() < ru["published_at"].min() else "ru"
    return pd.DataFrame(
        {"event_id": event_id, "id": ids, "kind": "campaign", "leader": first, "narrative_id": narrative}
    )


@pytest.fixture
def event_set(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """A feed (the sample) and a truth of three campaigns of six sample articles each."""
    truth = pd.concat([
        campaign("c1", CN.iloc[0:3], RU.iloc[0:3], "nato"),
        campaign("c2", CN.iloc[3:6], RU.iloc[3:6], "biolabs"),
        campaign("c3", CN.iloc[6:9], RU.iloc[6:9], "biolabs"),
    ], ignore_index=True)  # fmt: skip
    feed, truth_path = tmp_path / "x_feed.csv", tmp_path / "x_truth.csv"
    FEED.to_csv(feed, index=False)
    truth.to_csv(truth_path, index=False)
    return feed, truth_path, truth


def write_themes(out: Path, groups: dict[str, list[str]], q: dict[str, float]) -> None:
    """The theme reports of a run whose themes hold ``groups`` (theme id -> feed ids)."""
    members = pd.concat(
        [FEED.set_index("id").loc[ids].reset_index().assign(theme_id=tid) for tid, ids in groups.items()],
        ignore_index=True,
    )
    members["published_at"] = pd.to_datetime(members["published_at"], utc=True)
    members["centrality"] = 0.5
    rows = [
        theme_row(tid, members[members["theme_id"] == tid]) | {"q_value": q[tid], "flagged": q[tid] <= 0.1}
        for tid in groups
    ]
    out.mkdir(exist_ok=True)
    write_reports(
        out,
        pd.DataFrame(),
        pd.DataFrame(),
        {"run_id": "run-e"},
        themes=ThemeReport(pd.DataFrame(rows), members),
    )


def test_campaigns_grouped_found_and_found_at_q(
    tmp_path: Path, event_set: tuple[Path, Path, pd.DataFrame]
) -> None:
    feed, truth_path, truth = event_set
    ids = {e: g["id"].tolist() for e, g in truth.groupby("event_id")}
    groups = {
        "T20241126-00000001": ids["c1"][:2] + ids["c1"][3:5],  # 4 of 6, both blocs
        "T20241126-00000002": ids["c2"][:1] + ids["c2"][3:6],  # 4 of 6, q too high
        "T20241126-00000003": ids["c3"][:3] + FEED["id"].iloc[-100:].tolist(),  # too big a theme
    }
    write_themes(
        tmp_path / "out",
        groups,
        {"T20241126-00000001": 0.01, "T20241126-00000002": 0.5, "T20241126-00000003": 0.01},
    )
    scored = score_themes(tmp_path / "out", feed, truth_path, RUN)
    assert scored.campaigns["grouped"].tolist() == [True, True, False]
    assert scored.campaigns["found"].tolist() == scored.campaigns["leader_right"].tolist()
    assert scored.campaigns["found_q"].tolist() == [scored.campaigns["found"].iloc[0], False, False]
    row = scored.row
    assert row["grouped"] == "2/3"
    assert row["themes"] == 3
    assert row["flagged"] == 2
    assert row["flagged_per_1k"] == round(2000 / len(FEED), 2)
    assert row["max_size"] == 103
    assert 0 < float(row["bcubed_precision"]) < 1  # type: ignore[arg-type]
    assert 0 < float(row["bcubed_recall"]) < 1  # type: ignore[arg-type]


def test_bcubed_is_perfect_when_themes_are_the_narratives(
    tmp_path: Path, event_set: tuple[Path, Path, pd.DataFrame]
) -> None:
    feed, truth_path, truth = event_set
    by_narrative = {
        f"T20241126-0000000{i}": g["id"].tolist() for i, (_, g) in enumerate(truth.groupby("narrative_id"))
    }
    write_themes(tmp_path / "out", by_narrative, dict.fromkeys(by_narrative, 0.01))
    row = score_themes(tmp_path / "out", feed, truth_path, RUN).row
    assert (row["bcubed_precision"], row["bcubed_recall"], row["bcubed_f1"]) == (1.0, 1.0, 1.0)


def test_without_narrative_labels_or_without_themes(
    tmp_path: Path, event_set: tuple[Path, Path, pd.DataFrame]
) -> None:
    feed, truth_path, truth = event_set
    truth.drop(columns="narrative_id").to_csv(truth_path, index=False)
    write_themes(
        tmp_path / "out", {"T20241126-00000001": truth["id"].iloc[:6].tolist()}, {"T20241126-00000001": 0.01}
    )
    row = score_themes(tmp_path / "out", feed, truth_path, RUN).row
    assert np.isnan(row["bcubed_f1"])  # type: ignore[arg-type]
    assert row["grouped"] == "1/3"
    (tmp_path / "empty").mkdir()
    bare = score_themes(tmp_path / "empty", feed, truth_path, RUN)
    assert "wrote no themes" in str(bare.row["note"])
    assert bare.campaigns.empty


def test_the_eval_command_offers_the_theme_level() -> None:
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert "[pair|cluster|event|theme|all]" in result.output
