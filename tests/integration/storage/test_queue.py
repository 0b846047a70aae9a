"""The labelling queue through the public `Store` API, on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from _helpers import (
    current_annotations,
    db_now,
    drain,
    expire_leases,
    ids_by_data,
    item_ids,
    label_of,
    new_project,
)
from labelling import Store
from labelling.errors import LeaseLost
from labelling.io.export import to_csv
from labelling.records import Annotation, Item


# Order ------------------------------------------------------------------------------------------------


def test_without_priorities_items_come_in_insertion_order(store):
    project = new_project(store)
    store.add_items(project.id, [f"item{i}" for i in range(6)])
    assert drain(store, project.id, "alice") == item_ids(store, project.id)


def test_highest_priority_first_ties_by_insertion_order(store):
    project = new_project(store)
    store.add_items(project.id, [f"item{i}" for i in range(6)])
    ids = item_ids(store, project.id)
    scores = [1.0, 3.0, 3.0, 2.0, 0.0, 3.0]
    assert store.set_priorities(project.id, ids, scores) == 6

    order = drain(store, project.id, "alice")

    assert order == [ids[1], ids[2], ids[5], ids[3], ids[0], ids[4]]


def prioritised_with_the_top_labelled(store, prefix: str):
    """A project of five items `{prefix}0..4` scored 5..1 (so queued in insertion order), whose first item
    alice was served first and labelled; returns the project and the five ids."""
    project = new_project(store)
    store.add_items(project.id, [f"{prefix}{i}" for i in range(5)])
    ids = item_ids(store, project.id)
    store.set_priorities(project.id, ids, [5, 4, 3, 2, 1])
    first = store.next_item(project.id, "alice")
    assert first.id == ids[0]
    store.submit(project.id, first.id, "alice", "a")
    return project, ids


def test_set_priorities_reorders_the_remaining_queue(store):
    project, ids = prioritised_with_the_top_labelled(store, "item")

    store.set_priorities(project.id, ids[1:], [1, 2, 3, 4])  # reversed

    assert drain(store, project.id, "alice") == [ids[4], ids[3], ids[2], ids[1]]


def test_set_priorities_vacuums_the_queue_on_postgresql_and_leaves_connections_transactional(postgresql_url):
    """The rewrite's dead row versions are cleared at once (retrain after retrain outpaces autovacuum), and the
    pooled connection it borrowed is back to transactions afterwards."""
    store = Store.connect(postgresql_url)
    try:
        project = new_project(store)
        store.add_items(project.id, [f"item{i}" for i in range(5)])
        ids = item_ids(store, project.id)
        statements = []
        sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        store.set_priorities(project.id, ids, [5, 4, 3, 2, 1])
        assert statements[-1] == "VACUUM (ANALYZE) tasks"
        with store.engine.connect() as connection:
            assert connection.get_isolation_level() != "AUTOCOMMIT"
        assert drain(store, project.id, "alice") == ids
    finally:
        store.close()


def test_numpy_ids_and_scores_are_accepted(store):
    project = new_project(store)
    store.add_items(project.id, ["x", "y", "z"])
    ids = np.array(item_ids(store, project.id), dtype=np.int64)
    store.set_priorities(project.id, ids, np.array([0.1, 0.9, 0.5], dtype=np.float32))
    assert drain(store, project.id, "alice") == [ids[1], ids[2], ids[0]]


def test_items_added_after_set_priorities_join_at_the_top(store):
    project, old = prioritised_with_the_top_labelled(store, "old")

    assert store.add_items(project.id, ["new0", "new1"]) == 2
    new = [i for i in item_ids(store, project.id) if i not in old]
    assert len(new) == 2

    order = drain(store, project.id, "bob")
    # New items are not starved: they come before every old item scored below the best open one
    # (they may share the top with it), and the rest keep their order.
    assert set(order[:3]) == {old[1], *new}
    assert order[3:] == [old[2], old[3], old[4]]


def test_items_added_after_negative_priorities_are_not_starved(store):
    project = new_project(store)
    store.add_items(project.id, ["old0", "old1", "old2"])
    old = item_ids(store, project.id)
    store.set_priorities(project.id, old, [-1.0, -2.0, -3.0])
    store.add_items(project.id, ["new"])
    new = [i for i in item_ids(store, project.id) if i not in old][0]
    order = drain(store, project.id, "alice")
    assert order.index(new) < order.index(old[1])


# Leases ------------------------------------------------------------------------------------------------


def test_asking_again_returns_the_same_item(store):
    project = new_project(store)
    store.add_items(project.id, ["x", "y", "z"])
    first = store.next_item(project.id, "alice")
    again = store.next_item(project.id, "alice")  # a refresh, or a second tab
    assert isinstance(first, Item)
    assert again.id == first.id
    assert again.data == first.data
    assert again.lease_expires_at >= first.lease_expires_at
    assert store.progress(project.id).in_progress == 1


def test_a_leased_item_is_never_handed_to_another_labeller(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    mine = store.next_item(project.id, "alice")
    assert mine is not None
    assert store.next_item(project.id, "bob") is None
    assert store.next_item(project.id, "carol") is None
    assert store.next_item(project.id, "alice").id == mine.id


def test_two_labellers_get_different_items(store):
    project = new_project(store)
    store.add_items(project.id, ["x", "y"])
    a = store.next_item(project.id, "alice")
    b = store.next_item(project.id, "bob")
    assert a.id != b.id
    assert store.next_item(project.id, "carol") is None


def test_item_data_comes_back_with_the_lease(store):
    project = new_project(store)
    store.add_items(project.id, [{"text": "hello", "n": 3, "score": 0.5}])
    item = store.next_item(project.id, "alice")
    assert item.data == {"text": "hello", "n": 3, "score": 0.5}
    assert item.project_id == project.id
    assert item.my_label is None
    assert item.lease_expires_at > db_now(store) - 1


def test_an_expired_lease_goes_to_the_next_labeller_and_the_late_submit_is_refused(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    alice = store.next_item(project.id, "alice")
    assert store.next_item(project.id, "bob") is None

    expire_leases(store, alice.id)
    bob = store.next_item(project.id, "bob")
    assert bob is not None and bob.id == alice.id

    with pytest.raises(LeaseLost) as raised:
        store.submit(project.id, alice.id, "alice", "a")
    assert "lease" in str(raised.value).lower()
    assert store.annotations(project.id).empty
    assert "label:alice" not in store.export(project.id).columns
    assert label_of(store, project.id, alice.id) is None
    assert store.progress(project.id).annotations == 0
    assert store.progress(project.id).complete == 0

    # Bob, who holds the lease now, labels it normally.
    store.submit(project.id, bob.id, "bob", "b")
    assert list(current_annotations(store, project.id)["labeller"]) == ["bob"]
    assert label_of(store, project.id, bob.id) == "b"


def test_a_late_submit_nobody_took_over_is_accepted(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    item = store.next_item(project.id, "alice")
    expire_leases(store, item.id)
    assert store.progress(project.id).in_progress == 0

    annotation = store.submit(project.id, item.id, "alice", "b")

    assert annotation.label == "b"
    assert label_of(store, project.id, item.id) == "b"
    assert store.progress(project.id).complete == 1
    assert store.next_item(project.id, "bob") is None


# Overlap -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlap", [2, 3])
def test_overlap_needs_k_distinct_labellers(store, overlap):
    project = new_project(store, overlap=overlap)
    n_items = 4
    store.add_items(project.id, [f"item{i}" for i in range(n_items)])
    labellers = [f"labeller{j}" for j in range(overlap + 1)]
    labelled_by: dict[int, set[str]] = {}
    active = list(labellers)
    while active:
        for name in list(active):
            item = store.next_item(project.id, name)
            if item is None:
                active.remove(name)
                continue
            assert name not in labelled_by.get(item.id, set()), f"{name} got item {item.id} twice"
            store.submit(project.id, item.id, name, "a" if len(name) % 2 else "b")
            labelled_by.setdefault(item.id, set()).add(name)
            expected_complete = sum(len(who) >= overlap for who in labelled_by.values())
            assert store.progress(project.id).complete == expected_complete

    assert sorted(labelled_by) == item_ids(store, project.id)
    assert all(len(who) == overlap for who in labelled_by.values())
    progress = store.progress(project.id)
    assert (progress.total, progress.complete, progress.annotations) == (n_items, n_items, n_items * overlap)
    export = store.export(project.id)
    assert list(export["n_labels"]) == [overlap] * n_items
    who_labelled = set().union(*labelled_by.values())
    assert {c for c in export.columns if c.startswith("label:")} == {f"label:{n}" for n in who_labelled}


@pytest.mark.parametrize("overlap", [2, 3])
def test_an_item_is_not_complete_until_k_labellers_labelled_it(store, overlap):
    project = new_project(store, overlap=overlap)
    store.add_items(project.id, ["only"])
    for j in range(overlap):
        assert store.progress(project.id).complete == 0
        item = store.next_item(project.id, f"l{j}")
        assert item is not None
        store.submit(project.id, item.id, f"l{j}", "a")
        assert store.next_item(project.id, f"l{j}") is None  # never the same item twice
    assert store.progress(project.id).complete == 1
    assert store.next_item(project.id, "late") is None


@pytest.mark.parametrize("overlap", [2, 3])
def test_partly_labelled_items_come_before_untouched_ones(store, overlap):
    project = new_project(store, overlap=overlap)
    store.add_items(project.id, [f"item{i}" for i in range(6)])
    ids = item_ids(store, project.id)
    for _ in range(2):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", "a")
    started = {ids[0], ids[1]}
    # Untouched items now score far higher than the partly labelled ones.
    store.set_priorities(project.id, ids, [-10, -10, 10, 20, 30, 40])

    first = store.next_item(project.id, "bob")
    assert first.id in started
    store.submit(project.id, first.id, "bob", "a")
    second = store.next_item(project.id, "bob")
    assert second.id in started - {first.id}
    store.submit(project.id, second.id, "bob", "a")
    if overlap == 3:
        assert store.next_item(project.id, "carol").id in started
    else:
        assert store.next_item(project.id, "carol").id == ids[5]


def test_overlap_two_labellers_can_hold_the_same_item_at_once(store):
    project = new_project(store, overlap=2)
    store.add_items(project.id, ["only"])
    a = store.next_item(project.id, "alice")
    b = store.next_item(project.id, "bob")
    assert a.id == b.id
    assert store.next_item(project.id, "carol") is None
    store.submit(project.id, a.id, "alice", "a")
    store.submit(project.id, b.id, "bob", "b")
    assert store.progress(project.id).complete == 1
    export = store.export(project.id)
    assert export.loc[0, "label:alice"] == "a" and export.loc[0, "label:bob"] == "b"
    assert bool(export.loc[0, "tie"]) is True


# Skip --------------------------------------------------------------------------------------------------


def test_a_skipped_item_goes_to_others_not_back_to_me(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    ids = ids_by_data(store, project.id)
    first = store.next_item(project.id, "alice")
    assert first.id == ids["A"]
    store.skip(project.id, first.id, "alice")

    assert store.next_item(project.id, "alice").id == ids["B"]
    assert store.next_item(project.id, "bob").id == ids["A"]
    progress = store.progress(project.id)
    assert progress.per_labeller["alice"].skips == 1
    assert progress.per_labeller["alice"].labels == 0
    assert progress.complete == 0


def test_skipped_items_are_offered_again_once_only_they_remain(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    ids = ids_by_data(store, project.id)
    store.skip(project.id, store.next_item(project.id, "alice").id, "alice")  # A

    order = []
    for _ in range(3):
        item = store.next_item(project.id, "alice")
        order.append(item.id)
        if item.id == ids["A"]:
            break
        store.submit(project.id, item.id, "alice", "a")
    assert order == [ids["B"], ids["C"], ids["A"]]

    store.skip(project.id, ids["A"], "alice")  # skipped twice: still the only thing left, offered again
    assert store.next_item(project.id, "alice").id == ids["A"]
    assert store.progress(project.id).per_labeller["alice"].skips == 2


def test_skipping_goes_round_the_skipped_items_oldest_skip_first(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    ids = ids_by_data(store, project.id)
    seen = []
    for _ in range(7):
        item = store.next_item(project.id, "alice")
        seen.append(item.id)
        store.skip(project.id, item.id, "alice")
    assert seen == [ids["A"], ids["B"], ids["C"], ids["A"], ids["B"], ids["C"], ids["A"]]
    store.submit(project.id, store.next_item(project.id, "alice").id, "alice", "a")  # B, skipped longest ago
    assert store.next_item(project.id, "bob").id == ids["A"]  # others get the queue's order: A is first


def test_skipping_records_nothing_as_a_label(store):
    project = new_project(store)
    store.add_items(project.id, ["A"])
    item = store.next_item(project.id, "alice")
    store.skip(project.id, item.id, "alice")
    assert store.annotations(project.id).empty
    assert store.progress(project.id).in_progress == 0
    assert store.progress(project.id).complete == 0


# Undo --------------------------------------------------------------------------------------------------


def _label_in_order(store, project_id, labeller, labels):
    """Label the next len(labels) items; returns their ids."""
    done = []
    for label in labels:
        item = store.next_item(project_id, labeller)
        store.submit(project_id, item.id, labeller, label)
        done.append(item.id)
    return done


def test_undo_reopens_my_most_recent_label(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    first, second = _label_in_order(store, project.id, "alice", ["a", "b"])

    reopened = store.undo(project.id, "alice")

    assert reopened.id == second
    assert reopened.my_label == "b"
    assert reopened.data == "B"
    assert reopened.lease_expires_at is not None and reopened.lease_expires_at > db_now(store)
    # It is leased to me: asking again gives it back, with my label.
    again = store.next_item(project.id, "alice")
    assert again.id == second and again.my_label == "b"
    # The old label stays current until a new one replaces it.
    assert label_of(store, project.id, second) == "b"


def test_submitting_after_undo_supersedes_the_old_label(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    _, second = _label_in_order(store, project.id, "alice", ["a", "b"])
    store.undo(project.id, "alice")

    store.submit(project.id, second, "alice", "a")

    history = store.annotations(project.id)
    of_second = history[history["item_id"] == second]
    assert list(of_second["label"]) == ["b", "a"]
    assert list(of_second["current"]) == [False, True]
    assert label_of(store, project.id, second) == "a"
    assert store.export(project.id).set_index("item_id").loc[second, "label:alice"] == "a"
    progress = store.progress(project.id)
    assert progress.complete == 2
    assert progress.annotations == 2
    assert progress.per_labeller["alice"].labels == 2
    # Afterwards the queue carries on with the next untouched item.
    assert store.next_item(project.id, "alice").data == "C"


def test_undo_twice_goes_back_two_labels(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C", "D"])
    ids = _label_in_order(store, project.id, "alice", ["a", "b", "a"])

    first_undo = store.undo(project.id, "alice")
    second_undo = store.undo(project.id, "alice")

    assert (first_undo.id, first_undo.my_label) == (ids[2], "a")
    assert (second_undo.id, second_undo.my_label) == (ids[1], "b")
    assert store.next_item(project.id, "alice").id == ids[1]
    # Walking away from an undo loses nothing.
    assert [label_of(store, project.id, i) for i in ids] == ["a", "b", "a"]
    store.submit(project.id, ids[1], "alice", "a")
    assert [label_of(store, project.id, i) for i in ids] == ["a", "a", "a"]
    assert len(current_annotations(store, project.id)) == 3


def test_undo_with_nothing_to_undo_returns_none(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B"])
    assert store.undo(project.id, "alice") is None
    item = store.next_item(project.id, "alice")  # holding an item, but no label yet
    assert store.undo(project.id, "alice") is None
    assert store.next_item(project.id, "alice").id == item.id
    assert store.annotations(project.id).empty


def test_undo_does_not_reopen_someone_elses_label(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B"])
    _label_in_order(store, project.id, "bob", ["a"])
    assert store.undo(project.id, "alice") is None


def test_the_item_held_when_pressing_undo_goes_back_to_the_pool(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C"])
    ids = ids_by_data(store, project.id)
    _label_in_order(store, project.id, "alice", ["a"])
    held = store.next_item(project.id, "alice")
    assert held.id == ids["B"]

    reopened = store.undo(project.id, "alice")

    assert reopened.id == ids["A"]
    assert store.next_item(project.id, "bob").id == ids["B"]


# Submit ------------------------------------------------------------------------------------------------


def test_double_submit_records_one_label(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B"])
    item = store.next_item(project.id, "alice")
    first = store.submit(project.id, item.id, "alice", "a")
    second = store.submit(project.id, item.id, "alice", "a")

    assert second.id == first.id
    assert len(store.annotations(project.id)) == 1
    progress = store.progress(project.id)
    assert (progress.annotations, progress.complete) == (1, 1)
    assert progress.per_labeller["alice"].labels == 1
    # Another different-label double click does not add a label either.
    store.submit(project.id, item.id, "alice", "b")
    assert len(current_annotations(store, project.id)) == 1


def test_every_annotation_records_labeller_time_and_seconds(store):
    project = new_project(store)
    store.add_items(project.id, ["A"])
    before = db_now(store)
    item = store.next_item(project.id, "alice")
    annotation = store.submit(project.id, item.id, "alice", "b")
    after = db_now(store)

    assert isinstance(annotation, Annotation)
    assert annotation.labeller == "alice"
    assert annotation.item_id == item.id
    assert annotation.label == "b"
    assert before - 1e-6 <= annotation.created_at <= after + 1e-6
    assert annotation.seconds is not None
    assert 0 <= annotation.seconds <= after - before + 1e-6

    frame = store.annotations(project.id)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["labeller"] == "alice"
    assert row["item_id"] == item.id
    assert row["label"] == "b"
    assert bool(row["current"]) is True
    assert row["seconds"] >= 0
    assert row["created_at"].tzinfo is not None
    assert abs(row["created_at"].timestamp() - annotation.created_at) < 1e-3


def test_submit_without_next_item_takes_a_free_item(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B"])
    ids = ids_by_data(store, project.id)
    before = db_now(store)
    annotation = store.submit(project.id, ids["B"], "alice", "a")
    after = db_now(store)
    assert (annotation.item_id, annotation.labeller, annotation.label) == (ids["B"], "alice", "a")
    # B's free task was handed out and completed within the call: its seconds run from that hand-out.
    assert annotation.seconds is not None and 0 <= annotation.seconds <= after - before
    assert label_of(store, project.id, ids["B"]) == "a"
    progress = store.progress(project.id)
    assert (progress.complete, progress.in_progress) == (1, 0)  # B is done and nobody holds a lease
    assert store.next_item(project.id, "bob").id == ids["A"]
    assert store.next_item(project.id, "alice") is None  # A is leased to bob, B is done


# Multi-label -------------------------------------------------------------------------------------------


def test_multi_label_projects_store_label_lists_in_label_set_order(store):
    project = new_project(store, labels=("cat", "dog", "bird"), multi_label=True)
    assert project.multi_label
    store.add_items(project.id, ["A", "B", "C"])
    ids = ids_by_data(store, project.id)

    a = store.submit(project.id, ids["A"], "alice", ["bird", "cat"])
    b = store.submit(project.id, ids["B"], "alice", "dog|cat")
    c = store.submit(project.id, ids["C"], "alice", ("bird",))

    assert a.label == ("cat", "bird")
    assert b.label == ("cat", "dog")
    assert c.label == ("bird",)
    export = store.export(project.id).set_index("item_id")
    assert export.loc[ids["A"], "label"] == ("cat", "bird")
    assert export.loc[ids["A"], "label:alice"] == ("cat", "bird")
    assert export.loc[ids["B"], "label"] == ("cat", "dog")
    assert list(store.annotations(project.id)["label"]) == [("cat", "bird"), ("cat", "dog"), ("bird",)]
    csv = pd.read_csv(io.BytesIO(to_csv(store.export(project.id))), dtype=str)
    assert list(csv["label"]) == ["cat|bird", "cat|dog", "bird"]


def test_multi_label_undo_gives_back_the_label_list(store):
    project = new_project(store, labels=("cat", "dog"), multi_label=True)
    store.add_items(project.id, ["A"])
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", ["dog", "cat"])
    assert store.undo(project.id, "alice").my_label == ("cat", "dog")


# Adding items ------------------------------------------------------------------------------------------


def test_add_items_with_labels_loads_existing_labels(store):
    project = new_project(store)
    added = store.add_items(project.id, ["A", "B", "C", "D"], labels=["a", None, "b", float("nan")])

    assert added == 4
    progress = store.progress(project.id)
    assert (progress.total, progress.complete) == (4, 2)
    history = store.annotations(project.id)
    assert list(history["labeller"]) == ["import", "import"]
    assert list(history["label"]) == ["a", "b"]
    export = store.export(project.id)
    assert list(export["data"]) == ["A", "B", "C", "D"]
    assert [label_of(store, project.id, i) for i in export["item_id"]] == ["a", None, "b", None]
    assert [v if isinstance(v, str) else None for v in export["label:import"]] == ["a", None, "b", None]
    # Imported items are done: only the unlabelled ones are handed out.
    data = store.export(project.id).set_index("item_id")["data"]
    assert [data[i] for i in drain(store, project.id, "alice")] == ["B", "D"]


def test_add_items_labels_accept_numbers_for_numeric_label_sets(store):
    project = new_project(store, labels=("1", "2", "3"))
    store.add_items(project.id, ["x", "y", "z"], labels=np.array([1.0, 3.0, np.nan]))
    assert list(store.annotations(project.id)["label"]) == ["1", "3"]


def test_add_items_returns_counts_and_accumulates(store):
    project = new_project(store)
    assert store.add_items(project.id, ["A", "B"]) == 2
    assert store.add_items(project.id, ["C"]) == 1
    assert store.progress(project.id).total == 3


def test_add_items_from_a_dataframe(store):
    project = new_project(store)
    frame = pd.DataFrame(
        {
            "text": ["hello", "world", None],
            "n": [1, 2, 3],
            "score": [0.5, float("nan"), 1.5],
            "flag": [True, False, True],
        }
    )
    assert store.add_items(project.id, frame, labels=pd.Series(["a", None, "b"])) == 3
    export = store.export(project.id)
    assert list(export.columns[:4]) == ["text", "n", "score", "flag"]
    assert list(export["n"]) == [1, 2, 3]
    assert list(export["flag"]) == [True, False, True]
    assert export["score"].iloc[0] == 0.5 and math.isnan(export["score"].iloc[1])
    item = store.next_item(project.id, "alice")
    assert item.data["text"] == "world"
    assert item.data["n"] == 2
    assert math.isnan(item.data["score"])
    assert store.progress(project.id).complete == 2


def test_add_items_from_a_list_of_dicts(store):
    project = new_project(store)
    rows = [{"text": "x", "meta": {"k": [1, 2]}}, {"text": "y", "meta": {"k": []}}]
    assert store.add_items(project.id, rows) == 2
    assert [store.next_item(project.id, n).data for n in ("alice", "bob")] == rows
    assert list(store.export(project.id)["text"]) == ["x", "y"]


def test_add_items_from_a_list_of_strings(store):
    project = new_project(store)
    assert store.add_items(project.id, ["a text", "another"], labels=["b", None]) == 2
    assert store.next_item(project.id, "alice").data == "another"
    assert list(store.export(project.id)["data"]) == ["a text", "another"]


@pytest.mark.parametrize(
    "array",
    [
        np.array([[1.5, np.nan, 3.0], [np.nan, 5.0, 6.25], [7.0, 8.0, 9.0]], dtype=np.float32),
        np.array([[1.5, np.nan], [2.0, 3.0]], dtype=np.float64),
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.arange(16, dtype=np.int16).reshape(2, 2, 4),
        np.asfortranarray(np.arange(6, dtype=np.float64).reshape(3, 2)),
    ],
    ids=["float32-nan", "float64-nan", "int64", "int16-3d", "fortran"],
)
def test_add_items_from_a_2d_numpy_array_returns_exact_arrays(store, array):
    project = new_project(store)
    assert store.add_items(project.id, array) == array.shape[0]
    got = []
    for name in range(array.shape[0]):
        item = store.next_item(project.id, f"l{name}")
        got.append(item.data)
    for row, data in zip(array, got):
        assert isinstance(data, np.ndarray)
        assert data.dtype == array.dtype
        assert data.shape == row.shape
        np.testing.assert_array_equal(data, row)  # NaN positions must match too
    exported = store.export(project.id)["data"]
    for row, data in zip(array, exported):
        assert isinstance(data, np.ndarray) and data.dtype == array.dtype
        np.testing.assert_array_equal(data, row)


def test_add_items_from_a_1d_numpy_array(store):
    project = new_project(store)
    assert store.add_items(project.id, np.array(["x", "y"])) == 2
    assert list(store.export(project.id)["data"]) == ["x", "y"]


def test_add_items_from_a_pandas_series(store):
    project = new_project(store)
    series = pd.Series(["first", "second", "third"], index=[10, 20, 30], name="text")
    assert store.add_items(project.id, series, labels=["a", None, None]) == 3
    assert list(store.export(project.id)["data"]) == ["first", "second", "third"]
    assert store.next_item(project.id, "alice").data == "second"


def test_add_items_from_an_iterator_of_chunks(store):
    project = new_project(store)

    def chunks():
        yield pd.DataFrame({"text": ["a0", "a1"]})
        yield [{"text": "b0"}]
        yield (pd.DataFrame({"text": ["c0", "c1"]}), ["a", None])
        yield ([{"text": "d0"}, {"text": "d1"}], pd.Series(["b", "a"]))

    assert store.add_items(project.id, chunks()) == 7
    export = store.export(project.id)
    assert list(export["text"]) == ["a0", "a1", "b0", "c0", "c1", "d0", "d1"]
    labels = [label_of(store, project.id, i) for i in export["item_id"]]
    assert labels == [None, None, None, "a", None, "b", "a"]
    assert store.progress(project.id).complete == 3


def test_add_items_from_a_generator_of_numpy_chunks(store):
    project = new_project(store)
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(3, 2)), rng.normal(size=(2, 2))]
    assert store.add_items(project.id, iter(parts)) == 5
    exported = list(store.export(project.id)["data"])
    np.testing.assert_array_equal(np.stack(exported), np.concatenate(parts))


# Export and progress -----------------------------------------------------------------------------------


def test_export_has_one_row_per_item_with_data_label_and_per_labeller_columns(store):
    project = new_project(store, labels=("yes", "no"), overlap=2)
    rows = [{"text": f"t{i}", "n": i} for i in range(4)]
    store.add_items(project.id, rows)
    ids = item_ids(store, project.id)
    store.submit(project.id, ids[0], "alice", "yes")
    store.submit(project.id, ids[0], "bob", "yes")
    store.submit(project.id, ids[1], "alice", "no")

    export = store.export(project.id)

    assert len(export) == 4
    assert list(export["item_id"]) == ids
    assert list(export["text"]) == [r["text"] for r in rows]
    assert list(export["n"]) == [0, 1, 2, 3]
    assert {"label", "label:alice", "label:bob"} <= set(export.columns)
    frame = export.set_index("item_id")
    assert frame.loc[ids[0], "label"] == "yes"
    assert frame.loc[ids[0], "label:bob"] == "yes"
    assert frame.loc[ids[1], "label:alice"] == "no"
    assert pd.isna(frame.loc[ids[1], "label:bob"])
    assert pd.isna(frame.loc[ids[2], "label"])


def test_export_keeps_a_data_column_named_label_apart(store):
    project = new_project(store)
    store.add_items(project.id, [{"label": "original", "item_id": 99}])
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", "a")
    export = store.export(project.id)
    assert "original" in export.iloc[0].tolist()
    assert 99 in export.iloc[0].tolist()
    assert "a" in export.iloc[0].tolist()
    assert item.id in export.iloc[0].tolist()


def test_csv_export_neutralises_formula_cells(store):
    project = new_project(store, labels=("=cmd()", "ok"))
    texts = ["=1+2", "+SUM(A1)", "-2+3", "@HYPERLINK(x)", "plain"]
    store.add_items(project.id, [{"text": t} for t in texts])
    ids = item_ids(store, project.id)
    store.submit(project.id, ids[0], "alice", "=cmd()")
    store.submit(project.id, ids[4], "alice", "ok")

    raw = to_csv(store.export(project.id))

    assert isinstance(raw, bytes)
    csv = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    assert list(csv["text"]) == ["'=1+2", "'+SUM(A1)", "'-2+3", "'@HYPERLINK(x)", "plain"]
    assert csv["label"].iloc[0] == "'=cmd()"
    assert csv["label:alice"].iloc[4] == "ok"
    for line in raw.decode("utf-8").splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.strip('"').startswith(("=", "+", "-", "@")), line


def test_progress_counts(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B", "C", "D", "E"])
    assert store.progress(project.id).total == 5
    assert store.progress(project.id).complete == 0
    assert store.progress(project.id).in_progress == 0
    assert store.progress(project.id).per_labeller == {}

    _label_in_order(store, project.id, "alice", ["a", "b"])
    store.skip(project.id, store.next_item(project.id, "alice").id, "alice")  # C
    assert store.next_item(project.id, "bob").data == "C"
    assert store.next_item(project.id, "alice").data == "D"

    progress = store.progress(project.id)
    assert progress.total == 5
    assert progress.complete == 2
    assert progress.remaining == 3
    assert progress.in_progress == 2
    assert progress.annotations == 2
    alice = progress.per_labeller["alice"]
    assert (alice.labels, alice.skips) == (2, 1)
    assert alice.median_seconds is not None and alice.median_seconds >= 0
    assert set(progress.per_labeller) == {"alice"}  # bob holds C but has neither labelled nor skipped
    assert progress.fraction == pytest.approx(0.4)


def test_progress_counts_imports_as_complete_but_not_as_a_labellers_work(store):
    project = new_project(store)
    store.add_items(project.id, ["A", "B"], labels=["a", None])
    progress = store.progress(project.id)
    assert (progress.total, progress.complete, progress.in_progress) == (2, 1, 0)
    assert progress.annotations == 1


def test_projects_are_found_by_id_and_by_name(store):
    project = new_project(store, labels=("x", "y"), overlap=2, instructions="be kind")
    assert store.project(project.id) == project
    assert store.project(project.name) == project
    assert project.labels == ("x", "y")
    assert project.overlap == 2
    assert project.instructions == "be kind"
    assert project in store.projects()


@pytest.mark.parametrize("overlap", [1, 2])
def test_progress_without_per_labeller_figures_has_the_same_counts(store, overlap):
    project = store.create_project(f"bar-{overlap}", ["a", "b"], overlap=overlap)
    store.add_items(project.id, [f"t{i}" for i in range(6)])
    for name in ["ann", "bob"]:
        item = store.next_item(project.id, name)
        store.submit(project.id, item.id, name, "a")
    store.next_item(project.id, "cy")
    full = store.progress(project.id)
    bar = store.progress(project.id, per_labeller=False)
    assert (bar.total, bar.complete, bar.in_progress) == (full.total, full.complete, full.in_progress)
    assert (bar.annotations, bar.per_labeller) == (None, {})
    assert full.per_labeller["ann"].labels == 1 and full.per_labeller["ann"].median_seconds >= 0
