"""An honest score: the model's accuracy on items it had not seen, chosen at random.

Cross-validation on the labelled items is biased under active learning: those items were chosen
*because* the model found them hard, so it reads far below the model's accuracy on the pool (on digits,
.70 shown for a .93 model). An unbiased figure needs items picked at random, judged before the model
trained on them. Progressive validation (Blum, Kalai and Langford 1999, "Beating the Hold-Out: Bounds
for K-fold and Progressive Cross-Validation", COLT) gives that for free: the suggestion stored when an
item was handed out is the prediction of a model that had not seen its label, so comparing it with the
label the item then got is a test on a fresh item. Taking only items the queue handed out at random (its
`shuffle_prop` share), or a small random evaluation sample held out from training, keeps the sample
unbiased.

The estimate comes with a Wilson score interval (Wilson 1927, "Probable Inference, the Law of
Succession, and Statistical Inference", JASA 22:209-212), which stays inside [0, 1] and is sound for
the small counts met early on, and with the count it rests on: with 20 random items the interval spans
about 40 points, and the page should say so rather than show a bare percentage. Older pairs judged
older models; `window` keeps the most recent ones so the figure follows the current model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm

__all__ = ["CONFIDENCE", "Estimate", "progressive_accuracy", "wilson_interval"]

CONFIDENCE = 0.95
"""Coverage of the interval shown with the estimate."""


@dataclass(frozen=True)
class Estimate:
    """An accuracy estimate: `value` (None with no items), its interval `low`..`high` at `confidence`,
    and the number of `items` behind it."""

    value: float | None
    low: float | None
    high: float | None
    items: int
    confidence: float = CONFIDENCE


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval for a proportion of `successes` in `trials` (> 0) at `confidence`."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0; got {successes} of {trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence}")
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    spread = z * z / trials
    centre = (p + spread / 2) / (1 + spread)
    half = z * math.sqrt(p * (1 - p) / trials + spread / (4 * trials)) / (1 + spread)
    return max(0.0, centre - half), min(1.0, centre + half)


def progressive_accuracy(
    suggested: Sequence[Any],
    given: Sequence[Any],
    window: int | None = None,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Accuracy of the suggestions stored at hand-out against the labels the items then got.

    `suggested` and `given` hold one value per item, in hand-out order (oldest first), for items chosen
    at random only; a suggestion of None (no model yet when it was handed out) is left out. Values are
    compared with `==`, so a multi-label answer counts as right only when it matches as a whole (pass
    them as tuples or frozensets). `window` keeps the most recent pairs only.
    """
    if len(suggested) != len(given):
        raise ValueError(f"{len(suggested)} suggestions against {len(given)} labels: give one of each per item")
    if window is not None and window < 1:
        raise ValueError(f"window must be at least 1; got {window}")
    pairs = [(s, g) for s, g in zip(suggested, given) if s is not None]
    if window is not None:
        pairs = pairs[-window:]
    if not pairs:
        return Estimate(None, None, None, 0, confidence)
    right = sum(s == g for s, g in pairs)
    low, high = wilson_interval(right, len(pairs), confidence)
    return Estimate(right / len(pairs), low, high, len(pairs), confidence)
