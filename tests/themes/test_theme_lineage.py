"""Theme ids across runs (detector/themes/lineage.py), on real article ids of the sample feed."""

from __future__ import annotations

import pandas as pd
import pytest

from detector.errors import ConfigError
from detector.themes.lineage import ThemeLineage, theme_id
from tests.conftest import SAMPLE_FEED

FEED = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).sort_values(["published_at", "id"])
IDS = FEED["id"].tolist()
WHEN = dict(zip(FEED["id"], FEED["published_at"], strict=True))


def current(groups: dict[int, list[str]]) -> pd.DataFrame:
    rows = [(key, i, WHEN[i]) for key, ids in groups.items() for i in ids]
    return pd.DataFrame(rows, columns=["key", "id", "published_at"])


def previous(names: dict[int, str], groups: dict[int, list[str]]) -> pd.DataFrame:
    rows = [(names[key], i) for key, ids in groups.items() for i in ids]
    return pd.DataFrame(rows, columns=["theme_id", "id"])


EMPTY = pd.DataFrame(columns=["theme_id", "id"])
DAY1 = {0: IDS[0:10], 1: IDS[10:18], 2: IDS[18:24]}


def test_new_themes_get_content_ids_that_a_rerun_repeats() -> None:
    names = ThemeLineage().assign(EMPTY, current(DAY1))
    assert names == ThemeLineage().assign(EMPTY, current(DAY1))
    first = pd.Timestamp(WHEN[IDS[0]])
    assert names[0] == theme_id(first, IDS[0:10])
    assert names[0].startswith(f"T{first:%Y%m%d}-")
    assert len(names[0]) == len("T20241127-") + 8
    assert len(set(names.values())) == 3


def test_two_overlapping_runs_keep_their_ids_whatever_the_keys_and_row_order() -> None:
    lineage = ThemeLineage()
    before = lineage.assign(EMPTY, current(DAY1))
    # Day 2: each theme lost its oldest members and gained new ones; keys are renumbered.
    day2 = {7: IDS[3:10] + IDS[30:33], 3: IDS[12:18] + IDS[40:41], 5: IDS[50:56]}
    frame = current(day2).sample(frac=1.0, random_state=1)
    after = lineage.assign(previous(before, DAY1), frame)
    assert after[7] == before[0]
    assert after[3] == before[1]
    assert after[5] not in before.values()  # a new theme
    assert lineage.events_.ended == [before[2]]
    assert lineage.events_.merges == []
    assert lineage.events_.splits == []


def test_a_split_keeps_the_id_on_the_part_with_most_of_the_members() -> None:
    lineage = ThemeLineage()
    before = lineage.assign(EMPTY, current(DAY1))
    # Theme 0 splits 4 / 6, and its 4-part grows with new articles to the larger theme (the 6-part
    # must still win: it carries more of the old members).
    day2 = {0: IDS[0:4] + IDS[60:64], 1: IDS[4:10], 2: IDS[10:18]}
    after = lineage.assign(previous(before, DAY1), current(day2))
    assert after[1] == before[0]
    assert after[2] == before[1]
    assert after[0] not in before.values()
    assert lineage.events_.splits == [(before[0], after[0])]


def test_a_merge_keeps_the_id_that_brought_more_members_and_records_the_other() -> None:
    lineage = ThemeLineage()
    before = lineage.assign(EMPTY, current(DAY1))
    after = lineage.assign(previous(before, DAY1), current({0: IDS[0:18]}))
    assert after[0] == before[0]
    assert lineage.events_.merges == [(before[0], before[1])]
    assert lineage.events_.ended == [before[2]]
    assert lineage.events_.as_dict()["merges"] == [{"kept": before[0], "absorbed": before[1]}]


def test_too_small_an_overlap_starts_a_new_theme() -> None:
    lineage = ThemeLineage(link_overlap=0.5)
    before = lineage.assign(EMPTY, current(DAY1))
    after = lineage.assign(previous(before, DAY1), current({0: IDS[0:4] + IDS[70:80]}))  # 4 of 10
    assert after[0] not in before.values()
    assert ThemeLineage(link_overlap=0.4).assign(
        previous(before, DAY1), current({0: IDS[0:4] + IDS[70:80]})
    ) == {0: before[0]}


def test_an_article_shared_by_two_themes_does_not_carry_an_id_alone() -> None:
    lineage = ThemeLineage()
    shared = IDS[100]
    day1 = {0: [shared, *IDS[0:5]], 1: [shared, *IDS[5:10]]}
    before = lineage.assign(EMPTY, current(day1))
    # Day 2 holds a theme of the shared article and three new ones only.
    after = lineage.assign(previous(before, day1), current({0: [shared, *IDS[200:202]], 1: IDS[0:5]}))
    assert after[1] == before[0]
    assert after[0] not in before.values()


def test_link_overlap_is_checked_where_the_others_are() -> None:
    with pytest.raises(ConfigError, match=r"\[themes\] link_overlap"):
        ThemeLineage(link_overlap=0.0)
