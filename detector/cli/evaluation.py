"""``detector eval``, ``detector tune`` and ``detector bury``: measure what every threshold does, tune
them, and build event sets that hide a narrative inside long documents."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd

from detector.cli.options import (
    EVAL_CACHE,
    config_option,
    domain_errors,
    load_cli_config,
    print_table,
    store_option,
)
from detector.errors import InputError
from detector.io import write_json

data_option = click.option(
    "--data", "-d", "data", multiple=True,
    help="Labelled file: e_propaganda_diary_narratives.csv, g_semeval2022_pairs.csv, a parallel sample's "
    "lines.tsv (data/parallel/ntrex128/lines.tsv) or an events *_feed.csv (its *_truth.csv beside it). "
    "Repeat for several.",
)  # fmt: skip
PAIR_COLUMNS = ["language_pair", "n_pos", "n_neg", "roc_auc", "ap", "threshold", "precision", "recall", "f1",
                "best_threshold", "best_f1", "mean_sim_pos", "mean_sim_neg"]  # fmt: skip
TITLES = {
    "pairs_E_claim": "Pair level, file E: same claim in other words (positives) vs other narratives",
    "pairs_E_translation": "Pair level, file E: translations of one quote (trivial positives)",
    "pairs_G": "Pair level, file G (SemEval-2022): Overall <= 2 similar vs >= 3 dissimilar",
    "pairs_parallel_translation": "Pair level, parallel sample: translations of a sentence vs other stories",
    "pairs_parallel_story": "Pair level, parallel sample: other sentence of the same story vs other stories",
    "clusters_E": "Cluster level, file E (en as cn, ru as ru; noise = singletons)",
    "events": "Event level: run_daily on event feeds",
    "themes": "Theme level: run_daily's themes on event feeds (a campaign is grouped with >= 4 of its 6 "
    "articles, cn and ru, in one theme of <= 60; found with the right leader too)",
    "theme_campaigns": "Theme level: each campaign's best theme",
}
VERDICT_TITLES = {
    "run": "Analysts' verdicts: precision = confirmed / (confirmed + dismissed), per run",
    "channel_type": "... per channel type the flag reached",
    "language_pair": "... per language pair of the flag's best evidence pair",
    "all": "... over every run",
}
verdicts_option = click.option(
    "--verdicts", "verdict_store", type=click.Path(dir_okay=False, exists=True), default=None,
    help="A store holding analysts' verdicts (`detector verdicts import`, docs/review.md).",
)  # fmt: skip


def print_verdict_precision(store: str) -> None:
    """The precision of a store's flags by the analysts' verdicts, as tables."""
    from detector.store.reader import StoreReader
    from detector.verdicts.measure import precision_tables

    with StoreReader(Path(store)) as db:
        tables = precision_tables(db)
    for name, table in tables.items():
        print_table(VERDICT_TITLES[name], table)


@click.command("eval")
@config_option
@data_option
@click.option("--level", type=click.Choice(["pair", "cluster", "event", "theme", "all"]), default="all",
              show_default=True, help="Which level(s) to evaluate.")  # fmt: skip
@store_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write all tables as JSON here.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False), help="Write pr_curve.png here.")
@click.option("--pairs", "n_pairs", type=click.IntRange(1), default=200, show_default=True,
              help="File-E (and parallel-sample) pairs per kind and language pair.")  # fmt: skip
@verdicts_option
@domain_errors
def eval_command(
    config_path: str | None,
    data: tuple[str, ...],
    level: str,
    store_path: str | None,
    json_out: str | None,
    plot_dir: str | None,
    n_pairs: int,
    verdict_store: str | None,
) -> None:
    """Evaluate a config at four levels: pairs (ROC-AUC, AP, P/R/F1 at the configured
    per-language-pair threshold), clusters (ARI, homogeneity, completeness, noise), events
    (recall per kind, leader accuracy, false flags per 1,000 articles of the real pipeline) and
    themes (campaigns grouped / found with the right leader / at q <= 0.1, flagged themes per
    1,000 articles, B-cubed P/R/F1 when the truth carries narrative_id labels);
    with --verdicts, the precision of a store's flags by the analysts' verdicts."""
    if verdict_store:
        print_verdict_precision(verdict_store)
        if not data:
            return
    if not data:
        raise click.UsageError("give --data (labelled files) or --verdicts (a store with verdicts)")
    from detector.evaluate.data import classify_files
    from detector.evaluate.harness import LEVELS, evaluate
    from detector.pipeline.daily import store_file

    clock = time.perf_counter()
    config = load_cli_config(config_path)
    files = classify_files(list(data))
    levels = LEVELS if level == "all" else (level,)
    store = store_file(config, Path(EVAL_CACHE), store_path)
    result = evaluate(config, files, store, levels, n_pairs, config.run.seed)
    if not result.tables:
        raise InputError(", ".join(data), f"no file for level {level!r}", "add the matching --data file")
    for name, table in result.tables.items():
        print_table(TITLES[name], table[PAIR_COLUMNS] if name.startswith("pairs") else table)
    seconds = round(time.perf_counter() - clock, 1)
    if plot_dir and result.pair_sets:
        from detector.evaluate.plots import plot_pr_curves

        click.echo(f"PR curves -> {plot_pr_curves(result.pair_sets, Path(plot_dir) / 'pr_curve.png')}")
    if json_out:
        payload = {"config": config.source.path or None, "data": list(data), "levels": list(levels),
                   **result.to_json(), "total_seconds": seconds}  # fmt: skip
        write_json(payload, Path(json_out))
        click.echo(f"JSON -> {json_out}")
    click.echo(f"evaluated in {seconds} s ({result.seconds})")


@click.command("tune")
@config_option
@click.option("--data", "-d", "data", multiple=True, required=True,
              help="Event feed(s) to tune on (*_feed.csv with *_truth.csv beside it).")  # fmt: skip
@click.option("--holdout", "holdout", multiple=True,
              help="Event feed(s) never tuned on; reported next to the tuned-on numbers.")  # fmt: skip
@click.option("--out", "-o", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Tuned config (TOML) to write; the sweep plot goes beside it.")  # fmt: skip
@click.option("--budget", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Most false flags per 1,000 articles allowed on every tuning feed.")  # fmt: skip
@click.option("--rounds", type=click.IntRange(1), default=2, show_default=True,
              help="Coordinate-descent rounds.")  # fmt: skip
@click.option("--target-fdr", type=click.FloatRange(0, 1), default=None,
              help="Fix [score] target_fdr (not swept): tune for most events at this FDR.")  # fmt: skip
@store_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every trial as JSON here.")
@verdicts_option
@click.option("--verdict-weight", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Weight of the analysts' labelled pairs in the objective (docs/review.md).")  # fmt: skip
@domain_errors
def tune_command(
    config_path: str | None,
    data: tuple[str, ...],
    holdout: tuple[str, ...],
    out_path: str,
    budget: float,
    rounds: int,
    target_fdr: float | None,
    store_path: str | None,
    json_out: str | None,
    verdict_store: str | None,
    verdict_weight: float,
) -> None:
    """Sweep per-language-pair similarity thresholds, max lag and every numeric/choice key of
    [cluster] and [score]; maximise mean event recall over kinds within a false-flag budget; report
    held-out feeds next to tuned-on ones; write the full tuned config and a sweep plot."""
    from detector.evaluate.data import classify_files
    from detector.evaluate.plots import plot_sweep
    from detector.evaluate.tune import tune_on_feeds, write_config
    from detector.pipeline.daily import store_file

    config = load_cli_config(config_path)
    tune_files, held_files = classify_files(list(data)), classify_files(list(holdout))
    if not tune_files.feeds or tune_files.narratives or tune_files.semeval_pairs:
        raise InputError(", ".join(data), "tune takes event feeds only", "pass *_feed.csv files to --data")
    store = store_file(config, Path(EVAL_CACHE), store_path)
    labelled = None
    if verdict_store:
        from detector.store.reader import StoreReader
        from detector.verdicts.measure import labelled_pairs

        with StoreReader(Path(verdict_store)) as db:
            labelled = labelled_pairs(db)
        click.echo(
            f"analysts' verdicts: {len(labelled)} labelled pairs ({int(labelled['label'].sum())} confirmed)"
        )
    tuned = tune_on_feeds(
        config, config.source.path, tune_files.feeds, held_files.feeds, store, budget, rounds, target_fdr,
        labelled, verdict_weight,
    )  # fmt: skip
    chosen = pd.DataFrame([{"param": p, "start": a, "tuned": b} for p, (a, b) in tuned.changes.items()])
    print_table("Chosen values (start -> tuned)", chosen)
    print_table("Start vs tuned config, tuned-on vs held-out feeds", tuned.summary)
    out = Path(out_path)
    write_config(tuned.result.best, tuned.header, out)
    from detector.config import load_config

    load_config(out)  # the written file must load back; a ConfigError here is a bug worth seeing
    trials = pd.DataFrame([t.row() for t in tuned.result.trials])
    plot = plot_sweep(trials, out.with_suffix(".sweep.png"), budget)
    n_trials = len(tuned.result.trials)
    click.echo(f"tuned config -> {out}; sweep plot -> {plot}; {n_trials} trials in {tuned.seconds} s")
    if json_out:
        write_json({"objective": {"budget": budget}, "changes": tuned.changes,
                    "summary": tuned.summary.to_dict(orient="records"),
                    "trials": trials.to_dict(orient="records")}, Path(json_out))  # fmt: skip


@click.command("bury")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--host", required=True,
    help="Outlet whose items of one day become one long document, e.g. 'PRC MFA spokesperson' (a day's "
    "answers are its press conference). Event articles of its bloc are buried.",
)  # fmt: skip
@click.option(
    "--out", "-o", "prefix", type=click.Path(dir_okay=False), required=True,
    help="Writes PREFIX_feed.csv and PREFIX_truth.csv (an events set for eval and tune).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds where each event is buried.")
@domain_errors
def bury_command(feed: str, host: str, prefix: str, seed: int) -> None:
    """Hide one side of an events feed's events inside long documents, to measure passage matching.

    Each buried event keeps its id, time and language; its kind becomes "buried <kind>", so
    `detector eval -d PREFIX_feed.csv` reports its recall apart from the events left as they were.
    """
    from detector.evaluate.data import classify_files, read_event_set
    from detector.evaluate.inject import bury_events, write_event_set

    ((feed_path, truth_path),) = classify_files([feed]).feeds
    rows, truth = read_event_set(feed_path, truth_path)
    try:
        buried_feed, buried_truth = bury_events(rows, truth, host, seed)
    except ValueError as exc:  # the host has no items besides event articles
        raise InputError(
            str(feed_path),
            str(exc),
            "pass --host another outlet of the feed (its `outlet` column)",
            field="outlet",
        ) from None
    paths = write_event_set(buried_feed, buried_truth, Path(prefix))
    kinds = buried_truth.drop_duplicates("event_id")["kind"].value_counts().sort_index()
    click.echo("events: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    click.echo(f"-> {paths[0]}, {paths[1]}")
