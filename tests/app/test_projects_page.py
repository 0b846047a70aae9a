"""The Projects page (rename, archive, restore, delete with a confirmation; rename and merge labels) and the
People page's project assignments, with what a labeller then sees."""

from __future__ import annotations

import pytest


@pytest.fixture
def two(store):
    """Projects `first` and `second` (labels a, b, c), alice labelled an item of `second` with c."""
    first = store.create_project("first", ["a", "b", "c"])
    second = store.create_project("second", ["a", "b", "c"])
    for made in (first, second):
        store.add_items(made.id, ["one", "two"])
    item = store.next_item(second.id, "alice")
    store.submit(second.id, item.id, "alice", "c")
    return first, second


def projects_page(app):
    at = app().run().switch_page("pages/projects.py").run()
    assert not at.exception
    return at


def test_rename_archive_restore_and_delete_after_confirming(app, store, two):
    first, second = two
    at = projects_page(app)
    assert any("**second** · in use · 2 items · 1 labels" in m.value for m in at.markdown)
    at.text_input(key=f"name-{first.id}").input("first, renamed")
    at.button(key=f"rename-{first.id}").click().run()
    assert "Renamed to **first, renamed**" in at.success[0].value
    assert store.project(first.id).name == "first, renamed"
    at.text_input(key=f"name-{first.id}").input("second")
    at.button(key=f"rename-{first.id}").click().run()
    assert "exists already" in at.error[0].value
    assert at.text_input(key=f"name-{first.id}").value == "first, renamed"  # the box shows the name it has

    at.button(key=f"archive-{second.id}").click().run()
    assert store.project(second.id).archived and "Archived" in at.success[0].value
    at.button(key=f"restore-{second.id}").click().run()
    assert not store.project(second.id).archived

    at.button(key=f"delete-{second.id}").click().run()
    [confirm] = [w.value for w in at.warning if "for good?" in w.value]
    assert "Delete **second** with its 2 items and 1 labels" in confirm
    at.button(key=f"cancel-delete-{second.id}").click().run()
    assert not [w for w in at.warning if "for good?" in w.value] and len(store.projects()) == 2  # nothing deleted without the confirmation
    at.button(key=f"delete-{second.id}").click().run()
    at.button(key=f"confirm-delete-{second.id}").click().run()
    assert not at.exception and "Deleted **second**" in at.success[0].value
    assert [p.name for p in store.projects()] == ["first, renamed"]


def test_rename_and_merge_labels_with_their_history(app, store, two):
    _, second = two
    at = projects_page(app)  # the picker starts on the newest project, `second`
    at.selectbox(key="rename-old").select("c")
    at.text_input(key="rename-new").input("cee")
    at.button(key="rename-label").click().run()
    assert "Renamed **c** to **cee**" in at.success[0].value
    at.selectbox(key="merge-old").select("cee")
    at.selectbox(key="merge-new").select("a")
    at.button(key="merge-labels").click().run()
    assert not at.exception and "Merged **cee** into **a**" in at.success[0].value
    assert store.project(second.id).labels == ("a", "b")
    assert store.export(second.id)["label"].dropna().tolist() == ["a"]
    history = at.dataframe[0].value
    assert history[["change", "from", "to", "labels changed", "by"]].values.tolist() == [
        ["rename", "c", "cee", 1, "admin"],
        ["merge", "cee", "a", 1, "admin"],
    ]
    at.selectbox(key="merge-old").select("a")
    at.selectbox(key="merge-new").select("a")
    at.button(key="merge-labels").click().run()
    assert "two different labels" in at.error[0].value


def test_a_labeller_sees_only_the_projects_they_are_on(app, store, two):
    first, second = two
    _, alice = store.people.add("alice-2")
    store.people.add("bob")
    at = app().run().switch_page("pages/people.py").run()
    at.multiselect(key=f"members-{first.id}").select("bob").run()
    assert not at.exception and store.access.members(first.id) == ["bob"]
    assert at.multiselect(key=f"members-{first.id}").value == ["bob"]

    labeller = app(token=alice, password="pw").run()
    assert not labeller.exception
    assert not labeller.sidebar.selectbox  # one project left for her: no picker
    assert labeller.title[0].value == "second"
    store.manage.archive(second.id)
    labeller = app(token=alice, password="pw").run()
    assert "added you to one" in labeller.info[0].value  # nothing to label: no project is hers

    at.multiselect(key=f"members-{first.id}").unselect("bob").run()
    assert store.access.members(first.id) == []  # nobody assigned: open to every labeller again
    assert app(token=alice, password="pw").run().title[0].value == "first"


@pytest.mark.parametrize("page", ["label", "progress", "review", "setup", "train", "export", "people", "projects"])
def test_every_page_opens_on_an_archived_project(app, store, two, page):
    _, second = two
    store.manage.archive(second.id)
    at = app().run().switch_page(f"pages/{page}.py").run()
    assert not at.exception
    if page == "label":  # the admin still sees it, and is told why nothing is handed out
        assert "'second' is archived" in at.error[0].value
