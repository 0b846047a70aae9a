"""labelling.people on SQLite and PostgreSQL: invite tokens are stored hashed, work once issued, stop on
revocation; names are unique and the admin's and the importer's are reserved."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from labelling import InvalidInput, Store, people
from labelling.storage.store import IMPORT_LABELLER


@pytest.fixture
def any_store(db_url):
    store = Store.connect(db_url)
    yield store
    store.close()


def test_token_signs_in_and_only_its_hash_is_stored(any_store):
    person, token = people.add_labeller(any_store, " alice ")
    assert person.name == "alice" and person.role == "labeller" and person.active
    assert len(token) >= 43
    assert people.labeller_for_token(any_store, token) == person
    with any_store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_hash FROM labellers WHERE name = 'alice'")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored


@pytest.mark.parametrize("token", [None, "", "   ", "nope", "x" * 43])
def test_wrong_or_missing_token(any_store, token):
    people.add_labeller(any_store, "alice")
    assert people.labeller_for_token(any_store, token) is None


def test_revoke_and_a_new_link(any_store):
    _, token = people.add_labeller(any_store, "alice")
    revoked = people.revoke(any_store, "alice")
    assert revoked.revoked_at is not None and not revoked.active
    assert people.labeller_for_token(any_store, token) is None
    fresh = people.new_token(any_store, "alice")
    assert people.labeller_for_token(any_store, fresh).name == "alice"
    assert people.labeller_for_token(any_store, token) is None  # the old link stays dead


def test_clear_errors(any_store):
    people.add_labeller(any_store, "alice")
    with pytest.raises(people.DuplicateLabeller, match="exists already"):
        people.add_labeller(any_store, "alice")
    with pytest.raises(people.LabellerNotFound, match="no labeller named 'zoe'"):
        people.revoke(any_store, "zoe")
    with pytest.raises(InvalidInput, match="reserved"):
        people.add_labeller(any_store, "admin")
    with pytest.raises(InvalidInput, match="role must be one of"):
        people.add_labeller(any_store, "bob", role="owner")
    with pytest.raises(InvalidInput, match="non-empty name"):
        people.add_labeller(any_store, "  ")


def test_list_and_counts(any_store):
    project = any_store.create_project("p", ["a"])
    any_store.add_items(project.id, ["x", "y"], labels=["a", None])
    people.add_labeller(any_store, "boss", role="admin")
    item = any_store.next_item(project.id, "admin")
    any_store.submit(project.id, item.id, "admin", "a")
    listed = {p.name: p for p in people.labellers(any_store)}
    assert set(listed) == {"admin", "boss"}  # the importer is left out
    assert listed["admin"].role == "admin" and not listed["admin"].invited
    assert listed["boss"].role == "admin" and listed["boss"].invited
    assert people.label_counts(any_store) == {"admin": 1}  # imported labels are not anyone's work


def test_reserved_import_name_is_the_stores():
    assert people.IMPORT_NAME == IMPORT_LABELLER
