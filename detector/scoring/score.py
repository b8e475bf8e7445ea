"""Synchronisation scoring: which narratives appear in both the ``cn`` and the ``ru`` bloc close
enough in time and meaning to flag, and the evidence an analyst needs.

A narrative with members in both blocs is a *candidate* when all of these hold:

* some cross-bloc pair (published within ``max_lag_hours``) is at least as similar as the
  threshold for that pair's languages;
* each bloc has at least ``min_outlets_per_bloc`` outlets in it;
* it is not mostly a shared news event: control outlets (Reuters, AP, BBC ...) covering the same
  story at the same time make up at most ``max_control_share`` of its coverage.

Its ``evidence`` accumulates over outlets: for every pair of a cn and a ru outlet, the best
cross-bloc pair of their articles within the lag, by how much it clears the threshold, summed.
Three outlets per bloc restating one claim at a modest similarity add up to more than one pair at
a higher one; one modest pair stays modest. A candidate is *flagged* when its q-value — the share
of candidates at its evidence or better expected to be chance, from time-shifted decoys of the
same run (:mod:`detector.scoring.decoys`, :mod:`detector.scoring.fdr`) — is at most ``target_fdr``, and its
timing p-value (:mod:`detector.scoring.significance`) at most ``alpha``. Where no decoy can be made (a
run whose articles, store history included, span less than twice the lag) q-values are unknown
and the p-value alone decides, as before decoys existed; the manifest says so.

``score`` = mean similarity of the top cross-bloc pairs x (1 - control_discount x control share):
adding control coverage can only lower it. Flags are ordered by q-value, then evidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from detector.embed.passages import PassageMatcher
from detector.parallel import Mapper, serial_map
from detector.params import Constraint, Interval, LanguagePairs, validate_params
from detector.scoring.evidence import PairBackground, outlet_evidence
from detector.scoring.fdr import NullEstimate, estimate_null
from detector.scoring.significance import lag_p_value, narrative_seed
from detector.sources.registry import language_pair
from detector.times import HOUR, epoch_seconds

log = logging.getLogger(__name__)

TOP_MEAN = 3  # pairs averaged into the closeness part of the score
# A candidate's articles, as rows: its best cross-bloc pair and each bloc's first article.
ARTICLE_KEYS = ("best_cn", "best_ru", "first_cn", "first_ru")


@dataclass(frozen=True)
class CrossPairs:
    """A narrative's cross-bloc pairs: its cn and ru rows, and over the cn x ru grid each pair's
    similarity, lag (hours), language pair and whether it counts (within the lag, below the copy
    similarity); with passages, each side's matching passage rows and which pairs a passage made."""

    cn: np.ndarray
    ru: np.ndarray
    sims: np.ndarray
    lags: np.ndarray
    pair_keys: np.ndarray
    within: np.ndarray
    passages: PassageMatcher | None
    passage_rows: tuple[np.ndarray, np.ndarray] | None
    passage_made: np.ndarray

    def content(self, vectors: np.ndarray) -> np.ndarray:
        """The members' vectors as the narrative sees them (:func:`matching_vectors`)."""
        if self.passages is None or self.passage_rows is None:
            return vectors
        rows, made = self.passage_rows, self.passage_made
        return matching_vectors(vectors, self.cn, self.ru, self.sims, rows, made, self.passages.vectors)

    def evidence(self, outlets: np.ndarray, background: PairBackground) -> tuple[float, int]:
        """:func:`detector.scoring.evidence.outlet_evidence` of these pairs; ``outlets`` of every member."""
        return outlet_evidence(
            self.sims, self.within, outlets[self.cn], outlets[self.ru], self.pair_keys, background
        )


class SyncScorer:
    """Scores narratives that have members in both blocs.

    Parameters
    ----------
    max_lag_hours : the evidence pair's two articles must be at most this far apart.
    min_similarity : cosine threshold for the best cross-bloc pair.
    min_similarity_by_language_pair : per-pair overrides keyed ``"en-ru"``, ``"ru-zh"`` ...
        (cross-lingual pairs score lower than same-language ones for the same meaning).
    min_outlets_per_bloc : distinct outlets each bloc must contribute.
    top_pairs : evidence pairs kept per narrative (``pairs.csv``).
    control_similarity : a control article within the narrative's time span (± the lag) counts as
        covering the story when its cosine to the narrative's centre reaches this.
    control_discount : how strongly the control share lowers the score (0 = not at all).
    max_control_share : narratives whose coverage is more than this share control are shared
        news events and not flagged.
    permutations : draws of the permutation test (0 = no test, p-value 1).
    null_span_hours : span within which the null model shifts each outlet's coverage.
    alpha : flag only narratives with a timing p-value at most this (1.0 = no timing test).
    target_fdr : flag only narratives whose q-value (estimated share of chance flags at their
        evidence or better, from the decoys) is at most this.
    decoys : time-shifted decoy runs that estimate the q-values (0 = none: the p-value decides).
    random_state : seed of the permutation test (from ``[run] seed``).
    """

    parameter_section: ClassVar[str] = "score"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "max_lag_hours": Interval(0.0, 24 * 365),
        "min_similarity": Interval(-1.0, 1.0),
        "min_similarity_by_language_pair": LanguagePairs(),
        "min_outlets_per_bloc": Interval(1, 1000),
        "top_pairs": Interval(1, 1000),
        "control_similarity": Interval(-1.0, 1.0),
        "control_discount": Interval(0.0, 1.0),
        "max_control_share": Interval(0.0, 1.0),
        "permutations": Interval(0, 1_000_000),
        "null_span_hours": Interval(1.0, 24 * 3650),
        "alpha": Interval(0.0, 1.0),
        "target_fdr": Interval(0.0, 1.0),
        "decoys": Interval(0, 100),
        "random_state": Interval(0, 2**31 - 1),
    }

    def __init__(
        self,
        max_lag_hours: float = 72.0,
        min_similarity: float = 0.3,
        min_similarity_by_language_pair: dict[str, float] | None = None,
        min_outlets_per_bloc: int = 1,
        top_pairs: int = 5,
        control_similarity: float = 0.6,
        control_discount: float = 1.0,
        max_control_share: float = 0.5,
        permutations: int = 1000,
        null_span_hours: float = 720.0,
        alpha: float = 0.15,
        target_fdr: float = 0.1,
        decoys: int = 6,
        random_state: int = 0,
    ) -> None:
        self.max_lag_hours = max_lag_hours
        self.min_similarity = min_similarity
        self.min_similarity_by_language_pair = min_similarity_by_language_pair or {}
        self.min_outlets_per_bloc = min_outlets_per_bloc
        self.top_pairs = top_pairs
        self.control_similarity = control_similarity
        self.control_discount = control_discount
        self.max_control_share = max_control_share
        self.permutations = permutations
        self.null_span_hours = null_span_hours
        self.alpha = alpha
        self.target_fdr = target_fdr
        self.decoys = decoys
        self.random_state = random_state
        validate_params(self)

    def fit(self, articles: pd.DataFrame, vectors: np.ndarray) -> SyncScorer:
        """Learn the run's background of cross-bloc similarity (:class:`PairBackground`) from its
        articles (``bloc, language, published_at``) and their vectors: the scale evidence is
        measured on, for the real run and its decoys alike."""
        self.background_ = PairBackground(self.max_lag_hours, random_state=self.random_state).fit(
            epoch_seconds(articles["published_at"]), articles["bloc"].to_numpy(),
            articles["language"].to_numpy(), vectors,
        )  # fmt: skip
        return self

    def threshold(self, lang_a: str, lang_b: str) -> float:
        return self.pair_threshold(language_pair(lang_a, lang_b))

    def pair_threshold(self, key: str) -> float:
        """The cosine floor of a canonical language pair key (``"en-ru"``)."""
        return float(self.min_similarity_by_language_pair.get(key, self.min_similarity))

    def score(
        self,
        narrative_id: str,
        members: pd.DataFrame,
        vectors: np.ndarray,
        control: pd.DataFrame | None = None,
        control_vectors: np.ndarray | None = None,
        passages: PassageMatcher | None = None,
        below_similarity: float = np.inf,
    ) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """The candidate row and evidence pairs of one narrative, or ``None`` when it is no
        candidate (flagging is :meth:`select`'s, over all candidates of a run).

        Scores only: the row's articles (:data:`ARTICLE_KEYS`) and each pair's ``cn`` and ``ru``
        are rows of ``members`` (``cn_unit``, ``ru_unit``: rows of ``passages``);
        :mod:`detector.report.findings` turns them into report columns.

        Only pairs less similar than ``below_similarity`` count: decoy runs pass the similarity
        of a near-verbatim copy, since a copy is a real link at any lag, not a chance match.

        ``members`` are the narrative's articles (``id, outlet, bloc, language, published_at,
        title, text, url``) and ``vectors`` their embeddings in the same order. ``control`` (with
        ``control_vectors``) are the control-bloc articles around it, for the shared-news check.
        With ``passages``, a pair's similarity is the better of its article cosine and its best
        passage cosine, and the matching passages become evidence.
        """
        blocs = members["bloc"].to_numpy()
        cn, ru = np.flatnonzero(blocs == "cn"), np.flatnonzero(blocs == "ru")
        if not len(cn) or not len(ru):
            return None
        outlets = members.groupby("bloc")["outlet"].nunique()
        if min(outlets.get("cn", 0), outlets.get("ru", 0)) < self.min_outlets_per_bloc:
            return None
        seconds = epoch_seconds(members["published_at"])
        cross = self._cross_pairs(members, vectors, cn, ru, seconds, passages, below_similarity)
        if cross is None:
            return None
        return self._candidate(
            narrative_id, members, vectors, seconds, outlets, cross, control, control_vectors
        )

    def _cross_pairs(
        self,
        members: pd.DataFrame,
        vectors: np.ndarray,
        cn: np.ndarray,
        ru: np.ndarray,
        seconds: np.ndarray,
        passages: PassageMatcher | None,
        below_similarity: float,
    ) -> CrossPairs | None:
        """The narrative's cn x ru pairs, or ``None`` when no pair within the lag reaches its
        language pair's threshold."""
        sims, passage_rows, passage_made = cross_similarities(members, vectors, cn, ru, passages)
        lags = (seconds[ru][None, :] - seconds[cn][:, None]) / HOUR
        languages = members["language"].to_numpy()
        pair_keys = np.array([[language_pair(languages[i], languages[j]) for j in ru] for i in cn])
        thresholds = np.vectorize(self.pair_threshold, otypes=[float])(pair_keys)
        within = (np.abs(lags) <= self.max_lag_hours) & (sims < below_similarity)
        if not (within & (sims >= thresholds)).any():
            return None
        return CrossPairs(cn, ru, sims, lags, pair_keys, within, passages, passage_rows, passage_made)

    def _candidate(
        self,
        narrative_id: str,
        members: pd.DataFrame,
        vectors: np.ndarray,
        seconds: np.ndarray,
        outlets: pd.Series,
        cross: CrossPairs,
        control: pd.DataFrame | None,
        control_vectors: np.ndarray | None,
    ) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """:meth:`score` for a narrative with a pair over the threshold: ``None`` when it is
        mostly a shared news event."""
        cn, ru, sims, lags, within = cross.cn, cross.ru, cross.sims, cross.lags, cross.within
        ranked = np.argsort(-np.where(within, sims, -np.inf), axis=None, kind="stable")
        pair_i, pair_j = np.unravel_index(ranked[: min(self.top_pairs, int(within.sum()))], sims.shape)
        closeness = float(sims[pair_i[:TOP_MEAN], pair_j[:TOP_MEAN]].mean())
        first_cn, first_ru = int(cn[np.argmin(seconds[cn])]), int(ru[np.argmin(seconds[ru])])
        lag = (
            members["published_at"].iloc[first_ru] - members["published_at"].iloc[first_cn]
        ).total_seconds() / HOUR
        p_value = self._p_value(narrative_id, members, seconds, lag)
        content = cross.content(vectors)
        n_control, control_outlets = self._control_coverage(members, content, control, control_vectors)
        control_share = n_control / (n_control + len(cn) + len(ru))
        if control_share > self.max_control_share:
            return None
        evidence, n_edges = cross.evidence(members["outlet"].to_numpy(), self.background_)
        row = {
            "narrative_id": narrative_id,
            "q_value": np.nan,
            "evidence": round(evidence, 4),
            "cross_edges": n_edges,
            "p_value": round(float(p_value), 4),
            "score": round(closeness * (1 - self.control_discount * control_share), 4),
            "direction": "cn->ru" if lag > 0 else "ru->cn" if lag < 0 else "same time",
            "lag_hours": round(lag, 2),
            "best_similarity": round(float(sims[pair_i[0], pair_j[0]]), 4),
            "mean_top_similarity": round(closeness, 4),
            "best_pair_lag_hours": round(float(lags[pair_i[0], pair_j[0]]), 2),
            "best_cn": int(cn[pair_i[0]]),
            "best_ru": int(ru[pair_j[0]]),
            "first_cn": first_cn,
            "first_ru": first_ru,
            "n_articles": len(members),
            "n_cn": len(cn),
            "n_ru": len(ru),
            "outlets_cn": int(outlets.get("cn", 0)),
            "outlets_ru": int(outlets.get("ru", 0)),
            "languages": " ".join(sorted(set(members["language"]))),
            "control_coverage": n_control,
            "control_share": round(control_share, 4),
            "control_outlets": "; ".join(control_outlets),
            "burstiness": round(burstiness(seconds), 4),
            "first_seen": members["published_at"].min(),
            "last_seen": members["published_at"].max(),
        }
        return row, evidence_pairs(
            narrative_id, cn[pair_i], ru[pair_j], sims, lags, (pair_i, pair_j), cross.passage_rows
        )

    def _p_value(self, narrative_id: str, members: pd.DataFrame, seconds: np.ndarray, lag: float) -> float:
        if self.permutations == 0:
            return 1.0
        cross = members["bloc"].isin(["cn", "ru"]).to_numpy()
        frame = pd.DataFrame({"outlet": members["outlet"][cross], "bloc": members["bloc"][cross],
                              "hours": seconds[cross] / HOUR})  # fmt: skip
        first = frame.groupby(["outlet", "bloc"], sort=True)["hours"].min().reset_index()
        rng = np.random.default_rng(narrative_seed(self.random_state, narrative_id))
        return lag_p_value(
            first["hours"].to_numpy(), (first["bloc"] == "cn").to_numpy(), lag,
            self.null_span_hours, self.permutations, rng,
        )  # fmt: skip

    def _control_coverage(
        self,
        members: pd.DataFrame,
        vectors: np.ndarray,
        control: pd.DataFrame | None,
        control_vectors: np.ndarray | None,
    ) -> tuple[int, list[str]]:
        """Control articles in the narrative plus those around it that carry the same story."""
        inside = members[members["bloc"] == "control"]
        ids, outlets = set(inside["id"]), set(inside["outlet"])
        if control is not None and control_vectors is not None and len(control):
            core = vectors[(members["bloc"] != "control").to_numpy()].mean(axis=0)
            core /= max(float(np.linalg.norm(core)), 1e-12)
            lag = pd.Timedelta(hours=self.max_lag_hours)
            near = (
                (control["published_at"] >= members["published_at"].min() - lag)
                & (control["published_at"] <= members["published_at"].max() + lag)
            ).to_numpy()
            similar = near & (control_vectors @ core >= self.control_similarity)
            ids |= set(control["id"][similar])
            outlets |= set(control["outlet"][similar])
        return len(ids), sorted(outlets)

    def score_all(
        self,
        narratives: list[tuple[str, list[int]]],
        articles: pd.DataFrame,
        vectors: np.ndarray,
        control: pd.DataFrame | None = None,
        control_vectors: np.ndarray | None = None,
        passages: PassageMatcher | None = None,
        mapper: Mapper = serial_map,
        below_similarity: float = np.inf,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Candidates (most evidence first) and their evidence pairs for ``(narrative_id,
        article row positions)``, their articles as rows of ``articles``. Narratives are scored
        independently, through ``mapper``;
        ``below_similarity`` as in :meth:`score`."""
        scored = mapper(
            partial(
                _score_one, self, articles, vectors, control, control_vectors, passages, below_similarity
            ),
            narratives,
        )
        found = [result for result in scored if result is not None]
        flags = pd.DataFrame([row for row, _ in found])
        if flags.empty:
            return flags, pd.DataFrame()
        flags = flags.sort_values(["evidence", "narrative_id"], ascending=[False, True], kind="stable")
        return flags.reset_index(drop=True), pd.concat([pairs for _, pairs in found], ignore_index=True)

    def select(
        self,
        candidates: pd.DataFrame,
        decoy_candidates: pd.DataFrame | None,
        real_opportunity: int = 0,
        decoy_opportunity: int = 0,
    ) -> tuple[pd.DataFrame, NullEstimate | None]:
        """The flags among ``candidates`` (:meth:`score_all`), best first, and the null estimate.

        ``decoy_candidates`` are the decoy runs' candidates (``evidence``, ``p_value``) with the
        opportunities of the real and all decoy runs (:mod:`detector.scoring.decoys`); ``None`` when no
        decoy could be made: q-values are then unknown and the p-value alone decides. Decoys pass
        the same timing test as real candidates before they are counted, so the q-value is the
        error rate of the whole decision.
        """
        if candidates.empty:
            return candidates, None
        timed = candidates[candidates["p_value"] <= self.alpha].copy()
        null = None
        if decoy_candidates is not None:
            decoy_evidence = decoy_candidates.loc[
                decoy_candidates["p_value"] <= self.alpha, "evidence"
            ].to_numpy()
            null = estimate_null(
                timed["evidence"].to_numpy(), decoy_evidence, real_opportunity, decoy_opportunity
            )
            timed["q_value"] = np.round(null.q_values, 4)
            timed = timed[timed["q_value"] <= self.target_fdr]
        flags = timed.sort_values(
            ["q_value", "evidence", "narrative_id"], ascending=[True, False, True], kind="stable"
        )
        return flags.reset_index(drop=True), null


def _score_one(
    scorer: SyncScorer,
    articles: pd.DataFrame,
    vectors: np.ndarray,
    control: pd.DataFrame | None,
    control_vectors: np.ndarray | None,
    passages: PassageMatcher | None,
    below_similarity: float,
    narrative: tuple[str, list[int]],
) -> tuple[dict[str, Any], pd.DataFrame] | None:
    nid, positions = narrative
    members = articles.iloc[positions].reset_index(drop=True)
    scored = scorer.score(
        nid, members, vectors[positions], control, control_vectors, passages, below_similarity
    )
    if scored is None:
        return None
    row, pairs = scored
    rows = np.asarray(positions)  # the narrative's rows -> rows of ``articles``
    row |= {key: int(rows[row[key]]) for key in ARTICLE_KEYS}
    return row, pairs.assign(cn=rows[pairs["cn"].to_numpy()], ru=rows[pairs["ru"].to_numpy()])


def cross_similarities(
    members: pd.DataFrame,
    vectors: np.ndarray,
    cn: np.ndarray,
    ru: np.ndarray,
    passages: PassageMatcher | None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None, np.ndarray]:
    """The cn x ru similarity of each cross-bloc pair: its article cosine or, with ``passages``,
    the better of that and its best passage cosine; with the matching passage rows of each side
    and which pairs a passage pair made (``None`` and all False without passages)."""
    sims = vectors[cn] @ vectors[ru].T
    passage_made = np.zeros((len(cn), len(ru)), dtype=bool)
    if passages is None:
        return sims, None, passage_made
    ids = members["id"].to_numpy()
    grid_cn, grid_ru = np.meshgrid(cn, ru, indexing="ij")
    best, rows_cn, rows_ru = passages.best(list(ids[grid_cn.ravel()]), list(ids[grid_ru.ravel()]))
    best = best.reshape(sims.shape)
    passage_made = best >= sims  # pairs whose similarity comes from a passage pair
    return np.maximum(sims, best), (rows_cn.reshape(sims.shape), rows_ru.reshape(sims.shape)), passage_made


def evidence_pairs(
    narrative_id: str,
    cn_rows: np.ndarray,
    ru_rows: np.ndarray,
    sims: np.ndarray,
    lags: np.ndarray,
    ranked: tuple[np.ndarray, np.ndarray],
    passage_rows: tuple[np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    """The evidence pairs at ``ranked`` (cells of the cn x ru grids, best first): their articles
    (``cn_rows``, ``ru_rows``: rows of the narrative), similarity, lag and, with passages, the
    matching passage rows."""
    pair_i, pair_j = ranked
    pairs = pd.DataFrame(
        {
            "narrative_id": narrative_id,
            "pair_rank": np.arange(1, len(pair_i) + 1),
            "cn": cn_rows,
            "ru": ru_rows,
            "similarity": [round(float(sims[i, j]), 4) for i, j in zip(pair_i, pair_j, strict=True)],
            "lag_hours": [round(float(lags[i, j]), 2) for i, j in zip(pair_i, pair_j, strict=True)],
        }
    )
    if passage_rows is not None:  # the passages that matched, rows of ``passages``
        pairs["cn_unit"], pairs["ru_unit"] = passage_rows[0][pair_i, pair_j], passage_rows[1][pair_i, pair_j]
    return pairs


def matching_vectors(
    vectors: np.ndarray,
    cn: np.ndarray,
    ru: np.ndarray,
    sims: np.ndarray,
    passage_rows: tuple[np.ndarray, np.ndarray],
    passage_made: np.ndarray,
    passage_vectors: np.ndarray,
) -> np.ndarray:
    """Each member's vector as the narrative sees it: the passage of its best cross-bloc pair
    where a passage pair made that pair's similarity (``passage_made``), else its article vector.

    The narrative's centre is then what its members share. With whole-article vectors a press
    conference that carries the narrative in one answer would pull the centre to the
    conference's opening, and control articles on that other subject would count as coverage.
    """
    content = vectors.copy()
    best_ru, best_cn = sims.argmax(axis=1), sims.argmax(axis=0)
    # (members, their passage-row grid, row and column of each member's best pair)
    sides = (
        (cn, passage_rows[0], np.arange(len(cn)), best_ru),
        (ru, passage_rows[1], best_cn, np.arange(len(ru))),
    )
    for members, grid, i, j in sides:
        rows = np.where(passage_made[i, j], grid[i, j], -1)
        content[members[rows >= 0]] = passage_vectors[rows[rows >= 0]]
    return content


def burstiness(seconds: np.ndarray, span_hours: float = 24.0) -> float:
    """Largest share of the articles that fall within any ``span_hours`` interval (1 = one burst)."""
    ordered = np.sort(seconds)
    ends = np.searchsorted(ordered, ordered + span_hours * HOUR, side="right")
    return float((ends - np.arange(len(ordered))).max() / len(ordered))
