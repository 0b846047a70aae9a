"""Acquisition functions: which unlabelled items should a human label next.

Pool-based uncertainty sampling (Settles 2009, "Active Learning Literature
Survey", Univ. Wisconsin-Madison CS TR 1648, section 3.1): the model's
predicted class probabilities are turned into an informativeness *score* per
item, and the scores into queue *priorities*.

Design, after modAL's ``uncertainty.py`` and small-text's query strategies:

* a measure is a pure function of a probability array -- no model, no state;
* every score is "higher = ask sooner", so all strategies sort the same way;
* one selector, :func:`priorities`, turns scores into an order;
* strategies that combine them live in :mod:`labelling.learning.strategies`;
* randomness only comes from an explicit :class:`numpy.random.Generator`,
  never from the global ``np.random`` state, so every queue is reproducible.

Shapes: ``probabilities`` is ``(n_samples, n_classes)`` with
``n_classes >= 2``, or -- for multi-label tasks -- a list of such arrays, one
per label (e.g. each ``(n_samples, 2)`` from a one-vs-rest classifier); the
measure is then computed per label and averaged. Scores are ``(n_samples,)``
float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SHUFFLE_PROP",
    "FloatArray",
    "Probabilities",
    "entropy",
    "least_confidence",
    "margin",
    "priorities",
    "random",
    "shuffled_priorities",
]

#: Fraction of queue positions shuffled by default: a little exploration so the
#: queue is not purely driven by a (possibly miscalibrated) model. Same default
#: as superintendent's ``shuffle_prop``.
DEFAULT_SHUFFLE_PROP: float = 0.1

Probabilities = Union[ArrayLike, Sequence[ArrayLike]]
FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
def _check_single(p: ArrayLike, what: str = "probabilities") -> FloatArray:
    """Validate one ``(n_samples, n_classes)`` array and return it as float64.

    Rows are deliberately *not* renormalised (callers may pass calibrated or
    raw scores); only values that make the measures meaningless are refused.
    """
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-D (n_samples, n_classes) array with at least "
            f"2 classes; got a {arr.ndim}-D array of shape {arr.shape}"
        )
    if arr.shape[1] < 2:
        raise ValueError(
            f"{what} needs at least 2 classes (columns) to measure uncertainty; "
            f"got shape {arr.shape}"
        )
    if np.isnan(arr).any():
        raise ValueError(f"{what} contains NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{what} contains inf; probabilities must be finite")
    if (arr < 0).any():
        raise ValueError(f"{what} contains negative values")
    return arr


def _is_label_list(probabilities: object) -> bool:
    """True for a list/tuple of 2-D arrays (multi-label), False for one array.

    A nested Python list of numbers (``[[.2, .8], ...]``) is one 2-D array, not
    a list of labels, because its elements are 1-D.
    """
    if not isinstance(probabilities, (list, tuple)):
        return False
    if len(probabilities) == 0:
        return True  # rejected in _as_label_arrays with a clear message
    return all(np.ndim(item) == 2 for item in probabilities)


def _as_label_arrays(probabilities: Probabilities) -> list[FloatArray]:
    """Normalise the input to a list of validated ``(n_samples, n_classes_i)`` arrays."""
    if not _is_label_list(probabilities):
        return [_check_single(probabilities)]  # type: ignore[arg-type]
    items = list(probabilities)  # type: ignore[arg-type]
    if not items:
        raise ValueError("probabilities is an empty list; need at least one label array")
    arrays = [_check_single(a, f"probabilities[{i}]") for i, a in enumerate(items)]
    n_samples = {a.shape[0] for a in arrays}
    if len(n_samples) != 1:
        raise ValueError(
            "all per-label probability arrays must have the same n_samples; "
            f"got {[a.shape[0] for a in arrays]}"
        )
    return arrays


def _averaged(measure: Callable[[FloatArray], FloatArray], probabilities: Probabilities) -> FloatArray:
    """Apply a single-array measure per label and average over labels -> ``(n_samples,)``."""
    arrays = _as_label_arrays(probabilities)
    return np.mean([measure(a) for a in arrays], axis=0).astype(np.float64, copy=False)


# --------------------------------------------------------------------------- #
# Measures: (n_samples, n_classes) -> (n_samples,), higher = more informative
# --------------------------------------------------------------------------- #
def _entropy(p: FloatArray) -> FloatArray:
    # 0 log 0 = 0: take log(1) = 0 where p == 0, so no divide-by-zero warning.
    log_p = np.log(np.where(p > 0, p, 1.0))
    return -np.sum(p * log_p, axis=1)


def _margin(p: FloatArray) -> FloatArray:
    top2 = np.partition(p, -2, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def _least_confidence(p: FloatArray) -> FloatArray:
    return 1.0 - np.max(p, axis=1)


#: The Args and Returns sections of every public measure's docstring.
_MEASURE_ARGS = """

    Args:
        probabilities: ``(n_samples, n_classes)`` array, or a list of such
            arrays (multi-label; the per-label scores are averaged).

    Returns:
        ``(n_samples,)`` float64 scores, higher = ask sooner.
    """


def _measure(public: Callable[[Probabilities], FloatArray]) -> Callable[[Probabilities], FloatArray]:
    """Give a public measure the Args and Returns sections every measure shares (under -OO, no docstrings)."""
    if public.__doc__ is not None:
        public.__doc__ += _MEASURE_ARGS
    return public


@_measure
def entropy(probabilities: Probabilities) -> FloatArray:
    """Shannon entropy ``-sum_k p_k log p_k`` (natural log, ``0 log 0 = 0``).

    Uses the whole distribution, so it prefers items the model spreads over
    many classes (Settles 2009, sec. 3.1, eq. 3.3; Shannon 1948). Ranges from
    0 (one-hot) to ``log(n_classes)`` (uniform)."""
    return _averaged(_entropy, probabilities)


@_measure
def margin(probabilities: Probabilities) -> FloatArray:
    """Margin score ``1 - (p_top1 - p_top2)``.

    A small gap between the two most likely classes means the model can barely
    tell them apart (Scheffer et al. 2001; Settles 2009, sec. 3.1, eq. 3.2).
    Inverted so that a smaller margin gives a higher score."""
    return _averaged(_margin, probabilities)


@_measure
def least_confidence(probabilities: Probabilities) -> FloatArray:
    """Least-confidence score ``1 - max_k p_k``.

    Asks about items whose most likely label is least likely (Lewis & Gale
    1994; Settles 2009, sec. 3.1, eq. 3.1). Ignores all but the top class."""
    return _averaged(_least_confidence, probabilities)


def _require_rng(rng: object, purpose: str) -> np.random.Generator:
    if rng is None:
        raise ValueError(
            f"{purpose} needs an explicit numpy.random.Generator (e.g. "
            "np.random.default_rng(seed)); results are deterministic by design"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def random(probabilities: Probabilities, rng: np.random.Generator) -> FloatArray:
    """Uniform random scores in ``[0, 1)``: the passive-learning baseline.

    Random sampling is the reference every uncertainty strategy should beat
    (Settles 2009, sec. 1). The probabilities are validated and only give
    ``n_samples``.

    Args:
        probabilities: ``(n_samples, n_classes)`` array or list of such arrays.
        rng: the only source of randomness.

    Returns:
        ``(n_samples,)`` float64 scores.
    """
    gen = _require_rng(rng, "the 'random' strategy")
    n_samples = _as_label_arrays(probabilities)[0].shape[0]
    return gen.random(n_samples)


# --------------------------------------------------------------------------- #
# Selector: scores -> queue priorities
# --------------------------------------------------------------------------- #
def priorities(
    scores: ArrayLike,
    shuffle_prop: float = DEFAULT_SHUFFLE_PROP,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Turn scores into queue priorities, mixing in some random exploration.

    Items are ranked by descending score (stable: ties keep input order).
    Then ``k = round(shuffle_prop * n)`` of the ``n`` rank positions are drawn
    at random and the items at those positions are permuted among themselves,
    as in superintendent's ``shuffle_prop``: pure uncertainty ranking trusts a
    model that may be wrong, a little randomness keeps exploring. ``round`` is
    Python's (half to even).

    Args:
        scores: ``(n,)`` finite scores, higher = ask sooner.
        shuffle_prop: fraction of positions to shuffle, in ``[0, 1]``.
        rng: required when ``k >= 2`` (fewer positions cannot be permuted).

    Returns:
        ``(n,)`` float64 priorities aligned with ``scores``: the item at rank
        ``r`` (0 = first) gets ``n - r``, so higher = labelled sooner.

    Raises:
        ValueError: bad ``scores`` or ``shuffle_prop``, or ``rng`` missing
            when shuffling is needed.
    """
    return shuffled_priorities(scores, shuffle_prop, rng)[0]


def shuffled_priorities(
    scores: ArrayLike,
    shuffle_prop: float = DEFAULT_SHUFFLE_PROP,
    rng: np.random.Generator | None = None,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """:func:`priorities`, and which items got their place from the random share: ``(n,)`` booleans.

    Those items are a uniform random sample of the pool, whatever the scores said, so the labels they get
    test the model without the bias of the items it chose (`labelling.learning.evaluation`). Validation
    as in :func:`priorities` (which calls this).
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be a 1-D array; got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (found NaN or inf)")
    if not 0.0 <= shuffle_prop <= 1.0:  # also rejects NaN
        raise ValueError(f"shuffle_prop must be in [0, 1]; got {shuffle_prop!r}")

    n = s.shape[0]
    order = np.argsort(-s, kind="stable")  # order[r] = index of the item at rank r
    k = round(shuffle_prop * n)
    random_share = np.zeros(n, dtype=bool)
    if k >= 2:
        gen = _require_rng(rng, f"shuffling {k} queue positions (shuffle_prop={shuffle_prop})")
        positions = gen.choice(n, size=k, replace=False)
        order[positions] = order[gen.permutation(positions)]
        random_share[order[positions]] = True

    result = np.empty(n, dtype=np.float64)
    result[order] = n - np.arange(n, dtype=np.float64)
    return result, random_share
