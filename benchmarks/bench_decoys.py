"""What the decoys cost (issue #18): one run with and one without them, back to back, same feed.

Both runs read the same warm store copy (every text already embedded, so embedding is shared and
costs nothing here); the difference in the ``decoys`` and ``score`` stages is what the q-values
cost. Runs alternate (without, with, without, with ...) so that a change in the machine's load
hits both sides; the table reports each stage's median and the median ratio of whole runs.

    python -m benchmarks.bench_decoys --feed FEED --store WARM.duckdb [--rounds 2] [--tag NAME]

``WARM.duckdb`` is any store in which FEED was run once (it is copied, never written). Prints a
table and writes ``benchmarks/results/decoys_<tag>.json`` with the machine and its load.

``--against OLD_TREE`` (a checkout of older code, e.g. ``git archive main | tar -x -C OLD_TREE``)
compares code instead: ``detector run`` in a child process with OLD_TREE, then this tree, first on
PYTHONPATH, alternating, both with decoys; per side the child's CPU seconds, the manifest's stage
times and the md5 of flags.csv, members.csv and pairs.csv (which must be equal).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from detector.config import Config, config_from_dict, load_config
from detector.pipeline.daily import run_daily

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def with_decoys(config: Config, decoys: int) -> Config:
    data = config.to_dict()
    data["score"]["decoys"] = decoys
    return config_from_dict(data, base_dir=config.base_dir)


def one_run(config: Config, feed: Path, warm: Path, work: Path) -> dict[str, Any]:
    store = work / "store.duckdb"
    shutil.copy(warm, store)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    run_daily(config, [str(feed)], work / "out", store)
    wall = time.perf_counter() - start
    manifest = json.loads((work / "out" / "manifest.json").read_text())
    store.unlink()
    return {"wall_s": round(wall, 2), "stages_s": manifest["timings_s"], "load_1min": round(load, 2),
            "flags": manifest["counts"]["flags"], "decoys": manifest["decoys"]}  # fmt: skip


def child_run(code: Path, config: Path, feed: Path, warm: Path, work: Path) -> dict[str, Any]:
    """One ``detector run`` with ``code`` first on PYTHONPATH, on a fresh copy of ``warm``."""
    store = work / "store.duckdb"
    shutil.copy(warm, store)
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "detector", "run", "-c", str(config), "-i", str(feed),
               "-o", str(work / "out"), "--store", str(store)]  # fmt: skip
    subprocess.run(command, cwd=code, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for leftover in work.glob("store.duckdb*"):  # the store, its lock and its archive index
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    manifest = json.loads((work / "out" / "manifest.json").read_text())
    digests = {name: hashlib.md5((work / "out" / name).read_bytes()).hexdigest()
               for name in ("flags.csv", "members.csv", "pairs.csv")}  # fmt: skip
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stages_s": manifest["timings_s"],
            "load_1min": round(load, 2), "md5": digests}  # fmt: skip


def compare_code(args: argparse.Namespace) -> None:
    """Old tree against this one, alternating, both with decoys (module doc)."""
    sides = {"old": args.against.resolve(), "new": ROOT}
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="bench-decoys-") as tmp:
        for _ in range(args.rounds):
            for side, code in sides.items():
                work = Path(tmp) / side
                work.mkdir(exist_ok=True)
                runs[side].append(
                    child_run(code, args.config.resolve(), args.feed.resolve(), args.store, work)
                )
    stages = sorted({s for side in runs.values() for r in side for s in r["stages_s"]})
    print(f"{'stage (median s)':<18} {'old':>8} {'new':>8}")
    table = {}
    for stage in [*stages, "wall_s", "cpu_s"]:
        row = {side: statistics.median(r["stages_s"].get(stage, 0.0) if stage in stages else r[stage]
                                       for r in runs[side]) for side in runs}  # fmt: skip
        table[stage] = row
        print(f"{stage:<18} {row['old']:>8.2f} {row['new']:>8.2f}")
    share = {side: table["decoys"][side] / max(sum(table[s][side] for s in stages), 1e-9) for side in runs}
    identical = len({json.dumps(r["md5"], sort_keys=True) for side in runs.values() for r in side}) == 1
    loads = [r["load_1min"] for side in runs.values() for r in side]
    print(f"decoys' share of the stages: old {share['old']:.1%}, new {share['new']:.1%}; "
          f"outputs identical: {identical}; 1-min load {loads}")  # fmt: skip
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    result = {"feed": str(args.feed), "against": str(sides["old"]), "rounds": args.rounds,
              "runs": runs, "median": table, "decoys_share": share, "outputs_identical": identical,
              "machine": machine}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"decoys_{args.tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"-> {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feed", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True, help="a store the feed was run in once")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.toml")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tag", default="run")
    parser.add_argument("--against", type=Path, help="an older checkout: compare its code with this tree's")
    args = parser.parse_args()
    if args.against:
        compare_code(args)
        return
    base = load_config(args.config)
    decoys = base.score.decoys
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="bench-decoys-") as tmp:
        for _ in range(args.rounds):
            for side, n in (("without", 0), ("with", decoys)):
                work = Path(tmp) / side
                work.mkdir(exist_ok=True)
                runs[side].append(one_run(with_decoys(base, n), args.feed, args.store, work))
    stages = sorted({s for side in runs.values() for r in side for s in r["stages_s"]})
    print(f"{'stage':<10} {'without (s)':>12} {'with (s)':>10}")
    table = {}
    for stage in stages:
        row = {side: statistics.median(r["stages_s"].get(stage, 0.0) for r in runs[side]) for side in runs}
        table[stage] = row
        print(f"{stage:<10} {row['without']:>12.2f} {row['with']:>10.2f}")
    pairs = zip(runs["with"], runs["without"], strict=True)
    ratio = statistics.median(w["wall_s"] / max(o["wall_s"], 1e-9) for w, o in pairs)
    print(f"whole run, with / without (median of {args.rounds} back-to-back pairs): {ratio:.2f}")
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    result = {
        "feed": str(args.feed), "decoys": decoys, "rounds": args.rounds, "runs": runs,
        "median_stages_s": table, "median_ratio_with_over_without": round(ratio, 3), "machine": machine,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"decoys_{args.tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
