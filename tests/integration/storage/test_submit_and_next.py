"""`Store.submit_and_next`, the Label page's click: a label and the next hand-out in one transaction, with the
same guarantees as `submit` then `next_item` (leases, overlap, gold, undo), and a dead pooled connection
replaced without applying anything twice."""

from __future__ import annotations

import random
import select
import threading
import time

import pytest
import sqlalchemy as sa

from _helpers import current_annotations, expire_leases, ids_by_data, new_project, wait_for_blocked
from labelling import DatabaseUnavailable, Store
from labelling.errors import LeaseLost
from labelling.storage import engine as engine_module
from labelling.storage import queue
from labelling.storage.schema import labellers, tasks

WAIT_SECONDS = 30.0
"""How long a test waits for a condition before failing (it returns as soon as the condition holds)."""


def _session(store: Store, clicks: int, *, together: bool) -> list[tuple]:
    """Two labellers take turns on a project with overlap 2 and gold items at a high rate; each click labels
    the item on screen, sometimes after an undo. Returns what each step showed, by item data."""
    project = new_project(store, labels=("a", "b"), overlap=2)
    store.add_items(project.id, [f"item{i}" for i in range(16)])
    ids = ids_by_data(store, project.id)
    store.set_gold(project.id, [ids["item14"], ids["item15"]], ["a", "b"])
    store.set_gold_rate(project.id, 0.4)
    store.model_data.write_predictions(project.id, 1, [ids["item1"], ids["item2"]], ["b", "a"], [0.9, 0.6])
    choices = random.Random(3)
    shown = {name: store.next_item(project.id, name) for name in ("alice", "bob")}
    seen = []
    for step in range(clicks):
        name = ("alice", "bob")[step % 2]
        item = shown[name]
        if item is None:
            seen.append((name, None))
            continue
        if choices.random() < 0.15:
            item = store.undo(project.id, name) or item
        label = choices.choice(["a", "b"])
        if together:
            annotation, shown[name] = store.submit_and_next(project.id, item.id, name, label)
        else:
            annotation = store.submit(project.id, item.id, name, label)
            shown[name] = store.next_item(project.id, name)
        following = shown[name]
        seen.append(
            (
                name,
                item.data,
                annotation.label,
                following and following.data,
                following and following.my_label,
                following and following.suggestion and following.suggestion.label,
            )
        )
    final = store.export(project.id).drop(columns=["item_id"]).to_dict("records")
    return seen + [("export", final)]


def test_a_session_of_clicks_goes_as_with_submit_then_next_item(db_url):
    """The same seeded session, once with submit + next_item and once with submit_and_next, hands out the
    same items (overlap, gold, undo and suggestions included) and ends with the same labels."""
    apart, together = Store.connect(db_url, rng=random.Random(7)), Store.connect(db_url, rng=random.Random(7))
    try:
        expected = _session(apart, 24, together=False)
        assert [step for step in expected if step[0] != "export" and step[1] is None] == [], "the session ran dry"
        assert _session(together, 24, together=True) == expected
    finally:
        apart.close()
        together.close()


def test_a_label_sent_after_its_lease_expired_brings_back_the_item_i_hold_now(store):
    """My lease on the first item expired and I was handed another; the late label still counts, and the
    click shows me the item I hold rather than claiming a third (only a live lease that the submit ended
    means I hold nothing)."""
    project = new_project(store)
    store.add_items(project.id, ["first", "second", "third"])
    ids = ids_by_data(store, project.id)
    late = store.next_item(project.id, "alice")
    assert late.data == "first"
    expire_leases(store, late.id)
    store.set_priorities(project.id, [ids["second"]], [1.0])  # the first is free again: put another ahead
    held = store.next_item(project.id, "alice")
    assert held.data == "second"

    annotation, following = store.submit_and_next(project.id, late.id, "alice", "a")

    assert annotation.item_id == late.id
    assert following.id == held.id
    assert set(current_annotations(store, project.id)["item_id"]) == {late.id}


def test_the_next_item_is_leased_and_carries_its_suggestion(store):
    project = new_project(store)
    store.add_items(project.id, ["first", "second", "third"])
    ids = ids_by_data(store, project.id)
    store.model_data.write_predictions(project.id, 4, [ids["second"]], ["b"], [0.75])
    first = store.next_item(project.id, "alice")
    assert first.suggestion is None

    annotation, second = store.submit_and_next(project.id, first.id, "alice", "a", lease_seconds=60)

    assert (annotation.item_id, annotation.label) == (first.id, "a")
    assert second.data == "second" and second.lease_expires_at is not None
    assert (second.suggestion.label, second.suggestion.probability, second.suggestion.run_id) == ("b", 0.75, 4)
    assert store.next_item(project.id, "alice").id == second.id  # my lease: a refresh shows the same item
    assert store.next_item(project.id, "bob").data == "third"  # and nobody else gets it


def test_the_last_label_comes_back_with_no_next_item(store):
    project = new_project(store)
    store.add_items(project.id, ["only"])
    item = store.next_item(project.id, "alice")
    annotation, following = store.submit_and_next(project.id, item.id, "alice", "b")
    assert following is None
    assert current_annotations(store, project.id)["label"].tolist() == ["b"] == [annotation.label]


def test_a_double_click_records_one_label_and_shows_the_same_next_item(store):
    project = new_project(store)
    store.add_items(project.id, ["first", "second", "third"])
    item = store.next_item(project.id, "alice")
    first_label, following = store.submit_and_next(project.id, item.id, "alice", "a")
    again, following_again = store.submit_and_next(project.id, item.id, "alice", "a")
    assert again == first_label and following_again.id == following.id
    assert len(current_annotations(store, project.id)) == 1


def test_a_lost_lease_records_nothing_and_claims_nothing(store):
    project = new_project(store)
    store.add_items(project.id, ["first", "second"])
    mine = store.next_item(project.id, "alice")
    expire_leases(store, mine.id)
    assert store.next_item(project.id, "bob").id == mine.id
    with pytest.raises(LeaseLost):
        store.submit_and_next(project.id, mine.id, "alice", "a")
    assert current_annotations(store, project.id).empty
    with store.engine.connect() as connection:
        held = connection.execute(sa.select(sa.func.count()).where(tasks.c.labeller_id.is_not(None))).scalar()
    assert held == 1  # bob's task only: alice's failed click claimed nothing


def test_the_label_is_kept_only_with_the_claim(store, monkeypatch):
    """One transaction: a hand-out that fails takes the label and the claim back with it, so a retried click
    is clean (on PostgreSQL the label and the claim are one statement, and the item is read from its row)."""
    project = new_project(store)
    store.add_items(project.id, ["first", "second"])
    item = store.next_item(project.id, "alice")

    def fails(*_args, **_kwargs):
        raise DatabaseUnavailable("the claim did not answer")

    with monkeypatch.context() as patched:
        patched.setattr(queue, "_shown", fails)
        with pytest.raises(DatabaseUnavailable):
            store.submit_and_next(project.id, item.id, "alice", "a")
    assert current_annotations(store, project.id).empty
    annotation, following = store.submit_and_next(project.id, item.id, "alice", "a")
    assert annotation.item_id == item.id and following.data == "second"


# A dead connection (PostgreSQL) -------------------------------------------------------------------------------


def _pooled_backend(store: Store):
    """The one connection left in the store's pool (the driver's) and its server process."""
    store.close()
    with store.engine.connect() as connection:
        return connection.connection.dbapi_connection, connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(url: str, pid: int) -> None:
    """End a server process (as a restart or failover would) and wait until it is gone."""
    admin = sa.create_engine(url)
    try:
        with admin.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            give_up = time.monotonic() + WAIT_SECONDS
            while connection.execute(sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                assert time.monotonic() < give_up, f"backend {pid} still there after {WAIT_SECONDS} s"
                connection.rollback()
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(postgresql_url):
    """No pre-ping: the socket of a connection the server closed has its goodbye to read, seen at checkout."""
    store = Store.connect(postgresql_url)
    try:
        project = new_project(store)
        raw, pid = _pooled_backend(store)
        _terminate(postgresql_url, pid)
        assert select.select([raw], [], [], WAIT_SECONDS)[0], "the server's goodbye never arrived"
        assert store.project(project.id) == project  # a call without retry: the checkout replaced it
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    finally:
        store.close()


def test_a_held_connection_the_server_closed_is_replaced_before_the_next_click(postgresql_url):
    """The labelling calls keep their connection between calls (storage/held.py); one the server closed
    meanwhile is replaced before the click uses it, as the pool's checkout does: no error, no retry."""
    store = Store.connect(postgresql_url)
    try:
        project = new_project(store)
        store.add_items(project.id, ["first", "second"])
        item = store.next_item(project.id, "alice")
        (held,) = store._held._idle  # the connection the next click will take
        raw, pid = held.connection.dbapi_connection, held.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        held.rollback()
        _terminate(postgresql_url, pid)
        assert select.select([raw], [], [], WAIT_SECONDS)[0], "the server's goodbye never arrived"
        errors: list = []
        sa.event.listen(store.engine, "handle_error", errors.append)

        annotation, following = store.submit_and_next(project.id, item.id, "alice", "a")

        assert annotation.item_id == item.id and following.data == "second" and errors == []
        (held,) = store._held._idle
        assert held.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
        held.rollback()
    finally:
        store.close()


def test_held_connections_that_died_unseen_cost_one_retry_not_a_failed_click(postgresql_url, monkeypatch):
    """A NAT's idle drop or a failover closes no socket, so every held connection can be dead unseen. The first
    click meets one and is retried: the retry and the clicks after must get fresh connections, not the other
    held ones (given back with the dead one, the pool replaces all connections older than it)."""
    store = Store.connect(postgresql_url)
    try:
        project = new_project(store)
        store.add_items(project.id, ["first", "second", "third"])
        with store._held.write(), store._held.write(), store._held.write():  # three connections held
            pass
        pids = []
        for held in store._held._idle:
            pids.append(held.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            held.rollback()
        monkeypatch.setattr("labelling.storage.held.server_closed", lambda connection: False)  # dead unseen
        for pid in pids:
            _terminate(postgresql_url, pid)

        first = store.next_item(project.id, "alice")
        _, second = store.submit_and_next(project.id, first.id, "alice", "a")

        assert second is not None and store.progress(project.id).complete == 1
        for held in store._held._idle:
            assert held.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() not in pids
            held.rollback()
    finally:
        store.close()


def test_a_connection_found_dead_at_begin_is_retried_once_without_a_second_label(postgresql_url):
    """The checkout check is taken away, so the dead connection is met by the transaction's BEGIN: nothing
    ran on the server, and the click is run again on a fresh connection, once."""
    store = Store.connect(postgresql_url)
    try:
        project = new_project(store)
        store.add_items(project.id, ["first", "second", "third"])
        item = store.next_item(project.id, "alice")
        sa.event.remove(store.engine, "checkout", engine_module._closed_by_server)
        _terminate(postgresql_url, _pooled_backend(store)[1])

        annotation, following = store.submit_and_next(project.id, item.id, "alice", "a")

        assert annotation.item_id == item.id and following.data == "second"
        assert current_annotations(store, project.id)["item_id"].tolist() == [item.id]
        assert store.next_item(project.id, "alice").id == following.id
    finally:
        store.close()


def test_a_connection_lost_inside_the_transaction_is_not_run_again(postgresql_url):
    """Once BEGIN went through, what the server did is not known to the client: the click is reported as
    not saved rather than run a second time, and the server rolled it back."""
    store = Store.connect(postgresql_url)
    project = new_project(store)
    store.add_items(project.id, ["first", "second"])
    item = store.next_item(project.id, "alice")
    outcome: list[BaseException | None] = []

    def click() -> None:
        try:
            store.submit_and_next(project.id, item.id, "alice", "a")
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - the thread hands every outcome to the test
            outcome.append(error)

    holder = sa.create_engine(postgresql_url)
    try:
        with holder.connect() as blocking:
            blocking.execute(sa.select(labellers.c.id).where(labellers.c.name == "alice").with_for_update())
            waiter = threading.Thread(target=click)
            waiter.start()
            blocked = wait_for_blocked(blocking, WAIT_SECONDS)
            assert blocking.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": blocked}).scalar()
            waiter.join(WAIT_SECONDS)
            blocking.rollback()
    finally:
        holder.dispose()
    assert outcome and isinstance(outcome[0], DatabaseUnavailable) and not outcome[0].retry_safe, outcome
    assert current_annotations(store, project.id).empty
    annotation, following = store.submit_and_next(project.id, item.id, "alice", "a")
    assert annotation.item_id == item.id and following.data == "second"
    store.close()


def test_a_click_is_one_prepared_statement(postgresql_url):
    """The label, and the claim of the next item with its data and suggestion, in one statement (then the
    commit): the submit ended my live lease, so there is none to refresh. Only prepared statements are
    counted: the throttled NOTIFY and the membership re-check come when their time is due."""
    store = Store.connect(postgresql_url)
    project = new_project(store)
    store.add_items(project.id, ["first", "second", "third"])
    item = store.next_item(project.id, "alice")
    _, item = store.submit_and_next(project.id, item.id, "alice", "a")  # statements prepared, labeller cached
    sent: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    annotation, following = store.submit_and_next(project.id, item.id, "alice", "b")
    assert (annotation.item_id, following.data) == (item.id, "third")
    assert [s.split("(")[0] for s in sent if s.startswith("EXECUTE")] == ["EXECUTE submit_and_claim"]
    store.close()


def test_a_click_waiting_for_my_other_tab_holds_no_task_row_and_then_goes_through(postgresql_url):
    """While my other tab holds my labeller lock, the click waits for it holding no task row, neither mine
    nor the next one (the order next_item takes them in, so the two tabs cannot deadlock); it does not wait
    inside its one statement, whose snapshot would miss what the other tab did meanwhile, but in the slow
    path, which then completes my open task and claims the next item afresh."""
    store = Store.connect(postgresql_url)
    project = new_project(store)
    store.add_items(project.id, ["first", "second", "third"])
    item = store.next_item(project.id, "alice")
    _, item = store.submit_and_next(project.id, item.id, "alice", "a")
    outcome: list[object] = []
    waiter = threading.Thread(target=lambda: outcome.append(store.submit_and_next(project.id, item.id, "alice", "b")))
    holder = sa.create_engine(postgresql_url)
    try:
        with holder.connect() as blocking:
            blocking.execute(sa.select(labellers.c.id).where(labellers.c.name == "alice").with_for_update(key_share=True))
            waiter.start()
            wait_for_blocked(blocking, WAIT_SECONDS)
            with holder.connect() as other:  # every task row is free: the waiting click has locked none
                locked = other.execute(
                    sa.select(tasks.c.id).where(tasks.c.project_id == project.id).with_for_update(nowait=True)
                ).scalars().all()
                assert len(locked) == 3
                other.rollback()
            blocking.rollback()
            waiter.join(WAIT_SECONDS)
    finally:
        holder.dispose()
    assert outcome, "the click did not finish"
    annotation, following = outcome[0]
    assert (annotation.item_id, following.data) == (item.id, "third")
    assert sorted(current_annotations(store, project.id)["label"]) == ["a", "b"]
    store.close()
