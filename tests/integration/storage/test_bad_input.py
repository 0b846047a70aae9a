"""Bad input: a clear error (type from labelling.errors, message naming the problem) and nothing written."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from _helpers import db_now, expire_leases, item_ids, new_project
from labelling.errors import (
    DuplicateProject,
    InvalidInput,
    ItemNotFound,
    LabellingError,
    LeaseLost,
    ProjectNotFound,
    UnsupportedData,
)
from labelling.io.ingest import CHUNK_ROWS


def snapshot(store, project_id):
    """Everything a failed call must leave as it was."""
    progress = store.progress(project_id)
    history = store.annotations(project_id)
    export = store.export(project_id)
    return {
        "total": progress.total,
        "complete": progress.complete,
        "in_progress": progress.in_progress,
        "annotations": progress.annotations,
        "per_labeller": progress.per_labeller,
        "history": history[["annotation_id", "item_id", "labeller", "current"]].to_dict("records"),
        "export_rows": len(export),
        "export_items": list(export["item_id"]) if "item_id" in export.columns else [],
        "export_columns": list(export.columns),
    }


def project_names(store):
    return [p.name for p in store.projects()]


def assert_error(raised, error_type, *words):
    """The exception is `error_type`, a LabellingError, and its message names each of `words`."""
    error = raised.value
    assert type(error) is error_type or isinstance(error, error_type), type(error)
    assert isinstance(error, LabellingError)
    message = str(error).lower()
    for word in words:
        assert str(word).lower() in message, f"{word!r} not in {str(error)!r}"


@pytest.fixture
def project(store):
    project = new_project(store, labels=("a", "b"))
    store.add_items(project.id, ["x", "y", "z"], labels=["a", None, None])
    return project


# Empty and mismatched data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        [],
        pd.DataFrame(),
        pd.DataFrame(columns=["text"]),
        np.empty((0, 3)),
        pd.Series([], dtype=object),
    ],
    ids=["list", "dataframe", "dataframe-with-columns", "ndarray", "series"],
)
def test_empty_data_is_refused(store, project, data):
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, data)
    assert_error(raised, InvalidInput, "empty")
    assert snapshot(store, project.id) == before


@pytest.mark.parametrize("make", [lambda: iter([]), lambda: (x for x in []), lambda: iter([[], pd.DataFrame()])])
def test_an_empty_iterator_is_refused(store, project, make):
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, make())
    assert_error(raised, InvalidInput, "empty")
    assert snapshot(store, project.id) == before


@pytest.mark.parametrize("labels", [["a", "b"], ["a", "b", None, "a"], []])
def test_labels_of_another_length_than_data_are_refused(store, project, labels):
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, ["p", "q", "r"], labels=labels)
    assert_error(raised, InvalidInput, "labels", str(len(labels)), "3")
    assert snapshot(store, project.id) == before


def test_mismatched_labels_inside_a_chunk_are_refused(store, project):
    before = snapshot(store, project.id)
    chunks = iter([(["p", "q"], ["a", "b"]), (["r", "s"], ["a"])])
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, chunks)
    assert_error(raised, InvalidInput, "labels")
    assert snapshot(store, project.id) == before


# Labels outside the label set -------------------------------------------------------------------------


def test_a_label_outside_the_label_set_on_add_items_is_refused(store, project):
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, ["p", "q", "r"], labels=["a", "zebra", None])
    assert_error(raised, InvalidInput, "zebra")
    assert snapshot(store, project.id) == before


def test_a_label_outside_the_label_set_on_submit_is_refused(store, project):
    item = store.next_item(project.id, "alice")
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.submit(project.id, item.id, "alice", "zebra")
    assert_error(raised, InvalidInput, "zebra")
    assert snapshot(store, project.id) == before
    # The lease is kept: the labeller can correct the label.
    assert store.next_item(project.id, "alice").id == item.id
    store.submit(project.id, item.id, "alice", "b")
    assert store.progress(project.id).complete == 2


@pytest.mark.parametrize("label", [None, ["a"], 3, ""])
def test_a_missing_or_malformed_label_on_submit_is_refused(store, project, label):
    item = store.next_item(project.id, "alice")
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput):
        store.submit(project.id, item.id, "alice", label)
    assert snapshot(store, project.id) == before


def test_an_unknown_label_in_a_multi_label_submit_is_refused(store):
    project = new_project(store, labels=("cat", "dog"), multi_label=True)
    store.add_items(project.id, ["x"])
    item = store.next_item(project.id, "alice")
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.submit(project.id, item.id, "alice", ["cat", "zebra"])
    assert_error(raised, InvalidInput, "zebra")
    assert snapshot(store, project.id) == before


def test_a_multi_label_project_refuses_a_label_with_the_csv_separator_on_every_way_in(store):
    with pytest.raises(InvalidInput, match=r"has a \| in it"):
        new_project(store, labels=("a", "a|b"), multi_label=True)
    assert store.projects() == []
    project = new_project(store, labels=("a", "b"), multi_label=True)
    with pytest.raises(InvalidInput, match=r"has a \| in it"):
        store.update_project(project.id, labels=["a", "b", "a|b"])
    with pytest.raises(InvalidInput, match=r"has a \| in it"):
        store.manage.rename_label(project.id, "b", "b|c", "admin")
    assert store.project(project.id).labels == ("a", "b")
    assert new_project(store, labels=("a", "a|b")).labels == ("a", "a|b")  # one label a cell: no separator


def test_a_bad_label_in_the_last_chunk_of_a_big_add_writes_nothing(store, project):
    n = CHUNK_ROWS + 5
    assert n > 10_000
    labels = ["a" if i % 3 == 0 else None for i in range(n)]
    labels[-1] = "zebra"
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, [f"row{i}" for i in range(n)], labels=labels)
    assert_error(raised, InvalidInput, "zebra")
    assert snapshot(store, project.id) == before
    # And the store still works afterwards.
    assert store.add_items(project.id, ["after"]) == 1
    assert store.progress(project.id).total == before["total"] + 1


def test_a_bad_label_in_the_last_chunk_of_an_iterator_writes_nothing(store, project):
    rng = np.random.default_rng(7)

    def chunks():
        for size in (6_000, 5_000):
            frame = pd.DataFrame({"text": [f"t{i}" for i in range(size)], "v": rng.normal(size=size)})
            yield frame, rng.choice(["a", "b"], size=size).tolist()
        yield pd.DataFrame({"text": ["last0", "last1"], "v": [0.0, 1.0]}), ["a", "zebra"]

    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.add_items(project.id, chunks())
    assert_error(raised, InvalidInput, "zebra")
    assert snapshot(store, project.id) == before


def test_a_failed_write_is_reported_before_a_refused_later_chunk(store, project, monkeypatch):
    """Each chunk is written by a thread while the next is read: the failed write is the error raised (it came
    first), not the refusal of the chunk read meanwhile, and nothing is written."""
    from labelling.storage import items as item_rows

    def failing_write(*args):
        raise RuntimeError("the write failed")

    def chunks():
        yield ["first"]
        yield [object()]

    monkeypatch.setattr(item_rows, "write_chunk", failing_write)
    before = snapshot(store, project.id)
    with pytest.raises(RuntimeError, match="the write failed"):
        store.add_items(project.id, chunks())
    assert snapshot(store, project.id) == before


def test_unsupported_data_after_10000_rows_writes_nothing(store, project):
    data = [f"row{i}" for i in range(CHUNK_ROWS + 3)] + [object()]
    before = snapshot(store, project.id)
    with pytest.raises(UnsupportedData) as raised:
        store.add_items(project.id, data)
    assert_error(raised, UnsupportedData, "object")
    assert snapshot(store, project.id) == before


# Label sets and projects ------------------------------------------------------------------------------


def test_an_empty_label_set_is_refused(store):
    before = project_names(store)
    with pytest.raises(InvalidInput) as raised:
        store.create_project("no labels", [])
    assert_error(raised, InvalidInput, "empty")
    assert project_names(store) == before


@pytest.mark.parametrize("labels", [["a", "b", "a"], ["1", 1], ["3", 3.0, "x"]])
def test_a_duplicated_label_set_is_refused(store, labels):
    before = project_names(store)
    with pytest.raises(InvalidInput) as raised:
        store.create_project("dupes", labels)
    assert_error(raised, InvalidInput, "duplicate")
    assert project_names(store) == before


@pytest.mark.parametrize("labels", [["a", ""], ["a", "   "], "ab"])
def test_blank_labels_or_one_string_are_refused(store, labels):
    before = project_names(store)
    with pytest.raises(InvalidInput):
        store.create_project("blank", labels)
    assert project_names(store) == before


def test_a_duplicate_project_name_is_refused(store):
    first = store.create_project("sentiment", ["pos", "neg"])
    with pytest.raises(DuplicateProject) as raised:
        store.create_project("sentiment", ["x", "y"])
    assert_error(raised, DuplicateProject, "sentiment")
    with pytest.raises(DuplicateProject):
        store.create_project("  sentiment ", ["x", "y"])
    assert store.projects() == [first]
    assert store.project("sentiment").labels == ("pos", "neg")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_blank_project_name_is_refused(store, name):
    with pytest.raises(InvalidInput) as raised:
        store.create_project(name, ["a", "b"])
    assert_error(raised, InvalidInput, "name")
    assert store.projects() == []


@pytest.mark.parametrize("overlap", [0, -1])
def test_overlap_below_one_is_refused(store, overlap):
    with pytest.raises(InvalidInput) as raised:
        store.create_project("overlap", ["a", "b"], overlap=overlap)
    assert_error(raised, InvalidInput, "overlap")
    assert store.projects() == []


# Leases -----------------------------------------------------------------------------------------------


def test_submitting_an_item_another_labeller_took_after_expiry_raises_lease_lost(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    mine = store.next_item(project.id, "alice")
    expire_leases(store, mine.id)
    assert store.next_item(project.id, "bob").id == mine.id
    before = snapshot(store, project.id)

    with pytest.raises(LeaseLost) as raised:
        store.submit(project.id, mine.id, "alice", "a")

    assert_error(raised, LeaseLost, "lease", str(mine.id))
    assert snapshot(store, project.id) == before
    assert store.annotations(project.id).empty


def test_skipping_an_item_another_labeller_holds_does_not_take_it_from_them(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    mine = store.next_item(project.id, "alice")
    expire_leases(store, mine.id)
    theirs = store.next_item(project.id, "bob")
    try:
        store.skip(project.id, mine.id, "alice")
    except LeaseLost:
        pass
    assert store.next_item(project.id, "bob").id == theirs.id
    assert store.next_item(project.id, "carol") is None


@pytest.mark.parametrize("lease_seconds", [0, -1, -0.5, float("nan"), float("inf")])
def test_non_positive_or_non_finite_lease_seconds_are_refused(store, project, lease_seconds):
    before = snapshot(store, project.id)
    with pytest.raises(InvalidInput) as raised:
        store.next_item(project.id, "alice", lease_seconds=lease_seconds)
    assert_error(raised, InvalidInput, "lease_seconds")
    with pytest.raises(InvalidInput) as raised:
        store.undo(project.id, "alice", lease_seconds=lease_seconds)
    assert_error(raised, InvalidInput, "lease_seconds")
    assert snapshot(store, project.id) == before


# Unknown projects and items ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [999_999, "no such project"])
def test_an_unknown_project_raises_project_not_found(store, project, missing):
    before_projects = store.projects()
    before = snapshot(store, project.id)
    calls = {
        "project": lambda: store.project(missing),
        "add_items": lambda: store.add_items(missing, ["x"]),
        "add_items with labels": lambda: store.add_items(missing, ["x"], labels=["a"]),
        "next_item": lambda: store.next_item(missing, "alice"),
        "submit": lambda: store.submit(missing, 1, "alice", "a"),
        "skip": lambda: store.skip(missing, 1, "alice"),
        "undo": lambda: store.undo(missing, "alice"),
        "set_priorities": lambda: store.set_priorities(missing, [1], [1.0]),
        "progress": lambda: store.progress(missing),
        "annotations": lambda: store.annotations(missing),
        "export": lambda: store.export(missing),
    }
    for name, call in calls.items():
        with pytest.raises(ProjectNotFound) as raised:
            call()
        assert str(missing) in str(raised.value), (name, str(raised.value))
    assert store.projects() == before_projects
    assert snapshot(store, project.id) == before


def test_unknown_item_on_submit_raises_item_not_found(store, project):
    before = snapshot(store, project.id)
    with pytest.raises(ItemNotFound) as raised:
        store.submit(project.id, 987_654, "alice", "a")
    assert_error(raised, ItemNotFound, "987654")
    assert snapshot(store, project.id) == before


def test_unknown_item_on_skip_raises_item_not_found(store, project):
    before = snapshot(store, project.id)
    with pytest.raises(ItemNotFound) as raised:
        store.skip(project.id, 987_654, "alice")
    assert_error(raised, ItemNotFound, "987654")
    assert snapshot(store, project.id) == before


def test_an_item_of_another_project_is_not_found(store, project):
    other = new_project(store)
    store.add_items(other.id, ["elsewhere"])
    foreign = item_ids(store, other.id)[0]
    before, before_other = snapshot(store, project.id), snapshot(store, other.id)
    with pytest.raises(ItemNotFound):
        store.submit(project.id, foreign, "alice", "a")
    with pytest.raises(ItemNotFound):
        store.skip(project.id, foreign, "alice")
    assert snapshot(store, project.id) == before
    assert snapshot(store, other.id) == before_other


# set_priorities --------------------------------------------------------------------------------------


def _order(store, project_id):
    """The hand-out order, read without disturbing the queue: claims by fresh labellers, then released."""
    order = []
    for i in range(store.progress(project_id).total):
        item = store.next_item(project_id, f"probe{i}")
        if item is None:
            break
        order.append(item.id)
    for i, item_id in enumerate(order):
        store.skip(project_id, item_id, f"probe{i}")
    return order


@pytest.fixture
def ranked(store):
    project = new_project(store)
    store.add_items(project.id, [f"item{i}" for i in range(4)])
    ids = item_ids(store, project.id)
    store.set_priorities(project.id, ids, [1.0, 4.0, 2.0, 3.0])
    return project, ids


def _priority_order(store, project_id):
    from sqlalchemy import select

    from labelling.storage.engine import read
    from labelling.storage.schema import tasks

    with read(store.engine) as connection:
        rows = connection.execute(
            select(tasks.c.item_id, tasks.c.priority).where(tasks.c.project_id == project_id).order_by(tasks.c.id)
        ).all()
    return [(int(i), float(p)) for i, p in rows]


def test_set_priorities_with_an_unknown_item_raises_and_changes_nothing(store, ranked):
    project, ids = ranked
    before = _priority_order(store, project.id)
    with pytest.raises(ItemNotFound) as raised:
        store.set_priorities(project.id, [ids[0], 424_242], [100.0, 50.0])
    assert_error(raised, ItemNotFound, "424242")
    assert _priority_order(store, project.id) == before
    # The store is still usable (no leftover staging state on the connection).
    assert store.set_priorities(project.id, ids, [4.0, 3.0, 2.0, 1.0]) == 4
    first = store.next_item(project.id, "alice")
    assert first.id == ids[0]


def test_set_priorities_with_an_item_of_another_project_raises(store, ranked):
    project, ids = ranked
    other = new_project(store)
    store.add_items(other.id, ["elsewhere"])
    before = _priority_order(store, project.id)
    with pytest.raises(ItemNotFound):
        store.set_priorities(project.id, item_ids(store, other.id), [9.0])
    assert _priority_order(store, project.id) == before


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda ids: (ids, [1.0, 2.0]), ["2", "4"]),
        (lambda ids: (ids[:2], [1.0, 2.0, 3.0]), ["3", "2"]),
        (lambda ids: (ids, [1.0, float("nan"), 2.0, 3.0]), ["nan"]),
        (lambda ids: (ids, [1.0, float("inf"), 2.0, 3.0]), ["finite"]),
        (lambda ids: ([ids[0], ids[0], ids[1], ids[2]], [1.0, 2.0, 3.0, 4.0]), ["more than once"]),
    ],
    ids=["fewer-scores", "more-scores", "nan", "inf", "duplicate-ids"],
)
def test_set_priorities_refuses_bad_arguments_and_changes_nothing(store, ranked, make, words):
    project, ids = ranked
    before = _priority_order(store, project.id)
    item_ids_arg, scores = make(ids)
    with pytest.raises(InvalidInput) as raised:
        store.set_priorities(project.id, item_ids_arg, scores)
    assert_error(raised, InvalidInput, *words)
    assert _priority_order(store, project.id) == before


def test_set_priorities_with_unchanged_queue_gives_the_same_order(store, ranked):
    project, ids = ranked
    assert _order(store, project.id) == [ids[1], ids[3], ids[2], ids[0]]


# Unsupported data -------------------------------------------------------------------------------------


class Custom:
    pass


@pytest.mark.parametrize(
    "data, words",
    [
        ([object(), object()], ["object"]),
        ([{"x": Custom()}], ["custom"]),
        (["fine", {1, 2}], ["set"]),
        ("one single string", ["string"]),
        (b"some bytes", []),
        ({"a": 1}, ["dict"]),
        ({"a", "b"}, ["set"]),
        ({1, 2, 3}, ["set"]),
        (frozenset({"a"}), ["set"]),
        (42, ["int"]),
        (np.float64(1.5), []),
    ],
    ids=[
        "objects",
        "custom-in-dict",
        "set-in-list",
        "str",
        "bytes",
        "dict",
        "set-of-str",
        "set-of-int",
        "frozenset",
        "int",
        "numpy-scalar",
    ],
)
def test_unsupported_data_is_refused(store, project, data, words):
    before = snapshot(store, project.id)
    with pytest.raises(UnsupportedData) as raised:
        store.add_items(project.id, data)
    assert_error(raised, UnsupportedData, *words)
    assert snapshot(store, project.id) == before


# Labellers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 201])
def test_a_blank_or_too_long_labeller_name_is_refused(store, project, name):
    item_id = item_ids(store, project.id)[1]
    before = snapshot(store, project.id)
    calls = [
        lambda: store.next_item(project.id, name),
        lambda: store.submit(project.id, item_id, name, "a"),
        lambda: store.skip(project.id, item_id, name),
        lambda: store.undo(project.id, name),
        lambda: store.add_items(project.id, ["new"], labels=["a"], labeller=name),
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as raised:
            call()
        assert "name" in str(raised.value).lower()
    assert snapshot(store, project.id) == before
    assert math.isfinite(db_now(store))


def test_a_labeller_whose_first_call_failed_can_still_label(store, project):
    """A refused call rolls back everything, including a labeller it created; nothing of it may linger."""
    with pytest.raises(ItemNotFound):
        store.submit(project.id, 987_654, "newcomer", "a")
    with pytest.raises(ItemNotFound):
        store.skip(project.id, 987_654, "newcomer")
    item = store.next_item(project.id, "newcomer")
    annotation = store.submit(project.id, item.id, "newcomer", "b")
    assert annotation.labeller == "newcomer"
    assert annotation.label == "b"
    current = store.annotations(project.id)
    assert list(current[current["labeller"] == "newcomer"]["item_id"]) == [item.id]
    assert store.progress(project.id).per_labeller["newcomer"].labels == 1


def test_a_bad_label_in_a_later_chunk_is_named_by_its_row_in_the_whole_input(store):
    project = store.create_project("rows", ["a", "b"])
    chunks = iter([(["x1", "x2"], ["a", "b"]), (["x3", "x4", "x5", "x6"], ["a", "b", "a", "zzz"])])
    with pytest.raises(InvalidInput, match="row 6"):
        store.add_items(project.id, chunks)
    assert store.progress(project.id).total == 0
