"""Cluster level: does the configured window clustering group file-E quotes by narrative?

The English and Russian rows of file E are treated as one window (the quotes carry no usable
common time line: all get the same timestamp) and clustered with
:meth:`detector.narratives.cluster.WindowClusterer.cluster_window`. As in the corpus's events/ feeds, the
English version stands for a cn outlet and the Russian version for a ru outlet, because cross-bloc
methods only link articles of different blocs. Two views:

* ``all rows``: both language versions of every quote. Translations of one quote cluster
  trivially, which flatters homogeneity.
* ``one per quote``: one randomly chosen (seeded) language version per quote, so a cluster can only
  form from different quotes — the cross-lingual narrative case the product exists for.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict

import numpy as np
import pandas as pd

from detector.config import Config
from detector.evaluate.metrics import cluster_scores
from detector.narratives.cluster import WindowClusterer
from detector.narratives.groupers import make_grouper

BLOC_OF_LANGUAGE = {"en": "cn", "ru": "ru"}


def cluster_labels(clusterer: WindowClusterer, vectors: np.ndarray, blocs: np.ndarray) -> np.ndarray:
    """Labels of one window, passing blocs and times only to methods that take them."""
    accepted = inspect.signature(clusterer.cluster_window).parameters
    extra: dict[str, np.ndarray] = {}
    if "blocs" in accepted:
        extra["blocs"] = blocs
    if "times" in accepted:
        extra["times"] = np.zeros(len(vectors), dtype=np.int64)
    labels, _ = clusterer.cluster_window(vectors, **extra)
    return np.asarray(labels)


def one_per_quote(narratives: pd.DataFrame, seed: int) -> np.ndarray:
    """Row positions of one randomly chosen language version per ``quote_id``."""
    rng = np.random.default_rng(seed)
    positions = [int(rng.choice(g)) for _, g in narratives.groupby("quote_id", sort=True).indices.items()]
    return np.array(sorted(positions))


def cluster_table(
    config: Config, narratives: pd.DataFrame, vectors: np.ndarray, seed: int = 0
) -> pd.DataFrame:
    """ARI / homogeneity / completeness / noise rate per view and truth granularity.

    ``narratives`` are file-E rows and ``vectors`` their embeddings; only en and ru rows are used.
    """
    name, options = config.grouper()
    grouper = make_grouper(name, options, random_state=config.run.seed)  # seeded as the daily pipeline
    clusterer = WindowClusterer(grouper, **config.arguments("cluster"))
    keep = narratives["language"].isin(list(BLOC_OF_LANGUAGE)).to_numpy()
    narratives, vectors = narratives[keep].reset_index(drop=True), vectors[keep]
    blocs = narratives["language"].map(BLOC_OF_LANGUAGE).to_numpy()
    views = {"all rows": np.arange(len(narratives)), "one per quote": one_per_quote(narratives, seed)}
    rows = []
    for view, positions in views.items():
        labels = cluster_labels(clusterer, vectors[positions], blocs[positions])
        for truth in ("narrative_id", "claim_id"):
            scores = cluster_scores(narratives[truth].to_numpy()[positions].tolist(), labels)
            rows.append({"view": view, "truth": truth, "articles": len(positions), **asdict(scores)})
    return pd.DataFrame(rows)
