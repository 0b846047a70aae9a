"""Progress, Export and People pages, for admins and labellers; admin pages refuse a labeller who
reaches them directly."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from _helpers import write
from sqlalchemy import update

from labelling.io.export import to_csv, to_jsonl
from labelling.storage.schema import tasks


@pytest.fixture
def labelled(store):
    """A project where alice labelled two items and skipped one, and bob labelled one, each after 2 s on it."""
    made = store.create_project("p", ["a", "b"], settings={"display": "text"})
    store.add_items(made.id, ["=1+1", "two", "three", "four", "five"])
    store.people.add("alice")

    def taken(name: str) -> int:
        """The next item for `name`, handed out 2 s ago (in the database): a label within the clock's tick
        (SQLite's is a millisecond) counted 0 s, and the page leaves out a chart of only zeros."""
        item_id = store.next_item(made.id, name).id
        with write(store.engine) as connection:
            connection.execute(
                update(tasks)
                .where(tasks.c.item_id == item_id, tasks.c.lease_expires_at.is_not(None))
                .values(leased_at=tasks.c.leased_at - 2.0)
            )
        return item_id

    for label in ("a", "b"):
        store.submit(made.id, taken("alice"), "alice", label)
    store.skip(made.id, taken("alice"), "alice")
    store.submit(made.id, taken("bob"), "bob", "a")
    return made


def charts(at) -> list:
    return at.get("vega_lite_chart")


def test_progress_for_the_admin_is_charts(app, labelled):
    at = app().run().switch_page("pages/progress.py").run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["Items", "Done", "Being labelled now", "Left"]
    assert [m.value for m in at.metric][:2] == ["5", "3"]
    assert len(charts(at)) == 5  # per hour, distribution, and labels, median seconds, skips per labeller
    assert not at.dataframe and not at.table


def test_progress_for_a_labeller_is_only_their_own(app, store, labelled):
    token = store.people.new_token("alice")
    at = app(token=token, password="pw").run().switch_page("pages/progress.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["My stats"]
    assert {m.label: m.value for m in at.metric} == {
        "Items I labelled": "2",
        "Median seconds per item": at.metric[1].value,
        "Items I skipped": "1",
    }
    assert len(charts(at)) == 2
    assert not any("bob" in m.value for m in at.markdown)


def test_progress_with_no_labels_yet(app, store):
    store.add_items(store.create_project("empty", ["a"]).id, ["x"])
    at = app().run().switch_page("pages/progress.py").run()
    assert not at.exception
    assert not charts(at)


def test_export_offers_items_and_annotations_as_csv_jsonl_and_parquet(app, labelled):
    at = app().run().switch_page("pages/export.py").run()
    assert not at.exception
    assert [b.label for b in at.download_button] == ["Download CSV", "Download JSONL", "Download Parquet"] * 2


def test_export_files_match_the_labels(store, labelled):
    """What the Export page's buttons serve: the store's frames through labelling.io.export."""
    items = pd.read_csv(io.BytesIO(to_csv(store.export(labelled.id))))
    assert items["data"].tolist()[0] == "'=1+1"  # a formula is neutralised
    assert items["label:alice"].tolist()[:2] == ["a", "b"]
    rows = [json.loads(line) for line in to_jsonl(store.annotations(labelled.id)).splitlines()]
    assert [(r["labeller"], r["label"]) for r in rows] == [("alice", "a"), ("alice", "b"), ("bob", "a")]


def test_people_page_adds_a_labeller_with_an_invite_link(app, store):
    at = app(url="http://labels.example.org:8501/people").run().switch_page("pages/people.py").run()
    at.text_input[0].input("carol")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception and not at.error
    link = at.code[0].value
    assert link.startswith("http://labels.example.org:8501/?token=")
    person = store.people.for_token(link.split("token=")[1])
    assert person.name == "carol" and person.role == "labeller"


def test_invite_link_uses_the_public_url_secret(app, store):
    at = app(url="http://10.0.0.5:8501/people")
    at.secrets["public_url"] = "https://labels.example.org/"
    at.run().switch_page("pages/people.py").run()
    at.text_input[0].input("dave")
    at.button[0].click().run()
    assert at.code[0].value.startswith("https://labels.example.org/?token=")


def test_duplicate_name_is_refused(app, store):
    store.people.add("carol")
    at = app().run().switch_page("pages/people.py").run()
    at.text_input[0].input("carol")
    at.button[0].click().run()
    assert "exists already" in at.error[0].value
    at.text_input[0].input("admin")
    at.button[0].click().run()
    assert "reserved" in at.error[0].value


def test_people_list_counts_and_revoke(app, store, labelled):
    token = store.people.new_token("alice")
    at = app().run().switch_page("pages/people.py").run()
    assert not at.exception
    rows = [m.value for m in at.markdown]
    assert any(r.startswith("**alice**") and "link active" in r for r in rows)
    assert any(r.startswith("**bob**") and "no invite link" in r for r in rows)  # labelled from a script
    assert "2 labels" in rows and "1 label" in rows
    alice = next(p for p in store.people.all() if p.name == "alice")
    at.button(key=f"revoke-{alice.id}").click().run()
    assert store.people.for_token(token) is None
    at.button(key=f"relink-{alice.id}").click().run()  # a new link re-admits her
    link = at.code[0].value
    assert store.people.for_token(link.split("token=")[1]).name == "alice"


@pytest.mark.parametrize("page", ["setup", "export", "people", "projects"])
def test_labeller_reaching_an_admin_page_directly_is_refused(app, store, labeller, page):
    """With a pages/ folder Streamlit can run a page file without the router (its v1 fallback): AppTest
    does so from the second run on. Here the second run registers every file, so the admin page can be
    requested, and the page's own check must refuse it."""
    _, token = labeller
    store.create_project("p", ["a"])
    at = app(token=token, password="pw").run()
    at.switch_page("pages/progress.py").run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is for admins."]
    assert not at.title and not at.button and not at.file_uploader and not at.download_button


@pytest.mark.parametrize("page", ["setup", "export", "people", "label", "progress"])
def test_signed_out_visitor_reaching_a_page_directly_sees_only_the_sign_in(app, store, page):
    from streamlit.util import calc_hash

    store.create_project("p", ["a"])
    at = app(password="pw")
    at._page_hash = calc_hash(page)  # a fresh process's first run of /<page>: Streamlit's v1 fallback
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert not at.file_uploader and not at.download_button and not at.code
