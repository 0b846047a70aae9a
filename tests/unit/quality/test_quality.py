"""Agreement measures against hand-worked figures, and the consensus rules (majority, ties, review, gold).

The hand-worked alphas use the coincidence-matrix form (labelling.quality.agreement.krippendorff_alpha):
alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k.
"""

from __future__ import annotations

import random

import pytest

from labelling.quality.consensus import GOLD, MAJORITY, REVIEW, TIE, decide, majority
from labelling.quality.agreement import Figure, cohen_kappa, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with missing values:
# 4 observers, 12 units, nominal alpha = 0.743. Unit 12 has one value and cannot be paired.
KRIPPENDORFF_2011 = [
    [1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5], [1, 1], [3],
]


def test_alpha_perfect_agreement_is_one():
    assert krippendorff_alpha([["a", "a"], ["b", "b"], ["a", "a"], ["b", "b"]]) == Figure(1.0, 4)


def test_alpha_at_chance_level():
    """Coder 1: a a b b; coder 2: a b a b. o_aa = o_bb = 2, o_ab = o_ba = 2, n_a = n_b = 4, n = 8:
    alpha = 1 - 7 * 4 / 32 = 0.125 (kappa is 0 here: alpha corrects for the small sample)."""
    figure = krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "a"], ["b", "b"]])
    assert figure.items == 4
    assert figure.value == pytest.approx(0.125)


def test_alpha_systematic_disagreement_is_negative():
    """Every item gets both labels: o_ab = o_ba = 2, n = 4: alpha = 1 - 3 * 4 / 8 = -0.5."""
    assert krippendorff_alpha([["a", "b"], ["b", "a"]]).value == pytest.approx(-0.5)


def test_alpha_with_missing_labels():
    """Item 1: a a; item 2: a b b (three coders); item 3: b (one coder: unpairable, dropped).
    o_aa = 2, o_ab = o_ba = 2 * 1 / 2 = 1, o_bb = 2 * 1 / 2 = 1; n_a = 3, n_b = 2, n = 5:
    alpha = 1 - 4 * 2 / 12 = 1/3."""
    figure = krippendorff_alpha([["a", "a"], ["a", "b", "b"], ["b"]])
    assert figure == Figure(pytest.approx(1 / 3), 2)


def test_alpha_on_krippendorffs_published_example():
    figure = krippendorff_alpha(KRIPPENDORFF_2011)
    assert figure.items == 11
    assert round(figure.value, 3) == 0.743
    assert figure.value == pytest.approx(0.743421052631579)


def test_alpha_is_not_defined_without_pairs_or_without_variation():
    assert krippendorff_alpha([]) == Figure(None, 0)
    assert krippendorff_alpha([["a"], ["b"]]) == Figure(None, 0)  # nobody's label can be compared
    assert krippendorff_alpha([["a", "a"], ["a", "a", "a"]]) == Figure(None, 2)  # one value everywhere


def test_alpha_ignores_the_order_of_coders_and_items():
    rng = random.Random(5)
    units = [list(u) for u in KRIPPENDORFF_2011]
    for unit in units:
        rng.shuffle(unit)
    rng.shuffle(units)
    assert krippendorff_alpha(units).value == pytest.approx(krippendorff_alpha(KRIPPENDORFF_2011).value)


def test_kappa_hand_worked():
    """a a a b b against a a b b b: p_o = 4/5, p_e = 3/5 * 2/5 + 2/5 * 3/5 = 12/25: kappa = 0.32 / 0.52."""
    assert cohen_kappa(list("aaabb"), list("aabbb")) == pytest.approx(0.32 / 0.52)


def test_kappa_perfect_chance_and_worse():
    assert cohen_kappa(list("abab"), list("abab")) == pytest.approx(1.0)
    assert cohen_kappa(list("aabb"), list("abab")) == pytest.approx(0.0)  # p_o = p_e = 1/2
    assert cohen_kappa(list("ab"), list("ba")) == pytest.approx(-1.0)


def test_kappa_on_yes_no_answers():
    assert cohen_kappa([True, True, False, False], [True, False, False, False]) == pytest.approx(0.5)


def test_kappa_is_not_defined_with_nothing_to_compare():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # one label throughout: no chance to disagree
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])


def test_kappa_one_coder_constant_is_zero_not_undefined():
    """p_e = p_o when one coder always says a: no agreement beyond chance."""
    assert cohen_kappa(list("aaaa"), list("aabb")) == pytest.approx(0.0)


# Consensus


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([], (None, False)),
        (["a"], ("a", False)),
        (["a", "a", "b"], ("a", False)),
        (["a", "b"], (None, True)),
        (["a", "b", "c"], (None, True)),
        (["a", "a", "b", "b", "c"], (None, True)),
        ([("x",), ("x", "y"), ("x",)], (("x",), False)),
        ([("x",), ("x", "y")], (None, True)),  # y has exactly half the votes
        ([(), ()], ((), False)),
    ],
)
def test_majority_and_ties(votes, expected):
    assert majority(votes) == expected


def test_a_tie_has_no_final_label_and_says_so():
    final = decide(["a", "b"])
    assert (final.label, final.source, final.tie, final.votes) == (None, TIE, True, 2)


def test_majority_is_the_final_label_without_review_or_gold():
    final = decide(["a", "b", "b"])
    assert (final.label, final.source, final.tie) == ("b", MAJORITY, False)


def test_gold_truth_outvotes_every_labeller():
    final = decide(["b", "b", "b"], gold="a")
    assert (final.label, final.source, final.tie, final.votes) == ("a", GOLD, False, 3)


def test_a_reviewers_label_wins_and_is_recorded_as_such():
    final = decide(["a", "b"], review="b", reviewer="rita")
    assert (final.label, final.source, final.tie, final.reviewer) == ("b", REVIEW, False, "rita")
    assert decide(["a", "a"], review="b").label == "b"  # even against a unanimous vote


def test_no_votes_and_nothing_else_has_no_label():
    final = decide([])
    assert (final.label, final.source, final.tie, final.votes) == (None, None, False, 0)
