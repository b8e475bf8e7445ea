"""Findings: the report tables of a run, assembled from what the scorer returned.

The scorer says which narratives are synchronised and which pairs are their evidence; this module
turns that into what an analyst reads: each flag's rank, label and spread path, each member's
similarity to its narrative's centre, membership and whether it was rescued, each pair's link type
and passage, channel types throughout, and the row order of every table. A new report column is
added here (and to :mod:`detector.report.columns`), nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from detector.embed.passages import PassageMatcher
from detector.report.channels import add_channels
from detector.scoring.amplification import outlet_edges
from detector.scoring.links import LinkClassifier
from detector.scoring.score import ARTICLE_KEYS
from detector.sources.ingest import headline
from detector.sources.registry import OutletRegistry


@dataclass(frozen=True)
class Findings:
    """What the scorer found: the report tables."""

    flags: pd.DataFrame
    members: pd.DataFrame
    pairs: pd.DataFrame
    outlets: pd.DataFrame

    @classmethod
    def empty(cls) -> Findings:
        return cls(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), outlet_edges(pd.DataFrame()))


def assemble_findings(
    flags: pd.DataFrame,
    pairs: pd.DataFrame,
    narratives: list[tuple[str, list[int]]],
    articles: pd.DataFrame,
    vectors: np.ndarray,
    members: pd.DataFrame,
    links: LinkClassifier,
    passages: PassageMatcher | None = None,
) -> Findings:
    """The report tables for the scorer's ``flags`` and evidence ``pairs``.

    ``narratives`` are ``(narrative_id, positions)`` into ``articles`` and their ``vectors``; the
    scorer's article keys are rows of ``articles`` too. ``members`` are the stored ``narrative_id,
    article_id, membership`` rows; ``passages`` the run's passages when it matched passages
    (members then carry the passage of their best pair).
    """
    flags, pairs = flag_rows(flags, articles), pair_rows(pairs, articles, passages)
    flagged = set(flags["narrative_id"])
    rows, labels = [], {}
    for nid, pos in narratives:
        if nid not in flagged:
            continue
        centre = vectors[pos].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        sims = vectors[pos] @ centre
        group = articles.iloc[pos].assign(narrative_id=nid, similarity_to_centre=np.round(sims, 4))
        strength = members[members["narrative_id"] == nid].groupby("article_id")["membership"].max()
        group["membership"] = group["id"].map(strength).round(4)
        group["rescued"] = group["membership"] == 0  # joined as a near-copy, not through an edge
        labels[nid] = narrative_label(group)
        rows.append(group)
    flags.insert(0, "rank", np.arange(1, len(flags) + 1))
    flags.insert(2, "label", flags["narrative_id"].map(labels))
    pairs["link_type"] = links.label_pairs(pairs, articles)
    flags["path"] = flags["narrative_id"].map(spread_paths(pd.concat(rows), links.registry))
    order = {nid: i for i, nid in enumerate(flags["narrative_id"])}
    member_rows = pd.concat(rows, ignore_index=True)
    member_rows = member_rows.sort_values(
        ["narrative_id", "published_at", "id"], key=lambda s: s.map(order) if s.name == "narrative_id" else s
    ).reset_index(drop=True)
    pairs = pairs.sort_values(
        ["narrative_id", "pair_rank"], key=lambda s: s.map(order) if s.name == "narrative_id" else s
    )
    if passages is not None:
        member_rows = member_rows.merge(member_passages(pairs), on=["narrative_id", "id"], how="left")
    flags, member_rows, pairs = add_channels(flags, member_rows, pairs.reset_index(drop=True), links.registry)
    return Findings(flags, member_rows, pairs, outlet_edges(member_rows, pairs))


def flag_rows(flags: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """The scorer's flag rows with their articles (best pair, each bloc's first) as report
    columns, and the outlet that published first."""
    fields = {key: article_fields(key, articles, flags[key].to_numpy()) for key in ARTICLE_KEYS}
    leader = np.where(
        flags["direction"] == "ru->cn",
        fields["first_ru"]["first_ru_outlet"],
        fields["first_cn"]["first_cn_outlet"],
    )
    head = flags.loc[:, :"lag_hours"].assign(leader_outlet=leader)
    between = flags.loc[:, "best_similarity":"best_pair_lag_hours"]
    tail = flags.loc[:, "n_articles":]
    return pd.concat([head, between, *fields.values(), tail], axis=1)


def pair_rows(pairs: pd.DataFrame, articles: pd.DataFrame, passages: PassageMatcher | None) -> pd.DataFrame:
    """The scorer's evidence pairs with both articles (and the matching passages, with their
    offsets into each article's text) as report columns."""
    pairs = pairs.reset_index(drop=True)
    sides = [
        article_fields(side, articles, pairs[side].to_numpy(), with_language=True) for side in ("cn", "ru")
    ]
    rows = pd.concat(
        [pairs[["narrative_id", "pair_rank"]], *sides, pairs[["similarity", "lag_hours"]]], axis=1
    )
    if passages is None:
        return rows
    for side in ("cn", "ru"):
        found = [passages.evidence(int(unit)) for unit in pairs[f"{side}_unit"]]
        for i, name in enumerate(("passage", "passage_start", "passage_end")):
            rows[f"{side}_{name}"] = [evidence[i] for evidence in found]
    return rows


def article_fields(
    prefix: str, articles: pd.DataFrame, rows: np.ndarray, with_language: bool = False
) -> pd.DataFrame:
    """``<prefix>_id, _outlet, _published_at, _title, _url`` (and ``_language``) of ``rows`` of
    ``articles``, one report row each."""
    chosen = articles.iloc[rows]
    fields = {
        f"{prefix}_id": chosen["id"].to_numpy(),
        f"{prefix}_outlet": chosen["outlet"].to_numpy(),
        f"{prefix}_published_at": chosen["published_at"].reset_index(drop=True),
        f"{prefix}_title": [headline(article) for _, article in chosen.iterrows()],
        f"{prefix}_url": chosen["url"].to_numpy() if "url" in chosen else "",
    }
    if with_language:
        fields[f"{prefix}_language"] = chosen["language"].to_numpy()
    return pd.DataFrame(fields)


def with_theme_ids(findings: Findings, theme_members: pd.DataFrame) -> Findings:
    """``findings`` whose flags carry ``theme_id``: per flagged narrative, the theme of the run
    holding most of its member articles (``theme_members``: ``theme_id, id`` rows), at least half
    of them: the moment is then inside the theme; ties go to the smaller theme, then the smaller
    id; empty when no theme holds half of them."""
    flags = findings.flags.copy()
    if flags.empty:
        return findings
    sizes = theme_members.groupby("theme_id")["id"].nunique()
    held = (
        findings.members[["narrative_id", "id"]]
        .drop_duplicates()
        .merge(theme_members[["theme_id", "id"]].drop_duplicates(), on="id")
    )
    counts = held.groupby(["narrative_id", "theme_id"]).size().rename("shared").reset_index()
    counts["size"] = counts["theme_id"].map(sizes)
    own = findings.members.groupby("narrative_id")["id"].nunique()
    counts = counts[2 * counts["shared"] >= counts["narrative_id"].map(own)]
    best = counts.sort_values(
        ["narrative_id", "shared", "size", "theme_id"], ascending=[True, False, True, True]
    )
    theme_of = best.drop_duplicates("narrative_id").set_index("narrative_id")["theme_id"].astype(str)
    flags["theme_id"] = flags["narrative_id"].map(theme_of).fillna("")
    return replace(findings, flags=flags)


def narrative_label(group: pd.DataFrame) -> str:
    """Title (or start of the text) of the member closest to the centre, by the rounded
    ``similarity_to_centre`` the reports show; ties go to the earliest, then the smallest feed id.

    Ties are the rule, not the exception: the two members of a pair are equally close to their
    mean, and the unrounded cosines then differ only by float noise, which differs between a
    fresh and an incremental store (vectors embedded in other batches).
    """
    ranked = group.sort_values(
        ["similarity_to_centre", "published_at", "id"], ascending=[False, True, True], kind="stable"
    )
    central = ranked.iloc[0]
    return " ".join(str(central["title"] or central["text"]).split())[:120]


def member_passages(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (narrative, article): the passage of its most similar evidence pair (ties: the better
    ranked pair), with offsets."""
    fields = ["id", "passage", "passage_start", "passage_end"]
    sides = [
        pairs[["narrative_id", "similarity", "pair_rank", *(f"{side}_{f}" for f in fields)]].set_axis(
            ["narrative_id", "similarity", "pair_rank", *fields], axis=1
        )
        for side in ("cn", "ru")
    ]
    best = pd.concat(sides).sort_values(
        ["narrative_id", "id", "similarity", "pair_rank"], ascending=[True, True, False, True], kind="stable"
    )
    return best.drop_duplicates(["narrative_id", "id"]).drop(columns=["similarity", "pair_rank"])


def spread_paths(members: pd.DataFrame, registry: OutletRegistry) -> dict[str, str]:
    """Per narrative, its outlets in order of first appearance with channel type and language:
    ``RT [state_media/ru] -> Global Times [state_media/en] -> PRC MFA spokesperson [diplomatic/en]``."""
    paths = {}
    for nid, group in members.groupby("narrative_id", sort=True):
        first = group.sort_values(["published_at", "id"]).drop_duplicates(["outlet", "language"])
        steps = []
        for outlet, language in zip(first["outlet"], first["language"], strict=True):
            entry = registry.get(outlet)
            steps.append(f"{outlet} [{entry.channel_type if entry else 'unknown'}/{language}]")
        paths[str(nid)] = " -> ".join(steps)
    return paths
