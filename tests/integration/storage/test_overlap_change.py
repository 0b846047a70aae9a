"""Labellers per item (overlap) changed mid-project, on SQLite and PostgreSQL: nobody's stream breaks."""

from __future__ import annotations

import pytest

from labelling import InvalidInput, ProjectNotFound
from _helpers import drain, ids_by_data, item_ids, new_project


def tasks_per_item(store, project_id) -> dict[int, int]:
    from sqlalchemy import func, select

    from labelling.storage.engine import read
    from labelling.storage.schema import tasks

    with read(store.engine) as connection:
        rows = connection.execute(
            select(tasks.c.item_id, func.count()).where(tasks.c.project_id == project_id).group_by(tasks.c.item_id)
        ).all()
    return dict(rows)


def test_raising_the_overlap_reopens_complete_items_for_new_labellers_only(store):
    project = new_project(store)
    store.add_items(project.id, ["w", "x", "y", "z"])
    assert len(drain(store, project.id, "alice")) == 4
    assert store.progress(project.id).complete == 4

    assert store.set_overlap(project.id, 2).overlap == 2
    assert store.project(project.id).overlap == 2
    assert store.progress(project.id).complete == 0
    assert store.next_item(project.id, "alice") is None  # she labelled them all already
    assert sorted(drain(store, project.id, "bob", label="b")) == item_ids(store, project.id)
    assert store.progress(project.id).complete == 4
    export = store.export(project.id)
    assert list(export["n_labels"]) == [2] * 4
    assert list(export["tie"]) == [True] * 4


def test_raising_the_overlap_puts_partly_labelled_items_first(store):
    project = new_project(store)
    store.add_items(project.id, ["w", "x", "y", "z"])
    first = drain_some(store, project.id, "alice", 2)
    store.set_overlap(project.id, 2)
    assert sorted(drain_some(store, project.id, "bob", 2)) == sorted(first)


def test_raising_the_overlap_leaves_a_held_item_with_its_labeller(store):
    project = new_project(store)
    store.add_items(project.id, ["x", "y"])
    held = store.next_item(project.id, "alice")
    store.set_overlap(project.id, 3)
    assert store.next_item(project.id, "alice").id == held.id  # the same lease, not a new item
    store.submit(project.id, held.id, "alice", "a")
    assert tasks_per_item(store, project.id) == {i: 3 for i in item_ids(store, project.id)}
    assert len(drain(store, project.id, "bob")) == 2
    assert len(drain(store, project.id, "carol")) == 2
    assert store.progress(project.id).complete == 1  # the other item still waits for its third label
    assert len(drain(store, project.id, "alice")) == 1
    assert store.progress(project.id).complete == 2


def test_lowering_the_overlap_removes_only_open_tasks_nobody_holds(store):
    project = new_project(store, overlap=3)
    store.add_items(project.id, ["x", "y"])
    ids = ids_by_data(store, project.id)
    store.submit(project.id, ids["x"], "alice", "a")  # x: one label, two open tasks
    assert store.next_item(project.id, "bob").id == ids["x"]  # partly labelled first: bob holds x now

    store.set_overlap(project.id, 1)
    assert tasks_per_item(store, project.id) == {ids["x"]: 2, ids["y"]: 1}  # bob's task stays
    assert store.progress(project.id).complete == 0
    store.submit(project.id, ids["x"], "bob", "b")  # his lease was untouched: his label counts
    assert store.progress(project.id).complete == 1
    assert drain(store, project.id, "carol") == [ids["y"]]
    assert store.progress(project.id).complete == 2
    assert store.next_item(project.id, "dave") is None


def test_lowering_the_overlap_completes_items_that_have_enough_labels(store):
    project = new_project(store, overlap=2)
    store.add_items(project.id, ["x", "y", "z"])
    drain(store, project.id, "alice")
    assert store.progress(project.id).complete == 0
    store.set_overlap(project.id, 1)
    assert store.progress(project.id).complete == 3
    assert store.next_item(project.id, "bob") is None
    assert list(store.export(project.id)["label"]) == ["a"] * 3


def test_lowering_then_raising_again(store):
    project = new_project(store, overlap=3)
    store.add_items(project.id, ["x", "y"])
    store.set_overlap(project.id, 1)
    assert tasks_per_item(store, project.id) == {i: 1 for i in item_ids(store, project.id)}
    store.set_overlap(project.id, 2)
    assert tasks_per_item(store, project.id) == {i: 2 for i in item_ids(store, project.id)}
    for name in ("alice", "bob"):
        assert len(drain(store, project.id, name)) == 2
    assert store.next_item(project.id, "carol") is None


def test_items_added_after_a_change_get_the_new_overlap(store):
    project = new_project(store)
    store.add_items(project.id, ["x"])
    store.set_overlap(project.id, 2)
    store.add_items(project.id, ["y"])
    assert set(tasks_per_item(store, project.id).values()) == {2}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None, 101])
def test_a_bad_overlap_is_refused_and_nothing_changes(store, bad):
    project = new_project(store, overlap=2)
    store.add_items(project.id, ["x"])
    with pytest.raises(InvalidInput, match="labellers per item"):
        store.set_overlap(project.id, bad)
    assert store.project(project.id).overlap == 2
    assert set(tasks_per_item(store, project.id).values()) == {2}


def test_overlap_of_an_unknown_project(store):
    with pytest.raises(ProjectNotFound):
        store.set_overlap(999, 2)


def drain_some(store, project_id, labeller, n):
    order = []
    for _ in range(n):
        item = store.next_item(project_id, labeller)
        order.append(item.id)
        store.submit(project_id, item.id, labeller, "a")
    return order
