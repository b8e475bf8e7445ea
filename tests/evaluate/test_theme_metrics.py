"""Theme metrics against hand-computed cases."""

from __future__ import annotations

import pandas as pd
import pytest

from detector.evaluate.theme_metrics import (
    assignment,
    bcubed,
    campaign_table,
    theme_leaders,
    theme_size_summary,
)


def test_bcubed_of_a_perfect_assignment_is_one() -> None:
    score = bcubed(["x", "x", "y"], ["a", "a", "b"])
    assert (score.precision, score.recall, score.f1, score.n_items) == (1.0, 1.0, 1.0, 3)


def test_bcubed_by_hand() -> None:
    # Theme x = {0, 1, 2} with labels a, a, b; theme y = {3} label b.
    # precision: items 0, 1 -> 2/3; item 2 -> 1/3; item 3 -> 1  => (2/3 + 2/3 + 1/3 + 1) / 4 = 2/3
    # recall: items 0, 1 -> 2/2; item 2 -> 1/2; item 3 -> 1/2   => (1 + 1 + 1/2 + 1/2) / 4 = 3/4
    score = bcubed(["x", "x", "x", "y"], ["a", "a", "b", "b"])
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(3 / 4)
    assert score.f1 == pytest.approx(2 * (2 / 3) * (3 / 4) / (2 / 3 + 3 / 4))


def test_items_in_no_theme_are_singletons() -> None:
    # Two "None" items are two singletons, not one theme: precision 1, recall 1/2 each.
    score = bcubed([None, None], ["a", "a"])
    assert (score.precision, score.recall) == (1.0, 0.5)


def test_unlabelled_items_cost_precision_but_are_not_averaged() -> None:
    # Theme x holds labelled a, a and one background article (no label); a lone background
    # article sits in no theme. Averages run over the two labelled items: precision 2/3 each,
    # recall 1 each; the background items are never averaged in.
    score = bcubed(["x", "x", "x", None], ["a", "a", None, None])
    assert score.n_items == 2
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == 1.0


def test_bcubed_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        bcubed(["x"], ["a", "b"])
    with pytest.raises(ValueError, match="no labelled item"):
        bcubed(["x"], [None])


def test_assignment_reads_members_and_refuses_overlaps() -> None:
    members = pd.DataFrame({"theme_id": ["T1", "T1", "T2"], "id": ["a", "b", "c"]})
    assert assignment(members, ["b", "z", "c"]) == ["T1", None, "T2"]
    overlapping = pd.DataFrame({"theme_id": ["T1", "T2"], "id": ["a", "a"]})
    with pytest.raises(ValueError, match="more than one theme"):
        assignment(overlapping, ["a"])


def _members(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["theme_id", "id", "bloc", "published_at"])


def _campaign(event_id: str, ids: list[str], leader: str) -> pd.DataFrame:
    return pd.DataFrame({"event_id": event_id, "id": ids, "kind": "campaign", "leader": leader})


def test_theme_leaders_takes_the_earliest_bloc() -> None:
    members = _members([
        ("T1", "a", "ru", "2022-03-02T00:00:00Z"), ("T1", "b", "cn", "2022-03-01T00:00:00Z"),
        ("T1", "k", "control", "2022-02-01T00:00:00Z"),  # controls never lead
        ("T2", "c", "cn", "2022-03-01"), ("T2", "d", "cn", "2022-03-02"),  # one bloc only
        ("T3", "e", "cn", "2022-03-01"), ("T3", "f", "ru", "2022-03-01"),  # a tie
    ])  # fmt: skip
    assert theme_leaders(members) == {"T1": "cn", "T2": None, "T3": None}


CAMPAIGN_IDS = ["c1", "c2", "c3", "r1", "r2", "r3"]


def _campaign_members(theme_of: dict[str, str], filler: int = 0) -> pd.DataFrame:
    rows = [
        (theme, i, "cn" if i.startswith("c") else "ru", f"2022-03-0{1 if i.startswith('c') else 2}")
        for i, theme in theme_of.items()
    ]
    rows += [("T1", f"bg{k}", "control", "2022-03-05") for k in range(filler)]
    return _members(rows)


def test_campaign_with_four_of_six_in_one_theme_is_found() -> None:
    members = _campaign_members({"c1": "T1", "c2": "T1", "c3": "T2", "r1": "T1", "r2": "T1", "r3": "T3"})
    table = campaign_table(members, _campaign("cp1", CAMPAIGN_IDS, "cn"))
    row = table.iloc[0]
    assert (row["theme_id"], row["in_theme"], row["cn_in_theme"], row["ru_in_theme"]) == ("T1", 4, 2, 2)
    assert (row["theme_size"], row["theme_leader"]) == (4, "cn")
    assert bool(row["grouped"])
    assert bool(row["leader_right"])
    assert bool(row["found"])


def test_campaign_rule_boundaries() -> None:
    truth = _campaign("cp1", CAMPAIGN_IDS, "cn")
    three = _campaign_members({"c1": "T1", "c2": "T1", "r1": "T1", "c3": "T2", "r2": "T3", "r3": "T4"})
    assert not bool(campaign_table(three, truth).iloc[0]["grouped"])  # 3 of 6
    one_bloc = _campaign_members({"c1": "T1", "c2": "T1", "c3": "T1", "r1": "T2", "r2": "T3", "r3": "T4"})
    assert not bool(campaign_table(one_bloc, truth).iloc[0]["grouped"])  # no ru in the cn theme
    four = {"c1": "T1", "c2": "T1", "r1": "T1", "r2": "T1"}
    at_limit = _campaign_members(four, filler=56)  # 60 articles: allowed
    assert bool(campaign_table(at_limit, truth).iloc[0]["found"])
    sweep = _campaign_members(four, filler=57)  # 61 articles: a sweep
    assert campaign_table(sweep, truth).iloc[0]["theme_id"] is None


def test_campaign_wrong_leader_and_q_value() -> None:
    members = _campaign_members(dict.fromkeys(CAMPAIGN_IDS, "T1"))
    wrong = campaign_table(members, _campaign("cp1", CAMPAIGN_IDS, "ru")).iloc[0]
    assert bool(wrong["grouped"])
    assert not bool(wrong["leader_right"])
    assert not bool(wrong["found"])
    truth = _campaign("cp1", CAMPAIGN_IDS, "cn")
    assert bool(campaign_table(members, truth, q_values={"T1": 0.1}).iloc[0]["found"])
    assert not bool(campaign_table(members, truth, q_values={"T1": 0.2}).iloc[0]["found"])
    assert not bool(campaign_table(members, truth, q_values={}).iloc[0]["found"])  # no q: not flagged


def test_stage_leaders_override_the_computed_ones() -> None:
    members = _campaign_members(dict.fromkeys(CAMPAIGN_IDS, "T1"))
    table = campaign_table(members, _campaign("cp1", CAMPAIGN_IDS, "cn"), leaders={"T1": "ru"})
    assert not bool(table.iloc[0]["leader_right"])


def test_campaign_in_no_theme() -> None:
    table = campaign_table(_members([]), _campaign("cp1", CAMPAIGN_IDS, "cn"))
    assert table.iloc[0]["theme_id"] is None
    assert not bool(table.iloc[0]["grouped"])


def test_theme_size_summary_by_hand() -> None:
    members = _members([
        ("T1", "a", "cn", "2022-03-01"), ("T1", "b", "ru", "2022-03-01"), ("T1", "c", "cn", "2022-03-01"),
        ("T2", "d", "cn", "2022-03-01"), ("T2", "e", "ru", "2022-03-01"),
        ("T3", "f", "cn", "2022-03-01"),
    ])  # fmt: skip
    summary = theme_size_summary(members, n_articles=1000, injected=["a"])
    assert summary == {
        "themes": 3.0, "cross_bloc": 2.0, "median_size": 2.0, "max_size": 3.0,
        "share_in_themes": 0.006, "cross_bloc_without_injected_per_1k": 1.0,
    }  # fmt: skip
