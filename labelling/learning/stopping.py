"""When to stop labelling: the model has stopped changing, and what another point of accuracy costs.

Stabilising predictions (Bloodgood and Vijay-Shanker 2009, "A Method for Stopping Active Learning Based
on Stabilizing Predictions and the Need for User-Adjustable Stopping", CoNLL 2009, pp. 39-47): keep a
fixed *stop set* of items, predict their labels after every training run, and measure Cohen's kappa
between each run's predictions and the previous run's. When the last `STOP_WINDOW` kappas all reach
`STOP_KAPPA`, new labels no longer change what the model says, and more labelling adds little.
The stop set needs no labels (it only compares the model with itself), so it can be large; it must stay
the same items from run to run, or the kappas compare different things. The threshold and window are the
paper's (kappa 0.99 over three comparisons); lower `STOP_KAPPA` to stop sooner.

Two guards against stopping too early: the paper's rule as first shipped here (the mean of the last three
kappas) fired at 50 labels on two of five random-order seeds of benchmarks/active_learning.py, where the
learning curve was still rising steeply. So each of the last three kappas must reach the threshold (one
stable pair cannot hide an unstable one), and the signal waits for `MIN_STOP_LABELS` labels. Two runs that
predict one label for every stop-set item have no kappa (it is undefined, and such a model has not learnt
to tell the items apart yet): that comparison counts as not stable.

Beside it, the learning curve's recent slope, read as "labels per point of accuracy": how many more
labels the last runs needed for each percentage point they gained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import cohen_kappa_score

__all__ = [
    "MIN_STOP_LABELS",
    "SLOPE_RUNS",
    "STOP_KAPPA",
    "STOP_SET_SIZE",
    "STOP_WINDOW",
    "Stabilising",
    "choose_stop_set",
    "labels_per_point",
    "stabilised",
    "stabilising_predictions",
    "successive_kappas",
]

STOP_KAPPA = 0.99
"""Kappa between successive runs' predictions that each of the last `STOP_WINDOW` comparisons must reach
for the model to count as stable (the paper's threshold)."""
STOP_WINDOW = 3
"""How many successive comparisons (runs - 1) must all be stable (the paper's window)."""
MIN_STOP_LABELS = 100
"""Labels before the signal may fire: below this the model is still learning fast (digits gains 6 points
from 50 to 100 labels) while its predictions on the stop set can already look stable."""
STOP_SET_SIZE = 1_000
"""Items in the stop set: enough that one changed prediction moves kappa by about 0.001, below the
threshold's resolution, and cheap to predict on every run."""
SLOPE_RUNS = 4
"""Points of the learning curve (one per run) that the recent slope is fitted over."""
_POINT = 0.01
"""One point of accuracy, with accuracy as a fraction."""


@dataclass(frozen=True)
class Stabilising:
    """The stopping signal.

    - `stop`: the last `STOP_WINDOW` kappas are all at least `STOP_KAPPA`, with enough labels.
    - `kappas`: kappa of each run's stop-set predictions against the previous run's, oldest first (None:
      undefined, both runs predicted one label everywhere).
    - `recent`: the lowest of the last `STOP_WINDOW` kappas; None until there are that many defined.
    """

    stop: bool
    kappas: tuple[float | None, ...]
    recent: float | None


def choose_stop_set(item_ids: ArrayLike, rng: np.random.Generator, size: int = STOP_SET_SIZE) -> np.ndarray:
    """A random stop set of at most `size` of `item_ids`, sorted; choose it once per project and keep it."""
    ids = np.asarray(item_ids)
    chosen = rng.choice(ids, size=min(size, len(ids)), replace=False) if len(ids) else ids
    return np.sort(chosen)


def successive_kappas(predictions: Sequence[ArrayLike]) -> list[float | None]:
    """Cohen's kappa between each run's predicted labels on the stop set and the previous run's.

    `predictions` holds one array per run, oldest first, each `(n_stop,)` with one predicted label per
    stop-set item in the same item order (or `(n_stop, n_labels)` 0/1 for multi-label projects, each
    item-and-label decision then counting as one). Two runs that predict exactly the same count as 1.0,
    unless both predict one class everywhere: kappa is undefined there, None.
    """
    runs = [np.asarray(p).ravel() for p in predictions]
    kappas: list[float | None] = []
    for before, after in zip(runs, runs[1:]):
        if before.shape != after.shape:
            raise ValueError(f"runs predicted {before.shape} and {after.shape} labels: predict the same stop set")
        if len(np.unique(np.concatenate([before, after]))) < 2:
            kappas.append(None)
        elif np.array_equal(before, after):
            kappas.append(1.0)
        else:
            kappas.append(float(cohen_kappa_score(before, after)))
    return kappas


def stabilising_predictions(
    predictions: Sequence[ArrayLike],
    n_labels: int,
    threshold: float = STOP_KAPPA,
    window: int = STOP_WINDOW,
    min_labels: int = MIN_STOP_LABELS,
) -> Stabilising:
    """The stopping signal from the stop-set predictions of successive runs, oldest first (see
    `successive_kappas` for their shape), the latest trained on `n_labels` labels: see `stabilised`."""
    return stabilised(successive_kappas(predictions), n_labels, threshold, window, min_labels)


def stabilised(
    kappas: Sequence[float | None],
    n_labels: int,
    threshold: float = STOP_KAPPA,
    window: int = STOP_WINDOW,
    min_labels: int = MIN_STOP_LABELS,
) -> Stabilising:
    """The stopping signal from kappas already measured (one per run after the first, oldest first, as
    training keeps them; None where undefined), the latest run trained on `n_labels` labels: stop once
    each of the last `window` kappas reaches `threshold` and there are at least `min_labels` labels."""
    if window < 1:
        raise ValueError(f"window must be at least 1; got {window}")
    kappas = [None if k is None else float(k) for k in kappas]
    last = kappas[-window:]
    if len(last) < window or any(k is None for k in last):
        return Stabilising(False, tuple(kappas), None)
    recent = float(min(last))  # type: ignore[type-var]
    return Stabilising(recent >= threshold and n_labels >= min_labels, tuple(kappas), recent)


def labels_per_point(labels: ArrayLike, accuracy: ArrayLike, runs: int = SLOPE_RUNS) -> float | None:
    """How many labels the learning curve's last `runs` points needed per point of accuracy gained:
    the inverse of their least-squares slope. `labels` and `accuracy` (a fraction) hold one value per
    run, oldest first. None with fewer than two distinct label counts among those points; `math.inf`
    when accuracy did not rise (more labels bought nothing)."""
    x = np.asarray(labels, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"labels {x.shape} and accuracy {y.shape} must be 1-D, one value per run")
    x, y = x[-runs:], y[-runs:]
    if len(np.unique(x)) < 2:
        return None
    dx = x - x.mean()
    slope = float(dx @ (y - y.mean()) / (dx @ dx))  # least squares, accuracy per label
    return _POINT / slope if slope > 0 else math.inf
