"""Calibrated certainty: make "80% sure" mean right 80% of the time.

Temperature scaling (Guo, Pleiss, Sun and Weinberger 2017, "On Calibration of Modern Neural Networks",
ICML): divide the model's logits by one number T, fitted by minimising the negative log-likelihood of
held-out predictions, then take the softmax again. T > 1 softens an over-confident model, T < 1
sharpens an under-confident one (regularised logistic regression on a few hundred labels is typically
under-confident). One parameter cannot overfit a few hundred labels, and it never changes which class
is predicted, so accuracy, the queue's order by margin and the suggestions stay as they were.

The fit needs predictions the model did not train on: the project's evaluation sample, random picks
held out of training (`labelling.learning.assessment`). We work from probabilities, not logits, because any
estimator gives those: log-probabilities are logits up to a per-row constant, which the softmax ignores,
so `softmax(log(p) / T)` is exactly temperature scaling of the underlying logits (for a binary model,
of its one logit).

Shapes: `probabilities` is `(n_samples, n_classes)`, rows summing to 1; `targets` is `(n_samples,)`
holding each row's true class as a column index. A multi-label model gives one `(n_samples, 2)` array per
label (one-vs-rest): fit and apply one temperature per label.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

__all__ = [
    "DEFAULT_BINS",
    "MAX_TEMPERATURE",
    "MIN_TEMPERATURE",
    "PRIOR_SD",
    "apply_temperature",
    "checked",
    "expected_calibration_error",
    "fit_temperature",
]

DEFAULT_BINS = 15
"""Equal-width confidence bins of the calibration error, as in Guo et al. 2017."""
MIN_TEMPERATURE = 0.05
"""Lowest temperature searched: sharpens a 60/40 binary guess to about 3,000 to 1; below this the fit
only chases the last few mistakes."""
MAX_TEMPERATURE = 20.0
"""Highest temperature searched: flattens a binary 99.99% guess to about 61%; beyond this the model
says nearly nothing."""
PRIOR_SD = 0.5
"""Standard deviation of the prior on log T: T within 0.37-2.7 at 95% before any data. The evaluation
sample is small (about 20 items at 200 labels), and a temperature fitted there is mostly noise unless the
model is near calibrated already (`models.LOGISTIC_C`). With it, at 200 labels the calibration error on a
hold-out was, on the movie reviews (sentence embeddings), .041 at 0.5 against .064 at 1.0 and .031 at 0.35;
on digits .034 at 0.5 against .044 at 0.35 (20 seeds each, a simulation of benchmarks/active_learning.py).
With the under-confident C = 1 model 1.0 had been needed (digits .041 against .061 at 0.5), and text stayed
at .065. A prior centred on the temperature of the labelled items' out-of-fold predictions was worse on
text (.056-.077: those items are the hard ones, their temperature is above 1)."""
_FLOOR = 1e-12
"""Smallest probability taken to the log (a 0 from a tree ensemble would give an infinite logit)."""

FloatArray = NDArray[np.float64]


def fit_temperature(probabilities: ArrayLike, targets: ArrayLike, prior_sd: float = PRIOR_SD) -> float:
    """The temperature minimising the negative log-likelihood of `targets` under `probabilities`
    rescaled by it, with a normal prior of standard deviation `prior_sd` on log T centred on T = 1 (the
    model as it is); 1.0 when there is nothing to learn from (no rows). The prior matters only for few
    rows: a handful that the model gets all right would otherwise sharpen it without bound, and a few
    mistakes flatten it to the bound.

    Fit it on held-out probabilities: in-sample ones are over-confident by construction.
    """
    p, truth = checked(probabilities, targets)
    logits = _logits(p)
    if not len(truth):
        return 1.0
    rows = np.arange(len(truth))

    def loss(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        prior = log_t**2 / (2 * prior_sd**2 * len(truth))
        return float(np.mean(_logsumexp(scaled) - scaled[rows, truth]) + prior)

    found = minimize_scalar(loss, bounds=(np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)), method="bounded")
    return float(np.exp(found.x))


def apply_temperature(probabilities: ArrayLike, temperature: float) -> FloatArray:
    """`probabilities` rescaled by `temperature` (`softmax(log(p) / T)`): same shape, rows sum to 1,
    the most likely class unchanged."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive; got {temperature}")
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (n_samples, n_classes); got shape {p.shape}")
    scaled = _logits(p) / temperature
    return np.exp(scaled - _logsumexp(scaled)[:, None])


def expected_calibration_error(probabilities: ArrayLike, targets: ArrayLike, bins: int = DEFAULT_BINS) -> float:
    """Expected calibration error: the gap between confidence (the top probability) and accuracy,
    averaged over `bins` equal-width confidence bins weighted by their share of rows (Guo et al. 2017,
    eq. 3; Naeini et al. 2015). 0 is perfect; 0.0 for no rows.

    The "X% sure" shown on the Label page is the top probability, so this is the figure that says how
    far that percentage can be trusted.
    """
    p, truth = checked(probabilities, targets)
    if bins < 1:
        raise ValueError(f"bins must be at least 1; got {bins}")
    if not len(truth):
        return 0.0
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == truth).astype(np.float64)
    # Bin i holds confidences in (i / bins, (i + 1) / bins]; a confidence of exactly 0 joins bin 0.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    gap = np.bincount(which, weights=correct - confidence, minlength=bins)  # per bin: n_b * (acc_b - conf_b)
    return float(np.abs(gap).sum() / len(truth))


def checked(probabilities: ArrayLike, targets: ArrayLike) -> tuple[FloatArray, NDArray[np.integer]]:
    """`probabilities` as float64 `(n_samples, n_classes >= 2)`, finite and non-negative, and `targets` as
    `(n_samples,)` integer column indices; a ValueError that names the problem otherwise (also used by
    learning.label_errors, which takes the same pair)."""
    p = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(targets)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be (n_samples, n_classes >= 2); got shape {p.shape}")
    if truth.shape != (p.shape[0],):
        raise ValueError(f"targets must be ({p.shape[0]},), one class index per row; got shape {truth.shape}")
    if len(truth) and (not np.issubdtype(truth.dtype, np.integer) or truth.min() < 0 or truth.max() >= p.shape[1]):
        raise ValueError(f"targets must be column indices in 0..{p.shape[1] - 1}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    return p, truth


def _logits(p: FloatArray) -> FloatArray:
    """Log-probabilities: the logits up to a per-row constant (which the softmax ignores)."""
    return np.log(np.clip(p, _FLOOR, None))


def _logsumexp(scaled: FloatArray) -> FloatArray:
    """Row-wise log(sum(exp(x))), shifted by the row maximum so large logits do not overflow."""
    top = scaled.max(axis=1)
    return top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
