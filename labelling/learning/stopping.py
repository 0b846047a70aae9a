"""When to stop labelling: the model has stopped changing, and what another point of accuracy costs.

Stabilising predictions (Bloodgood and Vijay-Shanker 2009, "A Method for Stopping Active Learning Based
on Stabilizing Predictions and the Need for User-Adjustable Stopping", CoNLL 2009, pp. 39-47): keep a
fixed *stop set* of items, predict their labels after every training run, and measure Cohen's kappa
between each run's predictions and the previous run's. When the mean of the last `STOP_WINDOW` kappas
reaches `STOP_KAPPA`, new labels no longer change what the model says, and more labelling adds little.
The stop set needs no labels (it only compares the model with itself), so it can be large; it must stay
the same items from run to run, or the kappas compare different things. The paper's defaults are the
ones here (kappa 0.99, averaged over three comparisons); lower `STOP_KAPPA` to stop sooner.

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
"""Mean kappa between successive runs' predictions at which the model counts as stable (the paper's)."""
STOP_WINDOW = 3
"""How many successive comparisons (runs - 1) that mean is taken over (the paper's)."""
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

    - `stop`: the mean of the last `STOP_WINDOW` kappas is at least `STOP_KAPPA`.
    - `kappas`: kappa of each run's stop-set predictions against the previous run's, oldest first.
    - `recent`: the mean of the last `STOP_WINDOW` kappas; None until there are that many.
    """

    stop: bool
    kappas: tuple[float, ...]
    recent: float | None


def choose_stop_set(item_ids: ArrayLike, rng: np.random.Generator, size: int = STOP_SET_SIZE) -> np.ndarray:
    """A random stop set of at most `size` of `item_ids`, sorted; choose it once per project and keep it."""
    ids = np.asarray(item_ids)
    chosen = rng.choice(ids, size=min(size, len(ids)), replace=False) if len(ids) else ids
    return np.sort(chosen)


def successive_kappas(predictions: Sequence[ArrayLike]) -> list[float]:
    """Cohen's kappa between each run's predicted labels on the stop set and the previous run's.

    `predictions` holds one array per run, oldest first, each `(n_stop,)` with one predicted label per
    stop-set item in the same item order (or `(n_stop, n_labels)` 0/1 for multi-label projects, each
    item-and-label decision then counting as one). Two runs that predict exactly the same count as 1.0,
    also when kappa itself is undefined (one class everywhere in both).
    """
    runs = [np.asarray(p).ravel() for p in predictions]
    kappas: list[float] = []
    for before, after in zip(runs, runs[1:]):
        if before.shape != after.shape:
            raise ValueError(f"runs predicted {before.shape} and {after.shape} labels: predict the same stop set")
        if np.array_equal(before, after):
            kappas.append(1.0)
        else:
            kappas.append(float(cohen_kappa_score(before, after)))
    return kappas


def stabilising_predictions(
    predictions: Sequence[ArrayLike], threshold: float = STOP_KAPPA, window: int = STOP_WINDOW
) -> Stabilising:
    """The stopping signal from the stop-set predictions of successive runs, oldest first (see
    `successive_kappas` for their shape): stop once the mean of the last `window` kappas reaches
    `threshold`."""
    return stabilised(successive_kappas(predictions), threshold, window)


def stabilised(kappas: Sequence[float], threshold: float = STOP_KAPPA, window: int = STOP_WINDOW) -> Stabilising:
    """The stopping signal from kappas already measured (one per run after the first, oldest first, as
    training keeps them): stop once the mean of the last `window` reaches `threshold`."""
    if window < 1:
        raise ValueError(f"window must be at least 1; got {window}")
    kappas = [float(k) for k in kappas]
    if len(kappas) < window:
        return Stabilising(False, tuple(kappas), None)
    recent = float(np.mean(kappas[-window:]))
    return Stabilising(recent >= threshold, tuple(kappas), recent)


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
