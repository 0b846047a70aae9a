"""Item problems (labelling.storage.problems): reports and unreadable items, and how reviewers resolve them."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelling import InvalidInput, ItemNotFound, NotAReviewer


@pytest.fixture
def photos(store):
    project = store.create_project("photos", ["cat", "dog"], settings={"display": "image", "image_column": "image"})
    store.add_items(project.id, [{"image": f"/media/{i}.png"} for i in range(3)])
    store.people.add("rita", "reviewer")
    return project, store.export(project.id)["item_id"].tolist()


def test_a_report_is_checked_and_listed_with_the_item(store, photos):
    project, ids = photos
    with pytest.raises(InvalidInput, match="at most 500 characters"):
        store.problems.report(project.id, ids[0], "alice", "x" * 501)
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.problems.report(project.id, ids[0], "alice", "bad \ud800")
    with pytest.raises(ItemNotFound):
        store.problems.report(project.id, 10_000, "alice", "")
    store.problems.report(project.id, ids[0], "alice", "  blank picture ")
    [problem], total = store.problems.open(project.id)
    assert total == 1
    assert (problem.item_id, problem.data, problem.kind, problem.comment, problem.reporter) == (
        ids[0], {"image": "/media/0.png"}, "report", "blank picture", "alice"
    )


def test_unreadable_items_are_listed_once_and_again_only_after_a_fix(store, photos):
    project, ids = photos
    assert store.problems.record_unreadable(project.id, {ids[0]: "no such file", ids[1]: "no such file"}) == 2
    assert store.problems.record_unreadable(project.id, {ids[0]: "no such file"}) == 0  # the next run
    store.problems.dismiss(project.id, ids[1], "rita")
    assert store.problems.record_unreadable(project.id, {ids[1]: "no such file"}) == 0  # dismissed stays so
    store.problems.fix(project.id, ids[0], "rita", {"image": "/media/fixed.png"}, [Path("/media")])
    assert store.export(project.id).set_index("item_id").loc[ids[0], "image"] == "/media/fixed.png"
    assert store.problems.open(project.id) == ([], 0)
    assert store.problems.record_unreadable(project.id, {ids[0]: "still no such file"}) == 1  # the fix failed


def test_only_reviewers_resolve_and_delete_takes_the_item_away(store, photos):
    project, ids = photos
    store.problems.report(project.id, ids[2], "alice", "wrong photo")
    store.submit(project.id, store.next_item(project.id, "alice").id, "alice", "cat")
    with pytest.raises(NotAReviewer):
        store.problems.delete(project.id, ids[2], "alice")
    store.problems.delete(project.id, ids[2], "rita")
    assert ids[2] not in store.export(project.id)["item_id"].tolist()
    assert store.problems.open(project.id) == ([], 0)
    assert store.progress(project.id).total == 2


def test_an_excluded_item_leaves_the_queue_even_from_its_holder(store, photos):
    project, ids = photos
    held = store.next_item(project.id, "alice")
    assert store.problems.exclude(project.id, held.id, "admin") == 1
    assert store.next_item(project.id, "alice").id != held.id  # alice moves on
    store.set_overlap(project.id, 3)
    seen = {store.next_item(project.id, name).id for name in ("bob", "carol", "dave")}
    assert held.id not in seen


def test_an_excluded_gold_item_is_never_handed_out_and_an_excluded_item_cannot_be_sent_back(store, photos):
    project, ids = photos
    store.set_gold(project.id, [ids[0]], ["cat"])
    store.set_gold_rate(project.id, 1.0)  # every hand-out that can be gold is gold
    store.problems.report(project.id, ids[0], "alice", "the image does not load")
    store.problems.exclude(project.id, ids[0], "rita")
    handed = store.next_item(project.id, "bob")
    assert handed is not None and handed.id != ids[0]
    store.problems.report(project.id, ids[2], "alice", "blurred")
    store.problems.exclude(project.id, ids[2], "rita")
    with pytest.raises(InvalidInput, match="excluded"):
        store.send_back(project.id, ids[2], "rita")


def test_a_fix_is_checked_by_the_library_as_an_import_is_and_forgets_the_old_embedding(store, photos, tmp_path):
    import numpy as np

    project, ids = photos
    store.problems.report(project.id, ids[0], "alice", "wrong file")
    with pytest.raises(InvalidInput, match="row 1"):  # an image path outside the media folders
        store.problems.fix(project.id, ids[0], "rita", {"image": "/etc/hostname"}, [tmp_path])
    store.problems.fix(project.id, ids[0], "rita", {"image": str(tmp_path / "0.png")}, [tmp_path])

    reviews = store.create_project("reviews", ["pos", "neg"], settings={"text_column": "text"})
    store.add_items(reviews.id, [{"text": "god film"}, {"text": "dull"}])
    first = store.export(reviews.id)["item_id"].tolist()[0]
    store.embeddings.write(reviews.id, "text", "m", [first], np.ones((1, 4), dtype=np.float32))
    assert store.embeddings.progress(reviews.id, "text", "m")[0] == 1
    store.problems.report(reviews.id, first, "alice", "typo")
    store.problems.fix(reviews.id, first, "rita", {"text": "good film"}, [tmp_path])  # text: no media check
    assert store.embeddings.progress(reviews.id, "text", "m")[0] == 0  # the worker embeds the new text
