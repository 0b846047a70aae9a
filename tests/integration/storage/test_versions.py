"""Label versions through the Store, on SQLite and PostgreSQL: saving freezes the final labels, a diff after
relabelling names exactly the changed items, a version's export keeps its bytes however the labels move on,
and saving writes rows only for the items that changed."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from _helpers import ids_by_data, new_project
from sqlalchemy import func, select

from labelling import InvalidInput
from labelling.errors import NotAReviewer
from labelling.io.export import to_csv, to_jsonl, to_parquet
from labelling.storage.engine import read
from labelling.storage.schema import version_labels


def labelled(store, votes: dict[str, dict[str, object]], labels=("a", "b", "c"), overlap=1, **options):
    """A project whose string items carry the given labels ({item: {labeller: label}}), and its ids."""
    project = new_project(store, labels, overlap=overlap, **options)
    store.add_items(project.id, list(votes) + ["unlabelled"])
    ids = ids_by_data(store, project.id)
    for data, by_labeller in votes.items():
        for name, label in by_labeller.items():
            store.submit(project.id, ids[data], name, label)
    return project, ids


def values(column: pd.Series) -> list:
    """A column's cells with missing ones as None (pandas reads a text column's None as NaN)."""
    return [None if not isinstance(v, (list, tuple)) and pd.isna(v) else v for v in column]


def version_rows(store) -> int:
    with read(store.engine) as connection:
        return connection.execute(select(func.count()).select_from(version_labels)).scalar_one()


@pytest.fixture
def rita(store):
    store.people.add("rita", "reviewer")
    return "rita"


def test_a_diff_after_relabelling_names_exactly_the_changed_items(store, rita):
    items = {f"item-{i}": {"alice": "abc"[i % 3]} for i in range(12)}
    project, ids = labelled(store, items)
    friday = store.versions.save(project.id, "Friday", rita)
    assert (friday.name, friday.created_by, friday.n_items) == ("Friday", "rita", 12)
    assert store.versions.all(project.id)[0] == friday and isinstance(friday.created_at, float)

    store.adjudicate(project.id, ids["item-0"], rita, "b")  # a -> b
    store.adjudicate(project.id, ids["item-4"], rita, "b")  # b -> b: reviewed, label unchanged
    store.send_back(project.id, ids["item-5"], rita)  # c -> no label
    store.submit(project.id, ids["unlabelled"], "bob", "c")  # new
    monday = store.versions.save(project.id, "Monday", rita)

    diff = store.versions.diff(project.id, friday.id, monday.id)
    assert (diff.old, diff.new) == ("Friday", "Monday")
    assert diff.changed == {ids["item-0"]: ("a", "b")}
    assert diff.added == {ids["unlabelled"]: "c"}
    assert diff.removed == {ids["item-5"]: "c"}
    counts = diff.counts.set_index("label")
    assert counts.loc["a"].tolist() == [4, 3, -1]
    assert counts.loc["b"].tolist() == [4, 5, 1]
    assert counts.loc["c"].tolist() == [4, 4, 0]
    assert [v.name for v in store.versions.all(project.id)] == ["Friday", "Monday"]

    # Against the labels as they stand now; and a version against itself changes nothing.
    store.adjudicate(project.id, ids["item-1"], rita, "c")
    now = store.versions.diff(project.id, monday.id, None)
    assert now.new == "current labels" and now.changed == {ids["item-1"]: ("b", "c")}
    same = store.versions.diff(project.id, friday.id, friday.id)
    assert not (same.changed or same.added or same.removed)


def test_a_versions_export_is_byte_identical_before_and_after_later_labels(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}, "y": {"alice": "b"}}, overlap=2)
    version = store.versions.save(project.id, "v1", rita)
    frame = store.versions.export(project.id, version.id)
    before = [convert(frame) for convert in (to_csv, to_jsonl, to_parquet)]
    assert frame["item_id"].tolist() == [ids["x"], ids["y"]]  # the labelled items only
    assert values(frame["label"]) == [None, "b"] and frame["tie"].tolist() == [True, False]
    assert frame["n_labels"].tolist() == [2, 1]

    store.adjudicate(project.id, ids["x"], rita, "a")
    store.submit(project.id, ids["y"], "bob", "c")
    store.submit(project.id, ids["unlabelled"], "alice", "c")
    store.versions.save(project.id, "v2", rita)
    after = [convert(store.versions.export(project.id, version.id)) for convert in (to_csv, to_jsonl, to_parquet)]
    assert after == before
    newer = store.versions.all(project.id)[1].id
    assert values(store.versions.export(project.id, newer)["label"]) == ["a", None, "c"]  # y: a tie now


def test_saving_writes_only_the_items_that_changed(store, rita):
    project, ids = labelled(store, {f"item-{i}": {"alice": "a"} for i in range(50)})
    store.versions.save(project.id, "first", rita)
    assert version_rows(store) == 50
    store.versions.save(project.id, "unchanged", rita)
    assert version_rows(store) == 50
    store.adjudicate(project.id, ids["item-7"], rita, "b")
    store.versions.save(project.id, "one changed", rita)
    assert version_rows(store) == 51
    _, unchanged, changed = store.versions.all(project.id)
    assert store.versions.final_labels(project.id, unchanged.id)["label"].tolist() == ["a"] * 50
    assert store.versions.final_labels(project.id, changed.id)["label"].value_counts().to_dict() == {"a": 49, "b": 1}


def test_multi_label_versions_and_parquet_load_as_lists(store, rita):
    project, ids = labelled(store, {"x": {"alice": ["a", "c"]}, "y": {"alice": []}}, multi_label=True)
    version = store.versions.save(project.id, "v1", rita)
    store.adjudicate(project.id, ids["x"], rita, ["a"])
    diff = store.versions.diff(project.id, version.id, None)
    assert diff.changed == {ids["x"]: (("a", "c"), ("a",))}
    assert diff.counts.set_index("label")["change"].to_dict() == {"a": 0, "b": 0, "c": -1}
    loaded = pd.read_parquet(io.BytesIO(to_parquet(store.versions.export(project.id, version.id))))
    assert [list(v) for v in loaded["label"]] == [["a", "c"], []]


def test_versions_refuse_what_they_cannot_keep(store, rita):
    project, _ = labelled(store, {"x": {"alice": "a"}})
    store.versions.save(project.id, "v1", rita)
    with pytest.raises(InvalidInput, match="already has a version named 'v1'"):
        store.versions.save(project.id, " v1 ", rita)
    with pytest.raises(InvalidInput, match="non-empty name"):
        store.versions.save(project.id, "  ", rita)
    with pytest.raises(NotAReviewer):
        store.versions.save(project.id, "v2", "alice")
    with pytest.raises(InvalidInput, match="no saved version 999"):
        store.versions.export(project.id, 999)
    other = new_project(store)
    with pytest.raises(InvalidInput, match="no saved version"):  # another project's version
        store.versions.diff(other.id, store.versions.all(project.id)[0].id, None)
    assert [v.name for v in store.versions.all(project.id)] == ["v1"]
