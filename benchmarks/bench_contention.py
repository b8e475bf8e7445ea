"""A cold `detector run` with and without one competing CPU-bound process (issue #28, item 5).

Per repeat and code checkout, alternating "alone" and "beside a busy loop" back to back: the
competitor is a pure-Python busy loop pinned to core 0 (``taskset -c 0``), started before the run
and killed after it. Each run is a child process on a fresh store; the table gives wall and CPU
seconds, the manifest's stage seconds and the ratio beside / alone per stage. ``--code`` names
checkouts to compare (their folder goes on the child's PYTHONPATH), e.g. main against a branch.

    python benchmarks/bench_contention.py --feed data/sample/feed_2024.csv --code /work/main --code .

Writes benchmarks/results/contention_<date>.json with the load average around every run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUSY_LOOP = "while True: pass"


def load() -> float:
    return round(os.getloadavg()[0], 2)


def cold_run(code: Path, feed: Path, config: Path, work: Path, compete: bool) -> dict[str, Any]:
    """One cold run in a child process (fresh store), beside a busy loop when ``compete``."""
    out, store = work / "out", work / "store.duckdb"
    shutil.rmtree(out, ignore_errors=True)
    store.unlink(missing_ok=True)
    command = [sys.executable, "-m", "detector", "run", "--config", str(config), "--input", str(feed)]
    command += ["--out", str(out), "--store", str(store)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(code))
    rival = None
    if compete:
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        rival = subprocess.Popen([*pin, sys.executable, "-c", BUSY_LOOP])
        time.sleep(0.5)  # running before the run starts
    before, start = load(), time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if rival is not None:
        rival.kill()
        rival.wait()
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "stages_s": manifest["timings_s"],
        "embedded": manifest["counts"]["embedded"],
        "flags": manifest["counts"]["flags"],
        "load_before": before,
        "load_after": load(),
    }


def ratios(alone: dict[str, Any], beside: dict[str, Any]) -> dict[str, float]:
    stages = {s: round(beside["stages_s"][s] / max(t, 1e-3), 2) for s, t in alone["stages_s"].items()}
    return {"wall": round(beside["wall_s"] / alone["wall_s"], 2), **stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", type=Path, default=ROOT / "data" / "sample" / "feed_2024.csv")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.toml")
    parser.add_argument("--code", action="append", type=Path, help="repeatable; default this checkout")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / f"contention_{date.today()}.json"
    )
    args = parser.parse_args()
    codes = [c.resolve() for c in args.code or [ROOT]]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as tmp:
        for repeat in range(args.repeats):
            for code in codes:
                order = (False, True) if repeat % 2 == 0 else (True, False)
                runs = {c: cold_run(code, args.feed, args.config, Path(tmp), c) for c in order}
                row: dict[str, Any] = {"repeat": repeat, "code": str(code), "alone": runs[False]}
                row |= {"beside": runs[True], "beside_over_alone": ratios(runs[False], runs[True])}
                rows.append(row)
                walls = {"alone_s": runs[False]["wall_s"], "beside_s": runs[True]["wall_s"]}
                print(json.dumps({"code": str(code), "repeat": repeat, **walls, **row["beside_over_alone"]}))
                result = {
                    "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                    "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
                    "feed": str(args.feed),
                    "rows": rows,
                }
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
