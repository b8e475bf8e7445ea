"""Kill ``detector run`` at random (seeded) points N times; after each kill, re-run and check that
the reports and the store equal those of an uninterrupted run.

    python benchmarks/fault_injection.py --trials 20 --seed 0

Each trial picks either a fault point (detector.faults.POINTS, with a random occurrence for
``embed_batch``) or a SIGKILL after a random delay. Trials start from a store that holds only the
embedding cache (so they take seconds), except ``--cold`` trials, which start from an empty store
and kill during embedding. Prints one line per trial and exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detector.faults import POINTS
from tests.reliability import harness

FEED = harness.ROOT / "data" / "sample" / "feed_2024.csv"


def small_feed(path: Path) -> Path:
    """The same 36 hours of the sample as tests/conftest.py's ``small_feed``."""
    feed = pd.read_csv(FEED, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(feed["published_at"], utc=True)
    feed[(stamps >= "2024-11-27T00:00Z") & (stamps < "2024-11-28T12:00Z")].to_csv(path, index=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--cold", type=int, default=1, help="trials that start with no embeddings")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="fault-injection-"))
    feed = small_feed(work / "feed.csv")

    ref_out = work / "reference"
    first = harness.run(feed, ref_out, ref_out / "detector.duckdb")
    if first.returncode != 0:
        print(first.stderr, file=sys.stderr)
        return 1
    reference = harness.snapshot(ref_out, ref_out / "detector.duckdb")
    harness.warm_copy(ref_out / "detector.duckdb", work / "timing.duckdb")
    timing = harness.run(feed, work / "timing", work / "timing.duckdb")  # a warm run's length
    print(f"reference: {reference['flags']} flags; cold run {first.seconds:.1f} s, "
          f"warm run {timing.seconds:.1f} s", flush=True)  # fmt: skip

    failures = 0
    for trial in range(args.trials):
        cold = trial < args.cold
        store, out = work / f"t{trial}" / "detector.duckdb", work / f"t{trial}" / "out"
        if not cold:
            harness.warm_copy(ref_out / "detector.duckdb", store)
        fault: str | None = None
        kill_after: float | None = None
        if cold:
            fault = f"embed_batch:{rng.randint(1, 6)}"
        elif rng.random() < 0.5:
            fault = rng.choice([p for p in POINTS if p not in ("embed_batch", "shard_written")])
        else:
            kill_after = round(rng.uniform(0.3, timing.seconds), 2)  # anywhere in a warm run
        killed = harness.run(feed, out, store, fault=fault, kill_after=kill_after)
        again = harness.run(feed, out, store)
        snap = harness.snapshot(out, store) if again.returncode == 0 else {}
        ok = again.returncode == 0 and snap == reference
        failures += not ok
        how = fault or f"SIGKILL after {kill_after} s"
        state = "killed" if killed.returncode == -9 else f"finished rc={killed.returncode}"
        print(f"trial {trial:3d} {'cold' if cold else 'warm'} {how:28s} {state:16s} "
              f"re-run rc={again.returncode} {'OK' if ok else 'MISMATCH'}", flush=True)  # fmt: skip
        if not ok:
            print({k: (snap.get(k), v) for k, v in reference.items() if snap.get(k) != v}, again.stderr)
    print(f"{args.trials - failures}/{args.trials} trials reproduced the uninterrupted run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
