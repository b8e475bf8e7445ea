"""Every tie in report assembly is broken by the data, never by row order or float noise: the
label of a narrative whose members are equally close to its centre (every two-member narrative),
and the passage shown for an article that sits in equally similar evidence pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.report.findings import member_passages, narrative_label
from tests.reliability.conftest import Reference

pytestmark = pytest.mark.e2e


def report(reference: Reference, name: str) -> pd.DataFrame:
    return pd.read_csv(reference.out / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def members_with_text(reference: Reference) -> pd.DataFrame:
    """members.csv of the reference run with the feed's title and text of each article."""
    feed = pd.read_csv(reference.feed, dtype=str, keep_default_na=False)[["id", "text"]]
    members = report(reference, "members").merge(feed, on="id", how="left", validate="many_to_one")
    return members.assign(
        similarity_to_centre=members["similarity_to_centre"].astype(float),
        published_at=pd.to_datetime(members["published_at"], utc=True),
    )


def test_labels_follow_the_rule_on_tied_members_in_any_row_order(reference: Reference) -> None:
    members = members_with_text(reference)
    labels = report(reference, "flags").set_index("narrative_id")["label"]
    top = members.groupby("narrative_id")["similarity_to_centre"].transform("max")
    tied = members[members["similarity_to_centre"] == top].groupby("narrative_id")["id"].nunique()
    assert (tied > 1).sum() >= 3, "the reference run has no tied narratives: the test would prove nothing"
    rng = np.random.default_rng(0)
    for nid, group in members.groupby("narrative_id"):
        best = group[group["similarity_to_centre"] == group["similarity_to_centre"].max()]
        central = best.sort_values(["published_at", "id"]).iloc[0]  # the rule, spelled out
        expected = " ".join((central["title"] or central["text"]).split())[:120]
        assert labels[nid] == expected
        for _ in range(3):
            shuffled = group.iloc[rng.permutation(len(group))]
            assert narrative_label(shuffled) == expected


def test_the_passage_of_an_article_does_not_depend_on_the_order_of_pairs(reference: Reference) -> None:
    pairs = report(reference, "pairs").astype({"similarity": float, "pair_rank": int})
    # An article in several evidence pairs of its narrative, all made equally similar: a tie.
    repeated = pairs.groupby(["narrative_id", "ru_id"])["pair_rank"].transform("size") > 1
    assert repeated.any(), "no article in two pairs of one narrative: the test would prove nothing"
    top = pairs[repeated].groupby(["narrative_id", "ru_id"])["similarity"].transform("max")
    pairs.loc[repeated, "similarity"] = top
    expected = member_passages(pairs).set_index(["narrative_id", "id"]).sort_index()
    for (nid, ru_id), group in pairs[repeated].groupby(["narrative_id", "ru_id"]):
        best = group.sort_values("pair_rank").iloc[0]  # the rule: the better ranked pair
        assert expected.loc[(nid, ru_id), "passage"] == best["ru_passage"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        got = member_passages(pairs.iloc[rng.permutation(len(pairs))])
        pd.testing.assert_frame_equal(got.set_index(["narrative_id", "id"]).sort_index(), expected)
