"""PNG plots of the pair-level PR curves and of a tuning sweep (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from detector.evaluate.pairs import PairSet


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers
    import matplotlib.pyplot as plt

    return plt


def plot_pr_curves(pair_sets: list[PairSet], path: Path) -> Path:
    """One PR curve per (source, positive kind), with the configured-threshold point marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for pair_set in pair_sets:
        pairs = pair_set.pairs
        for kind in sorted(set(pairs.loc[pairs["label"] == 1, "kind"])):
            subset = pairs[(pairs["label"] == 0) | (pairs["kind"] == kind)]
            y, s = subset["label"].to_numpy(), subset["similarity"].to_numpy()
            precision, recall, _ = precision_recall_curve(y, s)
            (line,) = ax.plot(recall, precision, label=f"{pair_set.source} {kind}")
            predicted = s >= subset["threshold"].to_numpy()
            tp = int((predicted & (y == 1)).sum())
            if predicted.any():
                ax.plot(tp / max(int(y.sum()), 1), tp / int(predicted.sum()), "o", color=line.get_color())
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="Pair level: cosine similarity (dot = configured threshold)")  # fmt: skip
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_sweep(trials: pd.DataFrame, path: Path, budget: float) -> Path:
    """One panel per swept parameter: mean recall and false flags / 1k over its grid."""
    plt = _pyplot()
    swept = [p for p in dict.fromkeys(trials["param"]) if p != "start"]
    cols = 3
    rows = max(1, int(np.ceil(len(swept) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    # One false-flag scale for every panel, so flat lines look flat and steps compare across panels.
    top = 1.1 * max(budget, float(trials["false_flags_per_1k"].max()))
    for ax, param in zip(axes.flat, swept, strict=False):
        # Last round's sweep of the parameter (the one made around the final values).
        group = trials[trials["param"] == param].drop_duplicates("value", keep="last")
        # Values as evenly spaced categories: grids mix ints, floats and method names.
        x = np.arange(len(group))
        ax.plot(x, group["mean_recall"], "o-", label="mean recall")
        ax.set_ylim(0, 1.02)
        ax.set_xticks(x, [str(v) for v in group["value"]], fontsize=7, rotation=45)
        twin = ax.twinx()
        twin.plot(x, group["false_flags_per_1k"], "s--", color="tab:red", label="false flags / 1k")
        twin.axhline(budget, color="tab:red", alpha=0.3)
        twin.set_ylim(0, top)
        ax.set_title(param.removeprefix("score.min_similarity_by_language_pair."), fontsize=9)
    for ax in list(axes.flat)[len(swept) :]:
        ax.axis("off")
    fig.suptitle("Tuning sweep (blue: mean recall, red: false flags per 1,000; line = budget)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
