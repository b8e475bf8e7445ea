"""Threshold and parameter tuning on the event level, with a held-out split.

Objective (stated once, used everywhere): maximise the **mean event recall over kinds**
(translation, claim) subject to a **false-flag budget** (flagged narratives holding no event, per
1,000 feed articles; default at most 2 on every tuning feed). Configs over budget rank below every
config within it, and among themselves by fewer false flags.

Search: coordinate descent. Each parameter in turn is set to every value of its grid with the
others held at their current best; the best value is kept; rounds repeat until nothing changes.
Grids are built from the config at run time: every numeric or choice key of ``[cluster]`` and
``[score]`` that exists gets one, so keys added to the method later are swept without code changes.
Configs are derived with :func:`dataclasses.replace` only.

Analysts' verdicts (``detector tune --verdicts STORE``, docs/review.md): the best evidence pair
of every confirmed and every dismissed narrative is a labelled pair. A config's agreement with
them is the balanced accuracy of its per-language-pair similarity floor on those pairs (the
share of confirmed pairs it keeps and of dismissed pairs it drops, averaged), and the objective's
recall term becomes ``(1 - w) * mean event recall + w * agreement`` with ``w`` the verdict
weight (default 0.5: the analysts' judgement counts as much as all injected event kinds
together). The false-flag budget still applies to the event feeds alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from detector.config import Config, Section
from detector.evaluate.data import load_feed_events
from detector.evaluate.events import evaluate_feed
from detector.evaluate.metrics import EventScores
from detector.narratives.groupers import section_key
from detector.sources.registry import language_pair

log = logging.getLogger(__name__)

SECTIONS = ("cluster", "score")
# Not swept: the window grid itself (changing it is a different product, not a threshold), and
# keys that only set evidence size or sampling effort, not what gets flagged.
NOT_SWEPT = {
    "cluster.window_hours",
    "cluster.step_hours",
    "score.top_pairs",
    "score.permutations",
    "score.decoys",
}
TARGET_FDR = "score.target_fdr"
PAIR_THRESHOLDS = "score.min_similarity_by_language_pair"
THRESHOLD_GRID = [round(x, 2) for x in np.arange(0.30, 0.701, 0.05)]
KNOWN_GRIDS: dict[str, list[Any]] = {
    "score.min_similarity": THRESHOLD_GRID,
    "score.max_lag_hours": [24.0, 48.0, 72.0],
    "cluster.hdbscan.min_cluster_size": [2, 3, 4],
    "cluster.hdbscan.min_samples": [1, 2, 3],
}


@dataclass(frozen=True)
class Objective:
    """Mean recall over kinds, subject to at most ``max_false_flags_per_1000`` on every feed."""

    max_false_flags_per_1000: float = 2.0
    verdict_pairs: pd.DataFrame | None = None  # language_pair, similarity, label (1 confirmed)
    verdict_weight: float = 0.5

    def key(self, scores: list[EventScores], config: Config | None = None) -> tuple[int, float, float]:
        """Sort key, larger is better: (within budget, mean recall, -false flags)."""
        recall = float(np.mean([s.mean_recall for s in scores]))
        if config is not None and self.verdict_pairs is not None and len(self.verdict_pairs):
            agreement = verdict_agreement(config, self.verdict_pairs)
            recall = (1 - self.verdict_weight) * recall + self.verdict_weight * agreement
        worst = max(s.false_flags_per_1000 for s in scores)
        feasible = worst <= self.max_false_flags_per_1000
        return (int(feasible), recall if feasible else 0.0, -worst)


def verdict_agreement(config: Config, pairs: pd.DataFrame) -> float:
    """Balanced accuracy of ``config``'s similarity floors on the analysts' labelled pairs."""
    floors = config.score.min_similarity_by_language_pair
    floor = pairs["language_pair"].map(lambda lp: floors.get(lp, config.score.min_similarity))
    kept = pairs["similarity"].to_numpy() >= floor.to_numpy(dtype=float)
    label = pairs["label"].to_numpy() == 1
    rates = [float(kept[label].mean())] if label.any() else []
    rates += [float((~kept[~label]).mean())] if (~label).any() else []
    return float(np.mean(rates))


@dataclass
class Trial:
    param: str
    value: Any
    config: Config
    scores: list[EventScores]
    key: tuple[int, float, float]

    def row(self) -> dict[str, Any]:
        recall: dict[str, list[float]] = {}
        for s in self.scores:
            for kind, r in s.recall_by_kind.items():
                recall.setdefault(f"recall_{kind}", []).append(r)
        return {
            "param": self.param,
            "value": self.value,
            "within_budget": bool(self.key[0]),
            "mean_recall": float(np.mean([s.mean_recall for s in self.scores])),
            **{k: float(np.mean(v)) for k, v in recall.items()},
            "false_flags_per_1k": max(s.false_flags_per_1000 for s in self.scores),
        }


@dataclass
class TuneResult:
    best: Config
    best_key: tuple[int, float, float]
    trials: list[Trial] = field(default_factory=list)
    chosen: dict[str, Any] = field(default_factory=dict)


def split_param(config: Config, param: str) -> tuple[str, str, str | None]:
    """``(section, key, entry)`` of ``section.key``, ``section.table.key`` (``cluster.hdbscan.
    min_samples``) or ``section.key.entry`` (an entry of a dict key)."""
    section, key, *rest = param.split(".", 2)
    if rest and isinstance(getattr(config.part(section), key), Section):
        section, (key, *rest) = f"{section}.{key}", rest[0].split(".", 1)
    return section, key, rest[0] if rest else None


def get_param(config: Config, param: str) -> Any:
    section, key, entry = split_param(config, param)
    value = getattr(config.part(section), key)
    return value.get(entry, config.score.min_similarity) if entry else value


def set_param(config: Config, param: str, value: Any) -> Config:
    """A copy of ``config`` with ``param`` (``section.key``, ``section.table.key`` or
    ``section.key.entry``) replaced."""
    section, key, entry = split_param(config, param)
    if entry:
        value = {**getattr(config.part(section), key), entry: value}
    return config.override(section, **{key: value})


def auto_grid(f: dataclasses.Field[Any], value: Any) -> list[Any]:
    """A small grid around ``value`` for a key without a known grid, inside its declared range."""
    if "choices" in f.metadata:
        return list(f.metadata["choices"])
    if isinstance(value, bool) or not isinstance(value, int | float) or "range" not in f.metadata:
        return []
    lo, hi = f.metadata["range"]
    if isinstance(value, int):
        candidates: list[Any] = [max(1, value // 2), value, value * 2, value + 1]
    else:
        candidates = [round(value - 0.1, 4), value, round(value + 0.1, 4)]
    return sorted({c for c in candidates if lo <= c <= hi})


def search_space(config: Config, language_pairs: Iterable[str]) -> dict[str, list[Any]]:
    """Grids for every sweepable key of ``[cluster]``/``[score]`` plus each cross-bloc language pair."""
    space: dict[str, list[Any]] = {}
    grouper = f"cluster.{section_key(config.cluster.grouper)}"  # the options of the grouper in use
    for section in (*SECTIONS, grouper):
        part = config.part(section)
        for f in dataclasses.fields(part):
            name = f"{section}.{f.name}"
            if name in NOT_SWEPT or name == PAIR_THRESHOLDS or f.name in part.subsections:
                continue
            grid = KNOWN_GRIDS.get(name) or auto_grid(f, getattr(part, f.name))
            if len(grid) > 1:
                space[name] = grid
    for lp in sorted(language_pairs):
        space[f"{PAIR_THRESHOLDS}.{lp}"] = THRESHOLD_GRID
    return space


def cross_bloc_language_pairs(feeds: Iterable[Any]) -> set[str]:
    """Language pairs of possible cn-ru article pairs in the feeds (DataFrames with bloc, language)."""
    pairs: set[str] = set()
    for feed in feeds:
        cn = set(feed.loc[feed["bloc"] == "cn", "language"])
        ru = set(feed.loc[feed["bloc"] == "ru", "language"])
        pairs |= {language_pair(a, b) for a in cn for b in ru}
    return pairs


def coordinate_descent(
    start: Config,
    space: dict[str, list[Any]],
    evaluate: Callable[[Config], list[EventScores]],
    objective: Objective,
    max_rounds: int = 2,
) -> TuneResult:
    """Tune ``start`` over ``space``; ``evaluate`` runs the pipeline on the tuning feeds."""
    seen: dict[str, tuple[list[EventScores], tuple[int, float, float]]] = {}

    def trial(param: str, value: Any, config: Config) -> Trial:
        digest = config.method_hash()
        if digest not in seen:  # the same method twice (e.g. the current value) runs once
            scores = evaluate(config)
            seen[digest] = (scores, objective.key(scores, config))
        return Trial(param, value, config, *seen[digest])

    best = trial("start", None, start)
    result = TuneResult(start, best.key, [best])
    total = max_rounds * sum(len(g) for g in space.values())
    with tqdm(total=total, desc="tune", unit="config", disable=None) as bar:
        for round_ in range(max_rounds):
            changed = False
            for param, grid in space.items():
                trials = []
                for value in grid:
                    trials.append(trial(param, value, set_param(result.best, param, value)))
                    bar.update(1)
                result.trials.extend(trials)
                top = max(trials, key=lambda t: t.key)
                if top.key > result.best_key:
                    log.info("round %d: %s = %r -> %s", round_ + 1, param, top.value, top.key)
                    result.best, result.best_key = top.config, top.key
                    result.chosen[param] = top.value
                    changed = True
            if not changed:
                bar.update(total - bar.n)
                break
    return result


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def config_to_toml(config: Config, header: list[str]) -> str:
    """The full config as TOML (every key, paths absolute), preceded by ``header`` comment lines."""
    lines = [f"# {line}" if line else "#" for line in header]
    tables: list[tuple[str, dict[str, Any]]] = []
    for section in config.to_dict():
        lines += ["", f"[{section}]"]
        for key, value in config.values(section).items():
            if isinstance(value, dict):
                tables.append((f"{section}.{key}", value))
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        for name, table in tables:
            lines += ["", f"[{name}]"]
            lines += [f'"{k}" = {_toml_value(v)}' for k, v in sorted(table.items())]
        tables = []
    return "\n".join(lines) + "\n"


def write_config(config: Config, header: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_to_toml(config, header), encoding="utf-8")


@dataclass(frozen=True)
class TuneReport:
    """What ``detector tune`` shows and writes: the search, the start-vs-tuned table per feed, the
    changed keys (``param: (start, tuned)``) and the header of the tuned config file."""

    result: TuneResult
    summary: pd.DataFrame
    changes: dict[str, tuple[Any, Any]]
    header: list[str]
    seconds: float


def tune_on_feeds(
    config: Config,
    source: str,
    tune_feeds: tuple[tuple[Path, Path], ...],
    held_feeds: tuple[tuple[Path, Path], ...],
    store: Path,
    budget: float,
    rounds: int,
    target_fdr: float | None = None,
    verdict_pairs: pd.DataFrame | None = None,
    verdict_weight: float = 0.5,
) -> TuneReport:
    """Tune ``config`` (read from ``source``) on ``tune_feeds`` (``(feed, truth)`` pairs) within a
    false-flag ``budget``, and score the start and the tuned config on both splits.

    With ``target_fdr`` the run's error rate is fixed there (``[score] target_fdr``, not swept):
    the sweep then finds the settings that flag the most events at that estimated FDR.
    ``verdict_pairs`` (analysts' labelled pairs) join the objective with ``verdict_weight``."""
    if target_fdr is not None:
        config = set_param(config, TARGET_FDR, target_fdr)

    def scores_on(feeds: tuple[tuple[Path, Path], ...], cfg: Config) -> list[EventScores]:
        return [evaluate_feed(cfg, feed, truth, store).scores for feed, truth in feeds]

    languages = cross_bloc_language_pairs(load_feed_events(f, t)[0] for f, t in tune_feeds)
    clock = time.perf_counter()
    space = search_space(config, languages)
    if target_fdr is not None:
        space.pop(TARGET_FDR, None)
    objective = Objective(budget, verdict_pairs, verdict_weight)
    result = coordinate_descent(config, space, lambda c: scores_on(tune_feeds, c), objective, rounds)
    seconds = round(time.perf_counter() - clock, 1)
    rows = []
    for label, cfg in (("start", config), ("tuned", result.best)):
        for split, feeds in (("tuned-on", tune_feeds), ("held-out", held_feeds)):
            for (feed, _), s in zip(feeds, scores_on(feeds, cfg), strict=True):
                rows.append({"config": label, "split": split, "feed": feed.name,
                             **{f"recall_{k}": v for k, v in s.recall_by_kind.items()},
                             "mean_recall": s.mean_recall, "leader_acc": s.leader_accuracy,
                             "false_flags_per_1k": s.false_flags_per_1000})  # fmt: skip
    summary = pd.DataFrame(rows)
    changes = {p: (get_param(config, p), get_param(result.best, p)) for p in result.chosen}
    changes = {p: v for p, v in changes.items() if v[0] != v[1]}
    header = [
        f"Tuned by `detector tune` from {source} in {seconds} s ({len(result.trials)} trials).",
        f"Objective: mean event recall over kinds, subject to <= {budget} false flags per 1,000",
        "articles on every tuning feed (coordinate descent over [cluster]/[score] keys).",
        f"Tuned on: {', '.join(str(f) for f, _ in tune_feeds)}",
        f"Held out: {', '.join(str(f) for f, _ in held_feeds) or 'none'}",
        *(
            [f"Analysts' verdicts: {len(verdict_pairs)} labelled pairs, weight {verdict_weight}"]
            if verdict_pairs is not None and len(verdict_pairs)
            else []
        ),
        "Changed: " + ("; ".join(f"{p}: {a} -> {b}" for p, (a, b) in changes.items()) or "nothing"),
        "",
        *summary.round(3).to_string(index=False).splitlines(),
    ]
    return TuneReport(result, summary, changes, header, seconds)
