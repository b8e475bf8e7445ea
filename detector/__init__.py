"""Narrative-sync detector: find one narrative published near-simultaneously by Chinese-bloc and
Russian-bloc state channels, across languages, and hand an analyst the evidence.

Stages (one package each, each swappable): sources -> store -> embed -> index -> narratives -> scoring
-> report, composed by ``detector.pipeline`` and driven by ``detector.cli`` (docs/architecture.md).
"""

import os

# OpenMP threads (FAISS's) wait for work passively instead of spinning: beside another CPU-bound
# process a spinning thread burns the time slice of the thread it waits for (FAISS flat at load
# 14: 3.0 GFLOP/s spinning, 12.1 passive; benchmarks/README.md). Read once when libgomp loads, so
# it is set here, before any stage imports FAISS; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
