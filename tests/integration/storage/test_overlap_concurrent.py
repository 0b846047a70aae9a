"""The overlap changed while labellers are labelling, on SQLite and PostgreSQL: threads label through one
store each while the main thread raises and lowers the overlap. Nobody gets an item twice, nothing fails,
and once everyone has drained the queue every item has the labels it needs.

Threads start together on a Barrier and the main thread waits for a condition (labels recorded), never
for a fixed time.
"""

from __future__ import annotations

import threading
from collections import Counter

from _helpers import current_annotations, drain, new_project

from labelling import Store

LABELLERS = ("alice", "bob", "carol", "dave")
ITEMS = 30
DEADLINE_SECONDS = 120  # how long the main thread may wait for the labellers to get going (a deadline)


def test_overlap_changes_while_labellers_label(db_url):
    setup = Store.connect(db_url)
    project = new_project(setup)
    setup.add_items(project.id, [f"item {i}" for i in range(ITEMS)])
    started = threading.Barrier(len(LABELLERS) + 1)
    progress = threading.Condition()
    labelled = Counter()
    errors: list[BaseException] = []
    handed: dict[str, list[int]] = {name: [] for name in LABELLERS}

    def label(name: str) -> None:
        store = Store.connect(db_url, upgrade=False)
        try:
            started.wait(DEADLINE_SECONDS)
            while (item := store.next_item(project.id, name)) is not None:
                handed[name].append(item.id)
                store.submit(project.id, item.id, name, "a" if len(name) % 2 else "b")
                with progress:
                    labelled[name] += 1
                    progress.notify_all()
        except BaseException as error:  # reported below, with its traceback, by the main thread
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=label, args=(name,)) for name in LABELLERS]
    for thread in threads:
        thread.start()
    started.wait(DEADLINE_SECONDS)
    with progress:
        assert progress.wait_for(lambda: sum(labelled.values()) >= 5, DEADLINE_SECONDS)
    setup.set_overlap(project.id, 3)
    with progress:
        assert progress.wait_for(lambda: sum(labelled.values()) >= 20, DEADLINE_SECONDS) or errors
    setup.set_overlap(project.id, 2)
    for thread in threads:
        thread.join(DEADLINE_SECONDS)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    for name in LABELLERS:  # whatever was reopened after a thread stopped asking
        handed[name] += drain(setup, project.id, name)
    for name, items in handed.items():
        assert len(items) == len(set(items)), f"{name} was handed an item twice"
    current = current_annotations(setup, project.id)
    assert not current.duplicated(["item_id", "labeller"]).any()
    per_item = current.groupby("item_id").size()
    assert len(per_item) == ITEMS
    assert per_item.min() >= 2 and per_item.max() <= 3  # a slot leased during the lowering may add one
    assert setup.progress(project.id).complete == ITEMS
    setup.close()
