"""A labeller's recent items and reopening one, search over items, and accepting the majority in bulk, through
the Store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from _helpers import current_annotations, ids_by_data, new_project
from sqlalchemy import select

from labelling import InvalidInput, ItemNotFound, NotOnProject, ProjectArchived
from labelling.errors import NotAReviewer
from labelling.storage.engine import read
from labelling.storage.schema import reviews

LEASE = 600


def test_my_history_lists_my_latest_labels_and_reopens_any_of_them(store):
    project = new_project(store)
    store.add_items(project.id, [f"item-{i}" for i in range(6)])
    ids = ids_by_data(store, project.id)
    order = []
    for _ in range(4):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", "a")
        order.append(item.id)
    other = store.next_item(project.id, "bob")
    store.submit(project.id, other.id, "bob", "b")

    recent = store.history.recent(project.id, "alice", limit=3)
    assert [h.item_id for h in recent] == order[::-1][:3]
    assert recent[0].label == "a" and recent[0].data in ids

    held = store.next_item(project.id, "alice")  # I hold a fresh item while reopening an old one
    reopened = store.history.reopen(project.id, "alice", order[0], LEASE)
    assert (reopened.id, reopened.my_label) == (order[0], "a")
    assert store.next_item(project.id, "alice").id == order[0]  # the page shows it until I choose
    store.submit(project.id, order[0], "alice", "b")
    assert store.history.recent(project.id, "alice", limit=1)[0].label == "b"
    assert store.next_item(project.id, "alice").id == held.id  # the item I let go comes back to me first
    labels = current_annotations(store, project.id)
    assert len(labels[labels["labeller"] == "alice"]) == 4  # a re-label replaces, never adds

    with pytest.raises(ItemNotFound, match="no current label"):
        store.history.reopen(project.id, "alice", other.id, LEASE)  # bob's item
    assert store.next_item(project.id, "alice").id == held.id  # the refusal changed nothing


def test_search_by_text_or_column_value(store):
    project = new_project(store, ("pos", "neg"))
    rows = [
        {"text": "The kettle boils fast", "brand": "Acme"},
        {"text": "Café au lait", "brand": "Zeta"},
        {"text": "text only, brand acme", "brand": "Other"},
        {"text": "100% wrong", "brand": "Acme_2"},
    ]
    store.add_items(project.id, rows)
    store.submit(project.id, store.export(project.id)["item_id"].iloc[0].item(), "alice", "pos")

    def found(text, column=None, limit=20):
        hits, more = store.curation.search(project.id, text, column, limit)
        return [h.data["text"] for h in hits], more

    assert found("KETTLE") == (["The kettle boils fast"], False)
    assert found("acme") == (["The kettle boils fast", "text only, brand acme", "100% wrong"], False)
    assert found("acme", "brand") == (["The kettle boils fast", "100% wrong"], False)
    assert found("café") == (["Café au lait"], False)
    assert found("100%") == (["100% wrong"], False)  # a LIKE wildcard is a plain character here
    assert found("_") == (["100% wrong"], False)
    assert found("text") == (["text only, brand acme"], False)  # the column name itself is not a hit
    assert found("acme", limit=1) == (["The kettle boils fast"], True)
    first, _ = store.curation.search(project.id, "kettle")
    assert first[0].votes == {"alice": "pos"} and first[0].final.label == "pos"
    with pytest.raises(InvalidInput, match="type something"):
        store.curation.search(project.id, "  ")


def test_accept_the_majority_in_bulk_above_a_threshold(store):
    store.people.add("rita", "reviewer")
    project = new_project(store, ("a", "b"), overlap=3)
    votes = {
        "unanimous": {"u1": "a", "u2": "a", "u3": "a"},
        "two-thirds": {"u1": "b", "u2": "b", "u3": "a"},
        "tie": {"u1": "a", "u2": "b"},
        "alone": {"u1": "a"},
        "reviewed": {"u1": "a", "u2": "a", "u3": "a"},
    }
    store.add_items(project.id, list(votes))
    ids = ids_by_data(store, project.id)
    for data, by in votes.items():
        for name, label in by.items():
            store.submit(project.id, ids[data], name, label)
    store.adjudicate(project.id, ids["reviewed"], "rita", "b")

    assert store.curation.majority_to_accept(project.id, 0.9) == 1
    assert store.curation.majority_to_accept(project.id, 0.6) == 2
    assert store.curation.majority_to_accept(project.id, 0.5, min_labels=1) == 3
    assert store.curation.accept_majority(project.id, "rita", 0.6) == 2
    finals = store.final_labels(project.id).set_index("item_id")
    assert finals.loc[ids["unanimous"], ["label", "source", "reviewer"]].tolist() == ["a", "review", "rita"]
    assert finals.loc[ids["two-thirds"], ["label", "source"]].tolist() == ["b", "review"]
    assert finals.loc[ids["reviewed"], "label"] == "b"  # a reviewer's label is never overwritten
    assert finals.loc[ids["tie"], "source"] == "tie" and finals.loc[ids["alone"], "source"] == "majority"
    with read(store.engine) as connection:
        assert connection.execute(select(reviews.c.action).where(reviews.c.is_current)).scalars().all() == [
            "adjudicate"
        ] * 3
    assert store.curation.accept_majority(project.id, "rita", 0.6) == 0  # done once
    with pytest.raises(NotAReviewer):
        store.curation.accept_majority(project.id, "u1", 0.5)
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        store.curation.accept_majority(project.id, "rita", 80)


def test_reopen_is_a_queue_call_of_its_project(store):
    """An item of another project is not found; an archived project, or one I am not on, refuses first."""
    project, other = new_project(store), new_project(store)
    for p in (project, other):
        store.add_items(p.id, [f"{p.name}-item"])
    item = store.next_item(other.id, "alice")
    store.submit(other.id, item.id, "alice", "a")
    with pytest.raises(ItemNotFound):
        store.history.reopen(project.id, "alice", item.id, LEASE)
    store.people.add("bob", "labeller")
    store.access.set_members(other.id, ["bob"])
    with pytest.raises(NotOnProject):
        store.history.reopen(other.id, "alice", item.id, LEASE)
    store.access.set_members(other.id, [])
    store.manage.archive(other.id)
    with pytest.raises(ProjectArchived):
        store.history.reopen(other.id, "alice", item.id, LEASE)


def test_bulk_accept_of_a_box_project_reads_agreement_as_the_review_list_does(store):
    """Two labellers who drew disjoint boxes agree 0, not 0.5 (two different values): nothing is accepted at
    50%; the same boxes from both are accepted."""
    project = new_project(store, ("cat",), overlap=2, task="boxes", settings={"display": "image"})
    store.add_items(project.id, ["data:image/png;base64," + _PNG_4x4, "data:image/png;base64," + _PNG_4x4])
    same, apart = store.export(project.id)["item_id"].tolist()
    box = {"width": 4, "height": 4, "boxes": [{"x": 0, "y": 0, "w": 1, "h": 1, "label": "cat"}]}
    far = {"width": 4, "height": 4, "boxes": [{"x": 2, "y": 2, "w": 2, "h": 2, "label": "cat"}]}
    for name, drawn in (("alice", {same: box, apart: box}), ("bob", {same: box, apart: far})):
        for item_id, value in drawn.items():
            store.submit(project.id, item_id, name, value)
    store.people.add("rita", "reviewer")
    assert store.curation.majority_to_accept(project.id, 0.5) == 1
    assert store.curation.accept_majority(project.id, "rita", 0.5) == 1
    assert store.final_labels(project.id).set_index("item_id").loc[same, "source"] == "review"


_PNG_4x4 = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAADElEQVR4nGNgIB0AAAA0AAF2Xq7DAAAAAElFTkSuQmCC"
