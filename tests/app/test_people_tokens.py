"""store.people (labelling.storage.people) on SQLite and PostgreSQL: invite tokens are stored hashed, work
once issued, stop on revocation; names are unique and the admin's and the importer's are reserved."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from labelling import InvalidInput, Store, people
from labelling.errors import DuplicateLabeller, LabellerNotFound


@pytest.fixture
def any_store(db_url):
    store = Store.connect(db_url)
    yield store
    store.close()


def test_token_signs_in_and_only_its_hash_is_stored(any_store):
    person, token = any_store.people.add(" alice ")
    assert person.name == "alice" and person.role == "labeller" and person.active
    assert len(token) >= 43
    assert any_store.people.for_token(token) == person
    with any_store.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_hash FROM labellers WHERE name = 'alice'")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored


@pytest.mark.parametrize("token", [None, "", "   ", "nope", "x" * 43])
def test_wrong_or_missing_token(any_store, token):
    any_store.people.add("alice")
    assert any_store.people.for_token(token) is None


def test_revoke_and_a_new_link(any_store):
    _, token = any_store.people.add("alice")
    revoked = any_store.people.revoke("alice")
    assert revoked.revoked_at is not None and not revoked.active
    assert any_store.people.for_token(token) is None
    fresh = any_store.people.new_token("alice")
    assert any_store.people.for_token(fresh).name == "alice"
    assert any_store.people.for_token(token) is None  # the old link stays dead


def test_clear_errors(any_store):
    any_store.people.add("alice")
    with pytest.raises(DuplicateLabeller, match="exists already"):
        any_store.people.add("alice")
    with pytest.raises(LabellerNotFound, match="no labeller named 'zoe'"):
        any_store.people.revoke("zoe")
    with pytest.raises(InvalidInput, match="reserved"):
        any_store.people.add("admin")
    with pytest.raises(InvalidInput, match="role must be one of"):
        any_store.people.add("bob", role="owner")
    with pytest.raises(InvalidInput, match="non-empty name"):
        any_store.people.add("  ")


def test_list_and_counts(any_store):
    project = any_store.create_project("p", ["a"])
    any_store.add_items(project.id, ["x", "y"], labels=["a", None])
    any_store.people.add("boss", role="admin")
    item = any_store.next_item(project.id, "admin")
    any_store.submit(project.id, item.id, "admin", "a")
    listed = {p.name: p for p in any_store.people.all()}
    assert set(listed) == {"admin", "boss"}  # the importer is left out
    assert listed["admin"].role == "admin" and not listed["admin"].invited
    assert listed["boss"].role == "admin" and listed["boss"].invited
    assert any_store.people.label_counts() == {"admin": 1}  # imported labels are not anyone's work
