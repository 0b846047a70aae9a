"""A batch-diversity step on top of an uncertainty score, so that a labeller's next items are not near-copies.

Uncertainty sampling alone asks about the k most uncertain items, which are often near-duplicates of one
another (the same confusing stroke, the same template sentence): labelling one teaches the model what
labelling all would. Following Zhdanov 2019 ("Diverse mini-batch Active Learning", arXiv:1901.05954), the
`per_batch * batch_size` most uncertain items are clustered with k-means into `batch_size` clusters and
the queue starts with the item nearest each cluster's centre.

Pure functions of arrays; randomness only from the `rng` passed in.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CANDIDATES_PER_BATCH", "candidates", "diverse_ranking"]

CANDIDATES_PER_BATCH = 10
"""How many uncertain items per queue slot the clustering chooses among (Zhdanov's beta)."""


def candidates(scores: ArrayLike, batch_size: int, per_batch: int = CANDIDATES_PER_BATCH) -> NDArray[np.intp]:
    """Indices of the `per_batch * batch_size` highest scores, best first (stable on ties).

    Args:
        scores: `(n,)` acquisition scores, higher = more informative.
    """
    s = np.asarray(scores, dtype=np.float64)
    return np.argsort(-s, kind="stable")[: max(1, per_batch * batch_size)]


def diverse_ranking(
    scores: ArrayLike,
    chosen: ArrayLike,
    features: ArrayLike,
    batch_size: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Queue scores where one representative of each k-means cluster of the candidates comes first.

    The candidates are clustered into `batch_size` clusters on `features`; the candidate nearest each
    cluster's centre represents it (Zhdanov 2019). The representatives go first, most uncertain first;
    every other item follows in score order.

    Args:
        scores: `(n,)` acquisition scores, higher = ask sooner.
        chosen: `(m,)` indices into `scores` (from `candidates`).
        features: `(m, d)` dense array or sparse matrix, one row per candidate, in `chosen`'s order.
        batch_size: how many items are labelled before the next retrain (the number of clusters).
        rng: seeds k-means.

    Returns:
        `(n,)` float64: `n - rank`, so higher = ask sooner.
    """
    from sklearn.cluster import KMeans

    s = np.asarray(scores, dtype=np.float64)
    chosen = np.asarray(chosen, dtype=np.intp)
    n, m = len(s), len(chosen)
    clusters = min(int(batch_size), m)
    if clusters >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fewer distinct points than clusters: k-means says so, and copes
            kmeans = KMeans(n_clusters=clusters, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(features)
        distance = kmeans.transform(features)  # (m, clusters)
        representatives = [
            members[np.argmin(distance[members, cluster])]
            for cluster in range(clusters)
            if len(members := np.flatnonzero(kmeans.labels_ == cluster))
        ]
    else:
        representatives = [0] if m else []
    first = chosen[np.asarray(representatives, dtype=np.intp)]
    first = first[np.argsort(-s[first], kind="stable")]
    rest_mask = np.ones(n, dtype=bool)
    rest_mask[first] = False
    rest = np.flatnonzero(rest_mask)
    rest = rest[np.argsort(-s[rest], kind="stable")]
    order = np.concatenate([first, rest])
    result = np.empty(n, dtype=np.float64)
    result[order] = n - np.arange(n, dtype=np.float64)
    return result
