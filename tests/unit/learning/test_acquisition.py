"""Unit tests for labelling.learning.acquisition (pure numpy, deterministic) and the query strategies built
on it (labelling.learning.strategies)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labelling.learning import acquisition as acq
from labelling.learning.acquisition import (
    DEFAULT_SHUFFLE_PROP,
    entropy,
    least_confidence,
    margin,
    priorities,
    random,
)
from labelling.learning.strategies import (
    DEFAULT_STRATEGY,
    MIN_POOL_PER_BATCH,
    STRATEGIES,
    DiverseBatches,
    RandomOrder,
    Uncertainty,
)

# Any numpy RuntimeWarning (log(0), 0 * -inf, ...) is a bug here.
pytestmark = pytest.mark.filterwarnings("error")

THREE_CLASS = np.array(
    [
        [0.10, 0.80, 0.10],
        [0.30, 0.30, 0.40],
        [0.33, 0.33, 0.34],
        [0.01, 0.01, 0.98],
    ]
)
TWO_CLASS = np.array([[0.75, 0.25], [0.55, 0.45], [0.65, 0.35]])
MEASURES = [entropy, margin, least_confidence]


def _order(scores: np.ndarray) -> list[int]:
    """Row indices by descending score, ties in input order."""
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def _h(*ps: float) -> float:
    """Hand-written Shannon entropy (natural log) of one row."""
    return -sum(p * math.log(p) for p in ps if p > 0)


# --------------------------------------------------------------------------- #
# Orders required by the spec
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("probs", "expected"),
    [(THREE_CLASS, [2, 1, 0, 3]), (TWO_CLASS, [1, 2, 0])],
)
def test_margin_order(probs, expected):
    assert _order(margin(probs)) == expected


@pytest.mark.parametrize(
    ("probs", "expected"),
    [(THREE_CLASS, [2, 1, 0, 3]), (TWO_CLASS, [1, 2, 0])],
)
def test_margin_order_via_priorities_without_shuffle(probs, expected):
    prio = priorities(margin(probs), shuffle_prop=0)
    assert _order(prio) == expected
    n = len(expected)
    # the item at rank r gets priority n - r
    assert prio[expected].tolist() == [float(n - r) for r in range(n)]


@pytest.mark.parametrize(
    ("measure", "probs", "expected"),
    [
        (entropy, THREE_CLASS, [2, 1, 0, 3]),
        (entropy, TWO_CLASS, [1, 2, 0]),
        (least_confidence, THREE_CLASS, [2, 1, 0, 3]),
        (least_confidence, TWO_CLASS, [1, 2, 0]),
    ],
)
def test_entropy_and_least_confidence_orders(measure, probs, expected):
    assert _order(measure(probs)) == expected


# --------------------------------------------------------------------------- #
# Hand-computed values
# --------------------------------------------------------------------------- #
def test_margin_values():
    # 1 - (top1 - top2): 1-(.8-.1), 1-(.4-.3), 1-(.34-.33), 1-(.98-.01)
    np.testing.assert_allclose(margin(THREE_CLASS), [0.30, 0.90, 0.99, 0.03])
    np.testing.assert_allclose(margin(TWO_CLASS), [0.50, 0.90, 0.70])


def test_least_confidence_values():
    np.testing.assert_allclose(least_confidence(THREE_CLASS), [0.20, 0.60, 0.66, 0.02])
    np.testing.assert_allclose(least_confidence(TWO_CLASS), [0.25, 0.45, 0.35])


def test_entropy_values():
    expected = [_h(0.1, 0.8, 0.1), _h(0.3, 0.3, 0.4), _h(0.33, 0.33, 0.34), _h(0.01, 0.01, 0.98)]
    np.testing.assert_allclose(entropy(THREE_CLASS), expected)
    # the same numbers written out, to 6 d.p.
    np.testing.assert_allclose(
        entropy(THREE_CLASS), [0.639032, 1.088900, 1.098513, 0.111902], atol=1e-6
    )
    np.testing.assert_allclose(
        entropy(TWO_CLASS), [_h(0.75, 0.25), _h(0.55, 0.45), _h(0.65, 0.35)]
    )


@pytest.mark.parametrize("measure", MEASURES)
def test_output_dtype_and_shape(measure):
    out = measure(THREE_CLASS.astype(np.float32))
    assert out.dtype == np.float64
    assert out.shape == (4,)


@pytest.mark.parametrize("measure", MEASURES)
def test_nested_python_list_is_one_array(measure):
    np.testing.assert_allclose(measure(TWO_CLASS.tolist()), measure(TWO_CLASS))


@pytest.mark.parametrize("measure", MEASURES)
def test_zero_samples(measure):
    out = measure(np.empty((0, 3)))
    assert out.shape == (0,) and out.dtype == np.float64


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_uniform_gives_max_entropy(k):
    uniform = np.full((3, k), 1.0 / k)
    np.testing.assert_allclose(entropy(uniform), math.log(k))
    # and nothing beats it
    rng = np.random.default_rng(0)
    dirichlet = rng.dirichlet(np.ones(k), size=200)
    assert (entropy(dirichlet) <= math.log(k) + 1e-12).all()


@pytest.mark.parametrize("measure", MEASURES)
def test_one_hot_scores_zero(measure):
    one_hot = np.eye(4)[[0, 3, 1, 2, 2]]
    out = measure(one_hot)
    np.testing.assert_array_equal(out, np.zeros(5))


def test_rows_are_not_renormalised():
    # unnormalised rows are accepted as-is
    np.testing.assert_allclose(least_confidence([[0.2, 0.2]]), [0.8])
    np.testing.assert_allclose(margin([[0.2, 0.2]]), [1.0])


# --------------------------------------------------------------------------- #
# Multi-label: list of per-label arrays, averaged
# --------------------------------------------------------------------------- #
LABEL_A = np.array([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]])
LABEL_B = np.array([[0.6, 0.4], [1.0, 0.0], [0.2, 0.8]])


@pytest.mark.parametrize("measure", MEASURES)
def test_multilabel_is_mean_of_per_label_scores(measure):
    expected = (measure(LABEL_A) + measure(LABEL_B)) / 2
    np.testing.assert_allclose(measure([LABEL_A, LABEL_B]), expected)
    np.testing.assert_allclose(measure((LABEL_A, LABEL_B)), expected)


def test_multilabel_hand_values():
    # margin per label: A -> [.2, 1, .6], B -> [.8, 0, .4]
    np.testing.assert_allclose(margin([LABEL_A, LABEL_B]), [0.5, 0.5, 0.5])
    # least confidence: A -> [.1, .5, .3], B -> [.4, 0, .2]
    np.testing.assert_allclose(least_confidence([LABEL_A, LABEL_B]), [0.25, 0.25, 0.25])
    np.testing.assert_allclose(
        entropy([LABEL_A, LABEL_B]),
        [
            (_h(0.9, 0.1) + _h(0.6, 0.4)) / 2,
            (math.log(2) + 0.0) / 2,
            (_h(0.7, 0.3) + _h(0.2, 0.8)) / 2,
        ],
    )


def test_multilabel_single_element_list_equals_array():
    np.testing.assert_allclose(entropy([THREE_CLASS]), entropy(THREE_CLASS))


def test_multilabel_labels_may_have_different_class_counts():
    out = entropy([LABEL_A, THREE_CLASS[:3]])
    np.testing.assert_allclose(out, (entropy(LABEL_A) + entropy(THREE_CLASS[:3])) / 2)


# --------------------------------------------------------------------------- #
# Bad inputs
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([[0.3], [0.7]]), "at least 2 classes"),
        (np.array([0.3, 0.7]), "at least 2 classes"),
        (np.zeros((2, 2, 2)), "2-D"),
        (np.array([[0.5, np.nan], [0.5, 0.5]]), "NaN"),
        (np.array([[0.5, np.inf], [0.5, 0.5]]), "inf"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), "negative"),
        ([], "empty list"),
        ([LABEL_A, THREE_CLASS], "same n_samples"),
        ([LABEL_A, np.array([[0.5, np.nan]] * 3)], r"probabilities\[1\] contains NaN"),
    ],
)
def test_bad_probabilities_raise(measure, bad, message):
    with pytest.raises(ValueError, match=message):
        measure(bad)


def test_single_column_in_multilabel_list_raises():
    with pytest.raises(ValueError, match="at least 2 classes"):
        margin([LABEL_A, np.array([[0.1], [0.2], [0.3]])])


# --------------------------------------------------------------------------- #
# random, and the query strategies built on the measures
# --------------------------------------------------------------------------- #
def test_random_scores_shape_range_and_reproducible():
    a = random(THREE_CLASS, np.random.default_rng(0))
    b = random(THREE_CLASS, np.random.default_rng(0))
    assert a.shape == (4,) and a.dtype == np.float64
    assert ((a >= 0) & (a < 1)).all()
    np.testing.assert_array_equal(a, b)
    assert random([LABEL_A, LABEL_B], np.random.default_rng(0)).shape == (3,)


def test_random_does_not_touch_global_state():
    before = np.random.get_state()[1].copy()
    random(THREE_CLASS, np.random.default_rng(0))
    priorities(np.arange(20.0), shuffle_prop=1, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_random_requires_rng():
    with pytest.raises(ValueError, match="Generator"):
        random(THREE_CLASS, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Generator"):
        random(THREE_CLASS, 0)  # type: ignore[arg-type]


def _no_embedding(chosen):
    raise AssertionError("only a diversity step asks for features")


def test_registry_names_are_the_stored_ones_and_compose_the_measures():
    assert list(STRATEGIES) == ["diverse_margin", "margin", "least_confidence", "entropy", "random"]
    assert DEFAULT_STRATEGY == "diverse_margin"
    assert STRATEGIES["margin"] == Uncertainty(margin, STRATEGIES["margin"].description)
    assert STRATEGIES["diverse_margin"].base is STRATEGIES["margin"]  # diversity wraps margin
    assert isinstance(STRATEGIES["random"], RandomOrder)
    assert all(s.description for s in STRATEGIES.values())


@pytest.mark.parametrize(("name", "measure"), [("entropy", entropy), ("margin", margin), ("least_confidence", least_confidence)])
def test_uncertainty_strategies_score_with_their_measure_and_keep_the_order(name, measure):
    strategy = STRATEGIES[name]
    scores = strategy.score(THREE_CLASS, np.random.default_rng(0))
    np.testing.assert_array_equal(scores, measure(THREE_CLASS))
    assert strategy.rank(scores, _no_embedding, 2, np.random.default_rng(0)) is scores


def test_the_random_strategy_draws_from_the_rng_it_is_given():
    out = STRATEGIES["random"].score(THREE_CLASS, np.random.default_rng(0))
    np.testing.assert_array_equal(out, random(THREE_CLASS, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="Generator"):
        STRATEGIES["random"].score(THREE_CLASS, None)  # type: ignore[arg-type]


def test_diverse_batches_skip_k_means_on_a_small_pool():
    batch = 2
    scores = np.linspace(0.0, 1.0, MIN_POOL_PER_BATCH * batch - 1)
    diverse = STRATEGIES["diverse_margin"]
    assert diverse.rank(scores, _no_embedding, batch, np.random.default_rng(0)) is scores


def test_diverse_batches_put_one_item_per_cluster_of_the_base_strategys_best_first():
    """Two tight groups of near-duplicates among the most uncertain: one of each group leads the queue."""
    n, batch = MIN_POOL_PER_BATCH * 2, 2
    scores = np.linspace(0.0, 1.0, n)  # item n-1 is the most uncertain
    group = np.arange(n) % 2  # even items sit at (0, 0), odd ones at (10, 10)
    asked = []

    def embed(chosen):
        asked.append(chosen.tolist())
        return np.c_[group[chosen] * 10.0, group[chosen] * 10.0] + 0.01 * np.arange(len(chosen))[:, None], np.ones(len(chosen), bool)

    ranked = DiverseBatches(STRATEGIES["margin"], "test").rank(scores, embed, batch, np.random.default_rng(0))
    assert asked == [list(range(n - 1, -1, -1))]  # the base's order: best first
    first, second = np.argsort(-ranked)[:2]
    assert {group[first], group[second]} == {0, 1}
    assert sorted(ranked) == list(map(float, range(1, n + 1)))


# --------------------------------------------------------------------------- #
# priorities
# --------------------------------------------------------------------------- #
def test_default_shuffle_prop():
    assert DEFAULT_SHUFFLE_PROP == 0.1
    assert acq.priorities.__defaults__[0] == DEFAULT_SHUFFLE_PROP


def test_priorities_no_shuffle_is_rank_order():
    scores = np.array([0.2, 0.9, 0.5, 0.1, 0.7])
    prio = priorities(scores, shuffle_prop=0)
    np.testing.assert_array_equal(prio, [2.0, 5.0, 3.0, 1.0, 4.0])
    assert prio.dtype == np.float64


def test_priorities_ties_keep_input_order():
    prio = priorities([1.0, 0.0, 1.0, 0.0, 1.0], shuffle_prop=0)
    np.testing.assert_array_equal(prio, [5.0, 2.0, 4.0, 1.0, 3.0])
    np.testing.assert_array_equal(priorities(np.zeros(4), shuffle_prop=0), [4.0, 3.0, 2.0, 1.0])


def test_priorities_empty():
    out = priorities(np.array([]), shuffle_prop=0.5)
    assert out.shape == (0,) and out.dtype == np.float64


def test_priorities_full_shuffle_is_permutation():
    n = 30
    scores = np.random.default_rng(0).random(n)
    prio = priorities(scores, shuffle_prop=1, rng=np.random.default_rng(0))
    assert prio.shape == (n,)
    assert sorted(prio.tolist()) == [float(i) for i in range(1, n + 1)]
    assert not np.array_equal(prio, priorities(scores, shuffle_prop=0))


@pytest.mark.parametrize("shuffle_prop", [0.05, 0.1, 0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("n", [3, 10, 37, 200])
def test_priorities_moves_at_most_round_prop_n(shuffle_prop, n):
    scores = np.random.default_rng(0).random(n)
    base = priorities(scores, shuffle_prop=0)
    shuffled = priorities(scores, shuffle_prop=shuffle_prop, rng=np.random.default_rng(0))
    assert sorted(shuffled.tolist()) == sorted(base.tolist())
    assert int(np.sum(shuffled != base)) <= round(shuffle_prop * n)


def test_priorities_same_seed_same_output():
    scores = np.random.default_rng(0).random(50)
    a = priorities(scores, shuffle_prop=0.5, rng=np.random.default_rng(0))
    b = priorities(scores, shuffle_prop=0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)


def test_priorities_different_seed_different_output():
    scores = np.random.default_rng(0).random(50)
    a = priorities(scores, shuffle_prop=0.5, rng=np.random.default_rng(0))
    b = priorities(scores, shuffle_prop=0.5, rng=np.random.default_rng(1))
    assert not np.array_equal(a, b)


def test_priorities_rng_optional_when_nothing_to_shuffle():
    scores = np.arange(10.0)
    expected = np.arange(1.0, 11.0)
    # round(0.1 * 10) = 1 position: nothing to permute, so no rng needed
    np.testing.assert_array_equal(priorities(scores, shuffle_prop=0.1), expected)
    np.testing.assert_array_equal(priorities(scores, shuffle_prop=0), expected)
    np.testing.assert_array_equal(priorities(scores[:1], shuffle_prop=1), [1.0])


def test_priorities_requires_rng_when_shuffling():
    with pytest.raises(ValueError, match="Generator"):
        priorities(np.arange(10.0), shuffle_prop=0.5)
    with pytest.raises(ValueError, match="Generator"):
        priorities(np.arange(20.0))  # default shuffle_prop -> 2 positions


@pytest.mark.parametrize("shuffle_prop", [-0.1, 1.5, float("nan")])
def test_priorities_bad_shuffle_prop(shuffle_prop):
    with pytest.raises(ValueError, match="shuffle_prop"):
        priorities(np.arange(5.0), shuffle_prop=shuffle_prop, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([0.1, np.nan]), "finite"),
        (np.array([0.1, np.inf]), "finite"),
        (np.zeros((2, 2)), "1-D"),
        (np.float64(1.0), "1-D"),
    ],
)
def test_priorities_bad_scores(bad, message):
    with pytest.raises(ValueError, match=message):
        priorities(bad, shuffle_prop=0)


def test_end_to_end_strategy_to_queue():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=40)
    for strategy in STRATEGIES.values():
        scores = strategy.rank(strategy.score(probs, rng), _no_embedding, 20, rng)
        prio = priorities(scores, shuffle_prop=0.2, rng=rng)
        assert sorted(prio.tolist()) == [float(i) for i in range(1, 41)]


def test_module_imports_only_numpy_and_stdlib():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(acq.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {"__future__", "collections", "typing", "numpy"}


@pytest.mark.parametrize("shuffle_prop", [0.0, 0.1, 0.5, 1.0])
def test_shuffled_priorities_name_the_items_the_random_share_placed(shuffle_prop):
    scores = np.random.default_rng(1).random(200)
    found, random_share = acq.shuffled_priorities(scores, shuffle_prop, np.random.default_rng(9))
    np.testing.assert_array_equal(found, acq.priorities(scores, shuffle_prop, np.random.default_rng(9)))
    k = round(shuffle_prop * len(scores))
    assert random_share.sum() == (k if k >= 2 else 0)
    # Every other item keeps the place its score gave it.
    ranked = np.empty(len(scores))
    ranked[np.argsort(-scores, kind="stable")] = len(scores) - np.arange(len(scores))
    np.testing.assert_array_equal(found[~random_share], ranked[~random_share])
