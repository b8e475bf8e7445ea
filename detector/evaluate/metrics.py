"""Evaluation metrics: pure functions of labels and scores, no I/O.

Ranking metrics (ROC-AUC, average precision) and clustering agreement (ARI, homogeneity,
completeness) come from scikit-learn; the event-level measures follow the events/ README of the
development corpus: an event is *found* when one flagged narrative holds at least one of its cn and
one of its ru articles and that narrative is not a *sweep* (event articles are not more than half
of its members).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm

# A narrative is a sweep unless event articles are strictly more than this share of its members.
SWEEP_SHARE = 0.5


def roc_auc(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present (it is undefined then)."""
    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(skm.roc_auc_score(y, np.asarray(scores, dtype=float)))


def average_precision(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Average precision (area under the step PR curve); NaN without positives."""
    y = np.asarray(y_true)
    if not y.any():
        return float("nan")
    return float(skm.average_precision_score(y, np.asarray(scores, dtype=float)))


@dataclass(frozen=True)
class ThresholdScores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def precision_recall_f1(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    threshold: float | Sequence[float] | np.ndarray,
) -> ThresholdScores:
    """Precision, recall and F1 of predicting positive when ``score >= threshold``.

    ``threshold`` may be one value or one per row (per-language-pair thresholds). Precision with
    no predicted positives is defined as 0 here, like scikit-learn's ``zero_division=0``.
    """
    y = np.asarray(y_true).astype(bool)
    predicted = np.asarray(scores, dtype=float) >= np.asarray(threshold, dtype=float)
    tp = int((predicted & y).sum())
    fp = int((predicted & ~y).sum())
    fn = int((~predicted & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdScores(precision, recall, f1, tp, fp, fn)


def noise_rate(labels: Sequence[int] | np.ndarray) -> float:
    """Share of points HDBSCAN left unclustered (label -1)."""
    labels = np.asarray(labels)
    return float((labels < 0).mean()) if len(labels) else float("nan")


def noise_as_singletons(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """Give every noise point its own cluster.

    Agreement scores would otherwise treat all noise as one giant cluster and reward a clusterer
    that calls everything noise.
    """
    labels = np.asarray(labels).copy()
    noise = labels < 0
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return labels


@dataclass(frozen=True)
class ClusterScores:
    ari: float
    homogeneity: float
    completeness: float
    noise_rate: float
    n_clusters: int


def cluster_scores(truth: Sequence[object], labels: Sequence[int] | np.ndarray) -> ClusterScores:
    """ARI, homogeneity and completeness of ``labels`` against ``truth`` (noise = singletons)."""
    labels = np.asarray(labels)
    singletons = noise_as_singletons(labels)
    truth_list = list(truth)
    return ClusterScores(
        ari=float(skm.adjusted_rand_score(truth_list, singletons)),
        homogeneity=float(skm.homogeneity_score(truth_list, singletons)),
        completeness=float(skm.completeness_score(truth_list, singletons)),
        noise_rate=noise_rate(labels),
        n_clusters=len(set(labels[labels >= 0].tolist())),
    )


@dataclass(frozen=True)
class Event:
    """One injected event: its cn and ru article ids, kind and the bloc that published first."""

    event_id: str
    kind: str
    leader: str
    cn_ids: frozenset[str]
    ru_ids: frozenset[str]


@dataclass(frozen=True)
class Narrative:
    """A flagged narrative: member ids and the bloc (cn/ru) of its earliest cn-or-ru member."""

    narrative_id: str
    ids: frozenset[str]
    first_bloc: str


@dataclass
class EventScores:
    recall_by_kind: dict[str, float]
    found_by_kind: dict[str, int]
    events_by_kind: dict[str, int]
    leader_accuracy: float
    n_flagged: int
    n_sweeps: int
    n_false_flags: int
    false_flags_per_1000: float
    found: list[str] = field(default_factory=list)

    @property
    def mean_recall(self) -> float:
        return float(np.mean(list(self.recall_by_kind.values()))) if self.recall_by_kind else 0.0


def is_sweep(narrative: Narrative, event_ids: set[str] | frozenset[str]) -> bool:
    """True unless event articles are strictly more than half of the narrative's members."""
    return len(narrative.ids & event_ids) <= SWEEP_SHARE * len(narrative.ids)


def score_events(events: Iterable[Event], narratives: Iterable[Narrative], n_articles: int) -> EventScores:
    """Recall per kind, leader accuracy on found events and false flags per 1,000 feed articles.

    A false flag is a flagged narrative that holds no event's cn+ru pair (sweeps that do hold one
    are counted in ``n_sweeps`` instead: they are a failure of a different kind). Real, unlabelled
    synchrony in the background also counts as a false flag, so the rate is an upper bound.
    """
    events = list(events)
    narratives = list(narratives)
    event_ids = frozenset().union(*(e.cn_ids | e.ru_ids for e in events)) if events else frozenset()
    kinds = sorted({e.kind for e in events})
    found_by_kind = dict.fromkeys(kinds, 0)
    events_by_kind = dict.fromkeys(kinds, 0)
    leader_hits: list[bool] = []
    holding: set[str] = set()
    sweeps: set[str] = set()
    found: list[str] = []
    for event in events:
        events_by_kind[event.kind] += 1
        hit = None
        for narrative in narratives:
            if narrative.ids & event.cn_ids and narrative.ids & event.ru_ids:
                holding.add(narrative.narrative_id)
                if is_sweep(narrative, event_ids):
                    sweeps.add(narrative.narrative_id)
                elif hit is None:
                    hit = narrative
        if hit is not None:
            found_by_kind[event.kind] += 1
            found.append(event.event_id)
            leader_hits.append(hit.first_bloc == event.leader)
    false_flags = sum(1 for n in narratives if n.narrative_id not in holding)
    return EventScores(
        recall_by_kind={k: found_by_kind[k] / events_by_kind[k] for k in kinds},
        found_by_kind=found_by_kind,
        events_by_kind=events_by_kind,
        leader_accuracy=float(np.mean(leader_hits)) if leader_hits else float("nan"),
        n_flagged=len(narratives),
        n_sweeps=len(sweeps),
        n_false_flags=false_flags,
        false_flags_per_1000=per_1000(false_flags, n_articles),
        found=found,
    )


def per_1000(count: int, n_articles: int) -> float:
    return 1000.0 * count / n_articles if n_articles else float("nan")
