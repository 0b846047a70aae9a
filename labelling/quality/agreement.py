"""How far labellers agree, and how each one does: Cohen's kappa per pair, Krippendorff's alpha (nominal)
overall and per label, each labeller's agreement with the consensus and accuracy on gold items.

Every figure comes with the number of items it rests on: a kappa of 1.0 over two items says little.

What counts: current labels given by people (`source = "label"`); imported labels are not a person's
and are left out. Gold items are left out of agreement (each labeller meets them alone, at the gold
rate) and measured on their own, as gold accuracy. A multi-label project is measured label by label,
each label a yes/no question; its overall figures pool those yes/no answers of every label. A box or span
project is measured by F1 between labellers instead (`Agreement.shapes`, labelling.quality.shapes), and a
labeller's agreement and gold accuracy are their mean F1 against the final or gold label.

The measures themselves (`krippendorff_alpha`, `cohen_kappa`) are pure functions of the labels. Kappa
is scikit-learn's. Alpha is computed here: the one kept library for it, `krippendorff` on PyPI, is
GPL-3.0, which would bind anyone who ships this app; the nominal case is a few lines, checked in
tests/unit/quality/test_quality.py against hand-worked values and Krippendorff's own published example.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelling.quality import consensus, shapes
from labelling.records import Label, Project, Task

__all__ = ["STATS_COLUMNS", "Agreement", "Figure", "Vote", "cohen_kappa", "krippendorff_alpha", "report"]

STATS_COLUMNS = [
    "labeller",
    "labels",
    "median_seconds",
    "skips",
    "skip_rate",
    "agreement",
    "agreement_items",
    "gold_accuracy",
    "gold_items",
]
"""`Agreement.labellers`: one row per person who labelled or skipped. `agreement` is the share of their
labels equal to the item's final label, over `agreement_items` non-gold items that have two or more
labels (a tie, which has no final label, counts as not agreeing); `gold_accuracy` the share of their gold
answers that were right."""


@dataclass(frozen=True)
class Figure:
    """One agreement figure and the number of items it rests on; `value` is None when it is not defined
    (no item labelled by two people, or everyone gave the same label to everything: nothing to compare)."""

    value: float | None
    items: int


@dataclass(frozen=True)
class Agreement:
    """A project's agreement figures (see the module docstring for what counts).

    - `alpha`: Krippendorff's alpha over all non-gold items with two or more labellers.
    - `per_label`: columns label, alpha, items: alpha of "has this label: yes/no".
    - `kappa`: columns labeller_a, labeller_b, kappa, items: Cohen's kappa of each pair over the items
      both labelled (pairs with no such item are left out; each pair once, a < b).
    - `labellers`: per-labeller statistics, columns `STATS_COLUMNS`.
    - `shapes`: a box or span project's F1 figures (alpha and kappa are then left empty); None otherwise.
    """

    alpha: Figure
    per_label: pd.DataFrame
    kappa: pd.DataFrame
    labellers: pd.DataFrame
    shapes: shapes.ShapeAgreement | None = None


# The measures


def krippendorff_alpha(units: Iterable[Sequence[Hashable]]) -> Figure:
    """Krippendorff's alpha for nominal data; `units` holds, per item, the values its coders gave
    (missing values simply left out, so items may have different numbers of coders).

    alpha = 1 - D_o / D_e from the coincidence matrix o (Krippendorff, *Computing Krippendorff's
    Alpha-Reliability*, 2011): each item with m >= 2 values adds n_c * (n_k - [c == k]) / (m - 1) to o_ck,
    where n_c counts value c in the item; items with one value cannot be paired and are dropped. With
    n_c the totals of o and n their sum, alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k.
    """
    pairable = [Counter(values) for values in units if len(values) >= 2]
    if not pairable:
        return Figure(None, 0)
    observed = 0.0  # sum over c != k of o_ck
    totals: Counter = Counter()  # n_c
    for counts in pairable:
        m = sum(counts.values())
        observed += (m * m - sum(n * n for n in counts.values())) / (m - 1)
        totals.update(counts)
    n = sum(totals.values())
    expected = n * n - sum(v * v for v in totals.values())  # sum over c != k of n_c * n_k
    if expected == 0:  # one value everywhere: agreement is not defined
        return Figure(None, len(pairable))
    return Figure(float(1.0 - (n - 1) * observed / expected), len(pairable))


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two coders' labels for the same items (sklearn's `cohen_kappa_score`); None when
    it is not defined: no items, or both gave one and the same label throughout (no chance to disagree)."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} labels against {len(second)}: give both coders' labels for the same items")
    if not len(first) or (len(set(first)) == 1 and set(first) == set(second)):
        return None
    from sklearn.metrics import cohen_kappa_score  # here, not at the top: the store (every page) imports this module

    values = sorted(set(first) | set(second), key=str)
    return float(cohen_kappa_score(list(first), list(second), labels=values))


# The report


Vote = tuple[int, str, Label, float | None]
"""One current label given by a person: (item id, labeller name, label, seconds spent)."""


def report(
    project: Project,
    rows: Sequence[Vote],
    skipped: dict[str, int],
    finals: dict[int, consensus.Final],
    gold: dict[int, Label],
) -> Agreement:
    """Every agreement figure and per-labeller statistic of a project, from its labels read once
    (labelling.storage.votes reads them): `rows` by item then label, `skipped` per labeller, each item's
    final label and the gold items' known labels."""
    by_item: dict[int, dict[str, Label]] = {}
    for item_id, name, label, _ in rows:
        if item_id not in gold:
            by_item.setdefault(item_id, {})[name] = label
    if project.options.task is not Task.CLASSIFY:
        threshold = project.options.iou_threshold
        return Agreement(
            alpha=Figure(None, 0),
            per_label=_frame([], ["label", "alpha", "items"]),
            kappa=_frame([], ["labeller_a", "labeller_b", "kappa", "items"]),
            labellers=_labeller_stats(
                rows, skipped, by_item, finals, gold, lambda a, b: shapes.similarity(a, b, iou_threshold=threshold)
            ),
            shapes=shapes.report(project.labels, by_item, iou_threshold=threshold),
        )
    questions = _questions(project)
    per_label = [(name, _alpha(by_item, [question])) for name, question in zip(project.labels, questions)]
    return Agreement(
        alpha=_alpha(by_item, questions if project.multi_label else None),
        per_label=_frame(
            [{"label": name, "alpha": figure.value, "items": figure.items} for name, figure in per_label],
            ["label", "alpha", "items"],
        ),
        kappa=_pairwise_kappa(by_item, questions if project.multi_label else None),
        labellers=_labeller_stats(rows, skipped, by_item, finals, gold),
    )


Question = Callable[[Label], bool]


def _questions(project: Project) -> list[Question]:
    """One yes/no question per label: "does this vote carry the label?" (for a single-label project,
    "this label or another one?")."""
    return [lambda vote, name=name: name in vote if isinstance(vote, tuple) else vote == name for name in project.labels]


def _values(votes: dict[str, Label], questions: list[Question] | None) -> list[list[Hashable]]:
    """What one item's coders are compared on: their labels as they are (questions=None), or their
    answers to each question, one unit per question."""
    if questions is None:
        return [list(votes.values())]
    return [[question(vote) for vote in votes.values()] for question in questions]


def _alpha(by_item: dict[int, dict[str, Label]], questions: list[Question] | None) -> Figure:
    """Alpha over the items: of the labels themselves, or of the pooled yes/no answers (each item and
    question a unit). The count is of items, however many units they make."""
    units = [unit for votes in by_item.values() for unit in _values(votes, questions)]
    return Figure(krippendorff_alpha(units).value, sum(1 for votes in by_item.values() if len(votes) >= 2))


def _pairwise_kappa(by_item: dict[int, dict[str, Label]], questions: list[Question] | None) -> pd.DataFrame:
    shared: dict[tuple[str, str], list[int]] = {}
    for item_id, votes in by_item.items():
        for a, b in itertools.combinations(sorted(votes), 2):
            shared.setdefault((a, b), []).append(item_id)
    rows = []
    for (a, b), ids in sorted(shared.items()):
        first = [v for i in ids for unit in _values({a: by_item[i][a]}, questions) for v in unit]
        second = [v for i in ids for unit in _values({b: by_item[i][b]}, questions) for v in unit]
        rows.append({"labeller_a": a, "labeller_b": b, "kappa": cohen_kappa(first, second), "items": len(ids)})
    return _frame(rows, ["labeller_a", "labeller_b", "kappa", "items"])


def _labeller_stats(
    rows: Sequence[Vote],
    skipped: dict[str, int],
    by_item: dict[int, dict[str, Label]],
    finals: dict[int, consensus.Final],
    gold: dict[int, Label],
    same: Callable[[Label, Label], float] = lambda a, b: float(a == b),
) -> pd.DataFrame:
    """`same(given, truth)`: how far a label counts as right, 0..1 (classification: equal or not)."""
    seconds: dict[str, list[float]] = {}
    agreed: dict[str, list[float]] = {}
    right: dict[str, list[float]] = {}
    for item_id, name, label, spent in rows:
        seconds.setdefault(name, [])
        if spent is not None:
            seconds[name].append(spent)
        if item_id in gold:
            right.setdefault(name, []).append(same(label, gold[item_id]))
            continue
        if len(by_item.get(item_id, {})) >= 2:  # a tie backs no label: with two labellers, each disagreement
            final = finals.get(item_id)  # is one; leaving ties out read 100% for everyone
            agreed.setdefault(name, []).append(0.0 if final is None or final.label is None else same(label, final.label))
    counts = Counter(name for _, name, _, _ in rows)
    stats = []
    for name in sorted(set(counts) | set(skipped)):
        labels, skips_ = counts.get(name, 0), skipped.get(name, 0)
        times = seconds.get(name, [])
        stats.append(
            {
                "labeller": name,
                "labels": labels,
                "median_seconds": float(np.median(times)) if times else None,
                "skips": skips_,
                "skip_rate": skips_ / (labels + skips_) if labels + skips_ else None,
            }
        )
        agreement, accuracy = _share(agreed.get(name)), _share(right.get(name))
        stats[-1] |= {"agreement": agreement.value, "agreement_items": agreement.items}
        stats[-1] |= {"gold_accuracy": accuracy.value, "gold_items": accuracy.items}
    return _frame(stats, STATS_COLUMNS)


def _share(outcomes: list[float] | None) -> Figure:
    if not outcomes:
        return Figure(None, 0)
    return Figure(sum(outcomes) / len(outcomes), len(outcomes))


_FLOAT_COLUMNS = ("alpha", "kappa", "median_seconds", "skip_rate", "agreement", "gold_accuracy")


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame whose figures are floats (NaN where not defined), even when there are no rows."""
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column in _FLOAT_COLUMNS:
            frame[column] = frame[column].astype(float)
        elif column.endswith("items") or column in ("labels", "skips"):
            frame[column] = frame[column].astype(int)
    return frame
