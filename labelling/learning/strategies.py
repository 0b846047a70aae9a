"""Query strategies: which open items the queue puts first after a retrain. One protocol, one registry.

A strategy scores the open items a page at a time from the model's probabilities (`score`, pure and cheap:
`labelling.learning.acquisition`'s measures), then may re-rank the whole pool once every page is scored
(`rank`). Strategies compose by wrapping, as in small-text (`SubsamplingQueryStrategy`): `DiverseBatches`
wraps a base strategy and adds a k-means step over the base's most informative items. The queue order
then comes from `acquisition.priorities`, the one selector, with the project's shuffle share.

The registry's names are what projects store in their settings (`settings["training"]["strategy"]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labelling.learning import acquisition, diversity
from labelling.learning.acquisition import FloatArray, Probabilities

__all__ = ["DEFAULT_STRATEGY", "MIN_POOL_PER_BATCH", "STRATEGIES", "DiverseBatches", "Embed", "QueryStrategy",
           "RandomOrder", "Uncertainty"]

MIN_POOL_PER_BATCH = 10
"""`DiverseBatches` clusters only when the pool holds at least this many batches of open items. On a smaller
pool the candidates are most of it, and clustering them cost about 2 points of hold-out accuracy
(benchmarks/active_learning.py); the base strategy's order is kept there."""

Embed = Callable[[NDArray[np.intp]], tuple[ArrayLike, NDArray[np.bool_]]]
"""Features of some scored items, given their indices: `(rows, keep)`, one row per kept index (an item
whose data cannot be read any more is left out, `keep` False)."""


class QueryStrategy(Protocol):
    """Scores for the queue: higher is labelled sooner."""

    description: str
    """What the Train page shows."""
    random_order: bool
    """Every queue place is random: each labelled item can test the model (the honest score)."""

    def score(self, probabilities: Probabilities, rng: np.random.Generator) -> FloatArray:
        """`(n,)` scores of one page of items from its `(n, n_classes)` probabilities (or a list of
        them, one per label, for multi-label projects)."""
        ...

    def rank(self, scores: FloatArray, embed: Embed, batch_size: int, rng: np.random.Generator) -> FloatArray:
        """`(n,)` final scores of the whole pool, given every page's scores; `batch_size` is how many
        labels arrive before the next retrain."""
        ...


@dataclass(frozen=True)
class Uncertainty:
    """Uncertainty sampling with one of acquisition's measures (margin, entropy, least confidence)."""

    measure: Callable[[Probabilities], FloatArray]
    description: str
    random_order: bool = False

    def score(self, probabilities: Probabilities, rng: np.random.Generator) -> FloatArray:
        return self.measure(probabilities)

    def rank(self, scores: FloatArray, embed: Embed, batch_size: int, rng: np.random.Generator) -> FloatArray:
        return scores


@dataclass(frozen=True)
class RandomOrder:
    """Random scores: passive learning, the baseline every other strategy should beat."""

    description: str
    random_order: bool = True

    def score(self, probabilities: Probabilities, rng: np.random.Generator) -> FloatArray:
        return acquisition.random(probabilities, rng)

    def rank(self, scores: FloatArray, embed: Embed, batch_size: int, rng: np.random.Generator) -> FloatArray:
        return scores


@dataclass(frozen=True)
class DiverseBatches:
    """Wraps a base strategy: of the base's `CANDIDATES_PER_BATCH * batch_size` best items, one per k-means
    cluster goes first, so a batch is not near-copies of one item (Zhdanov 2019, arXiv:1901.05954)."""

    base: QueryStrategy
    description: str
    random_order: bool = False

    def score(self, probabilities: Probabilities, rng: np.random.Generator) -> FloatArray:
        return self.base.score(probabilities, rng)

    def rank(self, scores: FloatArray, embed: Embed, batch_size: int, rng: np.random.Generator) -> FloatArray:
        ranked = self.base.rank(scores, embed, batch_size, rng)
        if len(ranked) < MIN_POOL_PER_BATCH * batch_size:
            return ranked
        chosen = diversity.candidates(ranked, batch_size)
        features, keep = embed(chosen)
        return diversity.diverse_ranking(ranked, chosen[keep], features, batch_size, rng)


_MARGIN = Uncertainty(acquisition.margin, "Margin (gap between the two likeliest labels)")

STRATEGIES: dict[str, QueryStrategy] = {
    "diverse_margin": DiverseBatches(_MARGIN, "Margin, diverse batches (k-means over the most uncertain)"),
    "margin": _MARGIN,
    "least_confidence": Uncertainty(acquisition.least_confidence, "Least confidence"),
    "entropy": Uncertainty(acquisition.entropy, "Entropy"),
    "random": RandomOrder("Random order (no active learning)"),
}
"""Name (as projects store it) -> strategy, in the Train page's order."""
DEFAULT_STRATEGY = "diverse_margin"
