"""Gold items, on SQLite and PostgreSQL: marked with known labels, mixed into every labeller's stream at the
project's rate (seeded, so every run draws the same), each labeller getting each gold item at most once;
their known label is final, and each labeller's accuracy on them is reported."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import event

from labelling import InvalidInput, ItemNotFound
from labelling.errors import NotAReviewer
from _helpers import drain, ids_by_data, new_project

SEED = 20_240_501


class Always:
    """A stand-in random source: every draw gives `value` (choice takes the first candidate)."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value

    def choice(self, options):
        return options[0]


def make(store, normal, gold_labels, rate, labels=("a", "b"), **options):
    """A project with `normal` ordinary items n0.. and gold items g0.. with the given known labels."""
    project = new_project(store, labels, **options)
    store.add_items(project.id, [f"n{i}" for i in range(normal)] + [f"g{i}" for i in range(len(gold_labels))])
    ids = ids_by_data(store, project.id)
    gold_ids = [ids[f"g{i}"] for i in range(len(gold_labels))]
    if gold_ids:
        assert store.set_gold(project.id, gold_ids, list(gold_labels)) == len(gold_ids)
    store.set_gold_rate(project.id, rate)
    return project, ids, set(gold_ids)


def test_gold_items_leave_the_shared_queue(store):
    project, ids, gold = make(store, 3, ["a", "b"], rate=0.0)
    handed = drain(store, project.id, "alice")
    assert sorted(handed) == sorted(ids[f"n{i}"] for i in range(3))
    assert store.progress(project.id).complete == 5  # gold items wait for no one
    assert sorted(store.gold(project.id)["item_id"]) == sorted(gold)


def test_gold_mixing_rate_is_within_binomial_bounds(store):
    """400 hand-outs at a 10% gold rate: with enough gold and ordinary items that neither runs out, the
    number of gold hand-outs is Binomial(400, 0.1) (mean 40, sd 6); the seed makes it the same each run,
    and 5 standard deviations either side leaves room for any seed while catching a broken mix."""
    hand_outs, rate = 400, 0.1
    project, _, gold = make(store, 500, ["a"] * 100, rate=rate)
    store.rng = random.Random(SEED)
    seen_gold = []
    for _ in range(hand_outs):
        item = store.next_item(project.id, "alice")
        if item.id in gold:
            seen_gold.append(item.id)
        store.submit(project.id, item.id, "alice", "a")
    mean, sd = hand_outs * rate, math.sqrt(hand_outs * rate * (1 - rate))
    assert mean - 5 * sd <= len(seen_gold) <= mean + 5 * sd
    assert len(set(seen_gold)) == len(seen_gold)  # each gold item at most once


def test_every_labeller_gets_every_gold_item_at_most_once(store):
    project, ids, gold = make(store, 4, ["a", "b", "a"], rate=1.0, overlap=2)
    store.rng = random.Random(SEED)
    for name in ("alice", "bob"):
        order = drain(store, project.id, name)
        assert set(order[:3]) == gold  # at rate 1 the gold items come first, each once
        assert len(order) == len(set(order))
    assert store.progress(project.id).complete == 7
    stats = store.labeller_stats(project.id).set_index("labeller")
    assert stats.loc["alice", "gold_items"] == 3 and stats.loc["bob", "gold_items"] == 3


def test_gold_is_mixed_into_work_never_handed_out_alone(store):
    project, ids, gold = make(store, 1, ["a", "b"], rate=1.0)
    store.rng = Always(0.0)
    handed = drain(store, project.id, "alice")
    assert handed[:2] == sorted(gold) and handed[2:] == [ids["n0"]]
    # Nothing ordinary is left: a newcomer is not handed gold items on their own.
    assert store.next_item(project.id, "bob") is None


def test_a_missed_draw_costs_no_query(store):
    """The rate comes from the cached project and the draw is made in Python: a miss runs exactly the
    statements of a project without gold."""
    with_gold, _, _ = make(store, 10, ["a"], rate=0.05)
    without, _, _ = make(store, 10, [], rate=0.0)
    store.rng = Always(0.99)
    for project in (with_gold, without):  # warm caches: the project, the labeller, prepared statements
        store.submit(project.id, store.next_item(project.id, "alice").id, "alice", "a")

    def statements(project) -> int:
        count = 0

        def counted(*_):
            nonlocal count
            count += 1

        event.listen(store.engine, "before_cursor_execute", counted)
        try:
            item = store.next_item(project.id, "alice")
            store.submit(project.id, item.id, "alice", "a")
        finally:
            event.remove(store.engine, "before_cursor_execute", counted)
        return count

    assert statements(with_gold) == statements(without)


def test_gold_labels_never_outvote_the_known_label(store):
    project, ids, gold = make(store, 2, ["a"], rate=1.0)
    store.rng = Always(0.0)
    for name in ("alice", "bob", "carol"):
        item = store.next_item(project.id, name)
        assert item.id in gold
        store.submit(project.id, item.id, name, "b")
    export = store.export(project.id).set_index("item_id")
    (gold_id,) = gold
    assert export.loc[gold_id, "label"] == "a"
    assert export.loc[gold_id, "label_source"] == "gold"
    assert export.loc[gold_id, "n_labels"] == 3
    assert export.loc[gold_id, "label:alice"] == "b"  # their answers are kept, and shown
    finals = store.final_labels(project.id).set_index("item_id")
    assert finals.loc[gold_id, "label"] == "a" and finals.loc[gold_id, "source"] == "gold"


def test_gold_accuracy_per_labeller(store):
    project, ids, gold = make(store, 3, ["a", "b", "a"], rate=1.0)
    store.rng = Always(0.0)
    truth = dict(zip(sorted(gold), ["a", "b", "a"]))
    answers = {"alice": {"a": "a", "b": "b"}, "bob": {"a": "b", "b": "b"}}  # alice right on all, bob on 1 of 3
    for name, answer in answers.items():
        for _ in range(3):
            item = store.next_item(project.id, name)
            store.submit(project.id, item.id, name, answer[truth[item.id]])
    stats = store.labeller_stats(project.id).set_index("labeller")
    assert stats.loc["alice", "gold_accuracy"] == pytest.approx(1.0)
    assert stats.loc["bob", "gold_accuracy"] == pytest.approx(1 / 3)
    assert stats.loc["bob", "gold_items"] == 3
    assert stats.loc["alice", "agreement_items"] == 0  # gold items are not counted as agreement


def test_skipping_a_gold_item_moves_on_for_good(store):
    project, ids, gold = make(store, 2, ["a"], rate=1.0)
    store.rng = Always(0.0)
    item = store.next_item(project.id, "alice")
    assert item.id in gold
    store.skip(project.id, item.id, "alice")
    assert drain(store, project.id, "alice") == [ids["n0"], ids["n1"]]


def test_undo_reopens_a_gold_label(store):
    project, ids, gold = make(store, 2, ["a"], rate=1.0)
    store.rng = Always(0.0)
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", "b")
    again = store.undo(project.id, "alice")
    assert (again.id, again.my_label) == (item.id, "b")
    store.submit(project.id, item.id, "alice", "a")
    assert store.labeller_stats(project.id).set_index("labeller").loc["alice", "gold_accuracy"] == 1.0


def test_an_item_held_when_it_becomes_gold_stays_with_its_labeller(store):
    project = new_project(store)
    store.add_items(project.id, ["x", "y"])
    held = store.next_item(project.id, "alice")
    store.set_gold(project.id, [held.id], ["b"])
    assert store.next_item(project.id, "alice").id == held.id
    store.submit(project.id, held.id, "alice", "b")
    assert store.labeller_stats(project.id).set_index("labeller").loc["alice", "gold_accuracy"] == 1.0
    assert drain(store, project.id, "bob") != [held.id]  # bob only meets it as gold (rate 0: never)
    assert held.id not in drain(store, project.id, "carol")


def test_labels_given_before_an_item_became_gold_count_as_answers(store):
    project = new_project(store, overlap=2)
    store.add_items(project.id, ["x"])
    (item_id,) = ids_by_data(store, project.id).values()
    store.submit(project.id, item_id, "alice", "a")
    store.set_gold(project.id, [item_id], ["b"])
    assert store.progress(project.id).complete == 1  # its open slot left the queue
    assert store.labeller_stats(project.id).set_index("labeller").loc["alice", "gold_accuracy"] == 0.0
    assert store.export(project.id)["label"].tolist() == ["b"]


def test_gold_overrides_an_adjudication_and_cannot_be_adjudicated(store):

    project = new_project(store)
    store.add_items(project.id, ["x"])
    (item_id,) = ids_by_data(store, project.id).values()
    store.people.add("rita", "reviewer")
    store.adjudicate(project.id, item_id, "rita", "a")
    store.set_gold(project.id, [item_id], ["b"])
    assert store.final_labels(project.id)["source"].tolist() == ["gold"]
    with pytest.raises(InvalidInput, match="gold item"):
        store.adjudicate(project.id, item_id, "rita", "a")
    with pytest.raises(InvalidInput, match="gold item"):
        store.send_back(project.id, item_id, "rita")
    with pytest.raises(NotAReviewer):
        store.adjudicate(project.id, item_id, "nobody", "a")


def test_unset_gold_returns_items_to_the_queue(store):
    project, ids, gold = make(store, 1, ["a", "b"], rate=0.0, overlap=2)
    assert store.unset_gold(project.id, sorted(gold)) == 2
    assert store.gold(project.id).empty
    assert sorted(drain(store, project.id, "alice")) == sorted(ids.values())
    assert sorted(drain(store, project.id, "bob")) == sorted(ids.values())


def test_changing_a_gold_label(store):
    project, ids, gold = make(store, 1, ["a"], rate=0.0)
    store.set_gold(project.id, sorted(gold), ["b"])
    assert store.gold(project.id)["label"].tolist() == ["b"]


def test_multi_label_gold(store):
    project, ids, gold = make(store, 1, [["x", "y"]], rate=1.0, labels=("x", "y", "z"), multi_label=True)
    store.rng = Always(0.0)
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", ["y", "x"])
    assert store.gold(project.id)["label"].tolist() == [("x", "y")]
    assert store.labeller_stats(project.id).loc[0, "gold_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("item_ids", "labels", "error", "message"),
    [
        ([1, 2], ["a"], InvalidInput, "one known label per item"),
        ([], [], InvalidInput, "one or more item ids"),
        ([1, 1], ["a", "a"], InvalidInput, "more than once"),
        ([1.5], ["a"], InvalidInput, "whole numbers"),
        ([1], ["nope"], InvalidInput, "not in the label set"),
        ([1], [None], InvalidInput, "no gold label"),
        ([1, 999], ["a", "b"], ItemNotFound, "no item 999"),
    ],
)
def test_bad_gold_is_refused_and_nothing_changes(store, item_ids, labels, error, message):
    project = new_project(store)
    store.add_items(project.id, ["x", "y"])
    first = min(ids_by_data(store, project.id).values())
    shifted = [i + first - 1 if isinstance(i, int) and i != 999 else i for i in item_ids]
    with pytest.raises(error, match=message):
        store.set_gold(project.id, shifted, labels)
    assert store.gold(project.id).empty
    assert len(drain(store, project.id, "alice")) == 2


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.1", True, None, float("nan")])
def test_a_bad_gold_rate_is_refused(store, rate):
    project = new_project(store)
    with pytest.raises(InvalidInput, match="gold rate"):
        store.set_gold_rate(project.id, rate)
    assert "gold_rate" not in store.project(project.id).settings


def test_the_gold_rate_keeps_other_settings(store):
    project = new_project(store, settings={"display": "text", "text_column": "review"})
    store.set_gold_rate(project.id, 0.05)
    assert store.project(project.id).settings == {"display": "text", "text_column": "review", "gold_rate": 0.05}
