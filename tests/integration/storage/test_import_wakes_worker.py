"""Labels that arrive by import wake the training worker as labels from the Label page do (PostgreSQL's NOTIFY);
an import of items alone does not."""

from __future__ import annotations

import random
import select
import time

import psycopg2
from sqlalchemy.engine import make_url

from labelling.storage import items, wakeups


def test_an_import_with_labels_notifies_the_project(postgresql_url, open_store):
    store = open_store(postgresql_url)
    url = make_url(postgresql_url)
    listening = psycopg2.connect(host=url.host, port=url.port, user=url.username, dbname=url.database)
    listening.autocommit = True
    try:
        listening.cursor().execute(wakeups.LISTEN)
        # The channel is the server's and other schemas' projects share ids: this one's id comes from its schema.
        with store.engine.begin() as connection:
            first = random.Random(postgresql_url).randrange(10**8, 10**9)
            connection.exec_driver_sql(f"ALTER SEQUENCE projects_id_seq RESTART WITH {first}")
        project, _ = store.import_project("labelled", ["a", "b"], ["one", "two", "three"], ["a", None, "b"])
        # Other tests' notifications arrive too: wait for this project's.
        deadline, heard = time.monotonic() + 60, set()
        while str(project.id) not in heard and time.monotonic() < deadline:
            select.select([listening], [], [], 1)
            listening.poll()
            heard.update(n.payload for n in listening.notifies)
            listening.notifies.clear()
        assert str(project.id) in heard
    finally:
        listening.close()


def test_only_imports_with_labels_wake_the_worker(store, monkeypatch):
    woken = []
    monkeypatch.setattr(items.wakeups, "announce", lambda connection, project_id: woken.append(project_id))
    plain, _ = store.import_project("plain", ["a", "b"], ["one", "two"])
    store.add_items(plain.id, ["three"])
    store.add_items(plain.id, ["four"], [None])
    assert woken == []
    labelled, _ = store.import_project("labelled", ["a", "b"], ["one", "two"], ["a", None])
    store.add_items(plain.id, ["five"], ["b"])
    assert woken == [labelled.id, plain.id]
