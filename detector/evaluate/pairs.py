"""Pair level: does the cosine of two articles separate same-narrative from different pairs?

Embeddings go through :class:`detector.embed.embedding.EmbeddingStage` and the store's cache, so the texts
are embedded exactly as the pipeline embeds them, once per model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detector.config import Config
from detector.embed.embedding import EmbeddingStage
from detector.evaluate.metrics import average_precision, precision_recall_f1, roc_auc
from detector.scoring.score import SyncScorer
from detector.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSet:
    """Scored pairs of one source: ``language_pair, kind, label, similarity, threshold``."""

    source: str
    pairs: pd.DataFrame


def embed_frame(stage: EmbeddingStage, store: Store, frame: pd.DataFrame) -> np.ndarray:
    """Vectors of ``frame`` rows (``title``/``text``), via the store's embedding cache."""
    if "title" not in frame:
        frame = frame.assign(title="")
    return stage.vectors(store, frame)


def thresholds_for(config: Config, pairs: pd.DataFrame) -> np.ndarray:
    """The configured threshold of each pair's language pair (``[score]`` overrides included)."""
    scorer = SyncScorer(**config.arguments("score"))
    return np.array([scorer.threshold(*lp.split("-")) for lp in pairs["language_pair"]], dtype=float)


def score_pairs(
    config: Config, source: str, pairs: pd.DataFrame, vectors_a: np.ndarray, vectors_b: np.ndarray
) -> PairSet:
    """Attach cosine similarity (rows are unit vectors) and the configured threshold to ``pairs``."""
    similarity = np.einsum("ij,ij->i", vectors_a, vectors_b)
    scored = pairs.assign(similarity=similarity.round(6), threshold=thresholds_for(config, pairs))
    return PairSet(source, scored.reset_index(drop=True))


def pair_table(pair_set: PairSet, positive_kind: str | None = None) -> pd.DataFrame:
    """ROC-AUC, AP and P/R/F1 at the configured threshold, per language pair and overall, and the
    threshold that would maximise F1 on these pairs (evidence for ``[score]`` overrides).

    ``positive_kind`` restricts positives to one kind (``claim`` or ``translation``); negatives are
    always all label-0 pairs of the same language pair.
    """
    pairs = pair_set.pairs
    if positive_kind is not None:
        pairs = pairs[(pairs["label"] == 0) | (pairs["kind"] == positive_kind)]
    rows = []
    groups = [(lp, g) for lp, g in pairs.groupby("language_pair", sort=True)] + [("all", pairs)]
    for lp, group in groups:
        y, s = group["label"].to_numpy(), group["similarity"].to_numpy()
        if not y.any():
            continue  # e.g. same-language pairs have no translations
        at = precision_recall_f1(y, s, group["threshold"].to_numpy())
        best_threshold, best_f1 = best_f1_threshold(y, s)
        rows.append(
            {
                "source": pair_set.source,
                "positives": positive_kind or "label",
                "language_pair": lp,
                "n_pos": int(y.sum()),
                "n_neg": int((y == 0).sum()),
                "roc_auc": roc_auc(y, s),
                "ap": average_precision(y, s),
                "threshold": float(group["threshold"].iloc[0]) if lp != "all" else float("nan"),
                "precision": at.precision,
                "recall": at.recall,
                "f1": at.f1,
                "best_threshold": best_threshold,
                "best_f1": best_f1,
                "mean_sim_pos": float(s[y == 1].mean()) if y.any() else float("nan"),
                "mean_sim_neg": float(s[y == 0].mean()) if (y == 0).any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The threshold (one of the observed scores) with the highest F1, and that F1."""
    order = np.argsort(-scores, kind="stable")
    y_sorted, s_sorted = y[order].astype(bool), scores[order]
    tp = np.cumsum(y_sorted)
    predicted = np.arange(1, len(y) + 1)
    # Only the last index of a run of tied scores is a reachable cut.
    cut = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    f1 = 2 * tp / (predicted + y_sorted.sum())
    f1 = np.where(cut, f1, -1.0)
    best = int(np.argmax(f1))
    return float(s_sorted[best]), float(f1[best])
