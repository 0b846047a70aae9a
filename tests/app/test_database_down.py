"""The database stops answering (a restart, a failover) under the Train, Review, People, Progress and Export
pages: a page shows ui.DATABASE_DOWN and a "Try again" button, never a traceback; a button whose callback
meets the outage leaves ui.CLICK_NOT_SAVED on the run it triggers, and works once the database is back.

After `switch_page` AppTest runs the page file without the router (Streamlit's v1 fallback, as a fresh
process's first runs do; see ui.auth.page_user), so these runs rest on each page's own guards.
"""

from __future__ import annotations

import itertools

import pytest
import streamlit as st

import ui
from labelling import DatabaseUnavailable, Store
from labelling.storage.people import People
from labelling.learning.training_settings import training_settings


def unreachable(*args, **kwargs):
    raise DatabaseUnavailable("the database did not answer: connection refused")


def unreachable_from_call(number: int, original):
    """`original` until its `number`th call in the test, then the outage."""
    calls = itertools.count(1)

    def method(*args, **kwargs):
        if next(calls) >= number:
            unreachable()
        return original(*args, **kwargs)

    return method


@pytest.fixture
def disputed(store):
    """Overlap 2: alice and bob disagree on "kettle"; alice has an invite link."""
    project = store.create_project("p", ["good", "bad"], overlap=2, settings={"display": "text"})
    store.add_items(project.id, ["kettle"])
    item_id = int(store.export(project.id)["item_id"][0])
    _, token = store.people.add("alice")
    store.submit(project.id, item_id, "alice", "good")
    store.submit(project.id, item_id, "bob", "bad")
    return project, item_id, token


def admin_page(app, page: str):
    at = app().run().switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def assert_database_down(at) -> None:
    assert not at.exception
    assert ui.DATABASE_DOWN in [e.value for e in at.error]
    assert at.button(key="database-retry").label == "Try again"


def warnings(at) -> list[str]:
    """The page's warnings but the local-mode banner (these tests run in local mode; a page opened with
    switch_page runs without the router, so the page shows the banner itself)."""
    return [w.value for w in at.warning if "Local mode" not in w.value]


def assert_click_not_saved(at) -> None:
    assert not at.exception
    assert warnings(at) == [ui.CLICK_NOT_SAVED]


@pytest.mark.parametrize(
    "page, owner, method",
    [
        ("train", Store, "training_runs"),
        ("review", People, "all"),
        ("review", Store, "review_items"),
        ("progress", Store, "annotations"),
        ("progress", Store, "agreement"),
        ("people", People, "label_counts"),
        ("export", Store, "projects"),
    ],
)
def test_a_page_whose_store_call_fails_shows_the_message_and_try_again_works(
    app, monkeypatch, disputed, page, owner, method
):
    at = admin_page(app, page)
    shown = [t.value for t in at.title]
    st.cache_data.clear()  # the figures' few seconds in the cache are over
    with monkeypatch.context() as outage:
        outage.setattr(owner, method, unreachable)
        at.run()
        assert_database_down(at)
    at.button(key="database-retry").click().run()  # the database is back
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == shown


def test_the_train_pages_status_fragment_shows_the_message(app, monkeypatch, disputed):
    """The fragment's reruns run outside every page-level guard, so it guards its own store call."""
    at = admin_page(app, "train")
    with monkeypatch.context() as outage:
        outage.setattr(Store, "training_runs", unreachable_from_call(2, Store.training_runs))  # the fragment's
        at.run()
        assert_database_down(at)
        assert [t.value for t in at.title] == ["Train"]


def save(at):
    return next(b for b in at.button if b.label == "Save")


def test_saving_training_settings_while_the_database_is_away(app, store, monkeypatch, disputed):
    project, _, _ = disputed
    at = admin_page(app, "train")
    at.number_input[0].set_value(7)
    with monkeypatch.context() as outage:
        outage.setattr(Store, "update_project", unreachable)
        save(at).click().run()
        assert_database_down(at)
    assert training_settings(store.project(project.id)).every_labels != 7
    save(at).click().run()
    assert not at.exception
    assert training_settings(store.project(project.id)).every_labels == 7  # what was typed is still there


def test_retrain_now_while_the_database_is_away(app, store, monkeypatch, disputed):
    project, _, _ = disputed
    at = admin_page(app, "train")
    with monkeypatch.context() as outage:
        outage.setattr(Store, "request_training", unreachable)
        at.button(key="retrain").click().run()
        assert_click_not_saved(at)
        assert not at.success
    assert store.training_runs(project.id) == []
    at.button(key="retrain").click().run()
    assert not at.exception and not warnings(at)
    assert [run.status for run in store.training_runs(project.id)] == ["queued"]
    assert "Retraining requested" in at.success[0].value


def test_revoking_a_link_while_the_database_is_away(app, store, monkeypatch, disputed):
    _, _, token = disputed
    at = admin_page(app, "people")
    alice = next(p for p in store.people.all() if p.name == "alice")
    with monkeypatch.context() as outage:
        outage.setattr(People, "revoke", unreachable)
        at.button(key=f"revoke-{alice.id}").click().run()
        assert_click_not_saved(at)
    assert store.people.for_token(token).name == "alice"
    at.button(key=f"revoke-{alice.id}").click().run()
    assert not at.exception and not warnings(at)
    assert store.people.for_token(token) is None


def test_changing_a_role_while_the_database_is_away(app, store, monkeypatch, disputed):
    at = admin_page(app, "people")
    alice = next(p for p in store.people.all() if p.name == "alice")
    role = f"role-{alice.id}"
    with monkeypatch.context() as outage:
        outage.setattr(People, "set_role", unreachable)
        at.selectbox(key=role).set_value("reviewer").run()
        assert_click_not_saved(at)
    assert at.selectbox(key=role).value == "labeller"  # what is stored, not the choice that was lost
    at.selectbox(key=role).set_value("reviewer").run()
    assert not at.exception and not warnings(at)
    assert next(p for p in store.people.all() if p.name == "alice").role == "reviewer"


def test_setting_a_final_label_while_the_database_is_away(app, store, monkeypatch, disputed):
    project, item_id, _ = disputed
    at = admin_page(app, "review")
    at.segmented_control(key=f"final-{item_id}").set_value("bad")
    with monkeypatch.context() as outage:
        outage.setattr(Store, "adjudicate", unreachable)
        at.button(key=f"adjudicate-{item_id}").click().run()
        assert_click_not_saved(at)
        assert not at.success
    assert store.export(project.id).set_index("item_id").loc[item_id, "label_source"] == "tie"
    assert at.segmented_control(key=f"final-{item_id}").value == "bad"  # the choice is still there to click again
    at.button(key=f"adjudicate-{item_id}").click().run()
    assert not at.exception and not warnings(at)
    assert at.success[0].value == f"Item {item_id}: final label set to **bad**."
    assert store.export(project.id).set_index("item_id").loc[item_id, "reviewed_by"] == "admin"


def test_labelling_while_the_database_is_away(app, store, monkeypatch):
    """The Label page's buttons run in its fragment: the lost click is said there, and the item comes back."""
    project = store.create_project("q", ["good", "bad"], settings={"display": "text"})
    store.add_items(project.id, ["kettle", "toaster"])
    at = app().run()
    with monkeypatch.context() as outage:
        outage.setattr(Store, "submit_and_next", unreachable)
        at.button(key="label-0").click().run()
        assert not at.exception
        assert ui.CLICK_NOT_SAVED in [w.value for w in at.warning]
        assert at.text[0].value == "kettle"
    assert store.annotations(project.id).empty
    at.button(key="label-0").click().run()
    assert not at.exception
    assert ui.CLICK_NOT_SAVED not in [w.value for w in at.warning]
    assert at.text[0].value == "toaster"
    assert store.annotations(project.id)["label"].tolist() == ["good"]
