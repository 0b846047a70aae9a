"""The queue under everything at once (issue 15): 16 processes on PostgreSQL for a bounded time
($STRESS_SECONDS, default 20), each labelling with a mix of next item, submit, double submit, late submit
(a lease short enough to run out first), skip, undo and relabel, on items that include gold items, while
one of them changes the overlap and another sends items back as a reviewer. Then the invariants: nothing
acknowledged is lost, no item has more labels than the overlap allows, no lease or task is stuck (fresh
labellers can finish the project), and progress() says what the tables say.

Processes start together on a Barrier and stop at a deadline; nothing sleeps or asserts a duration.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import random
import time
import traceback
from collections import Counter

import pytest
import sqlalchemy as sa

from _helpers import drain, new_project
from labelling.io.labels import from_json
from labelling.storage.engine import clock, read, write
from labelling.storage.schema import annotations, gold_items, labellers, skips, tasks

PROCESSES = 16
SECONDS = float(os.environ.get("STRESS_SECONDS", "20"))
LABELS = ("a", "b", "c")
ITEMS = 150
GOLD = 5
OVERLAPS = (1, 2, 3)
SHORT_LEASE = 0.05
"""Short enough that a submit often comes after the lease ran out (a late submit); a long one is 600 s."""
START_TIMEOUT = 900
"""A deadline for 16 processes to start and connect on a loaded 2-core machine, not a delay."""
RESULT_TIMEOUT = SECONDS + 600
OVERLAP_CHANGER, REVIEWER = 0, 1


def _labeller(url, project_id, index, deadline_seconds, barrier, results):
    """Label until the deadline; report every acknowledged label, send-back and overlap in order."""
    from labelling import Store
    from labelling.errors import LeaseLost

    rng = random.Random(1000 + index)
    name = "reviewer" if index == REVIEWER else f"labeller{index}"
    report = {"name": name, "acked": [], "sent_back": [], "overlaps": [], "lost": 0, "errors": []}
    store = None
    try:
        store = Store.connect(url)
        barrier.wait(timeout=START_TIMEOUT)
        deadline = time.monotonic() + deadline_seconds
        step = 0
        while time.monotonic() < deadline:
            step += 1
            if index == OVERLAP_CHANGER and step % 4 == 1:
                overlap = OVERLAPS[(step // 4) % len(OVERLAPS)]
                store.set_overlap(project_id, overlap)
                report["overlaps"].append(overlap)
            if index == REVIEWER and step % 3 == 2:
                finals = store.final_labels(project_id)
                candidates = sorted(set(finals["item_id"]) - set(store.gold(project_id)["item_id"]))
                if candidates:
                    item_id = rng.choice(candidates)
                    store.send_back(project_id, item_id, name)
                    report["sent_back"].append(int(item_id))
            lease = rng.choice((SHORT_LEASE, 600.0))
            item = store.next_item(project_id, name, lease_seconds=lease)
            if item is None:
                item = store.undo(project_id, name, lease_seconds=lease)  # nothing new: relabel an old one
                if item is None:
                    continue
            if rng.random() < 0.1:
                store.skip(project_id, item.id, name)
                continue
            label = rng.choice([value for value in LABELS if value != item.my_label])
            try:
                for _ in range(2 if rng.random() < 0.2 else 1):  # a double submit now and then
                    annotation = store.submit(project_id, item.id, name, label)
                    report["acked"].append((item.id, label, annotation.id))
            except LeaseLost:
                report["lost"] += 1
                continue
            if rng.random() < 0.15:
                again = store.undo(project_id, name, lease_seconds=lease)
                if again is not None and rng.random() < 0.5:  # relabel; otherwise walk away from the undo
                    relabel = rng.choice([value for value in LABELS if value != again.my_label])
                    try:
                        annotation = store.submit(project_id, again.id, name, relabel)
                        report["acked"].append((again.id, relabel, annotation.id))
                    except LeaseLost:
                        report["lost"] += 1
    except BaseException:  # reported to the parent, which fails the test with the traceback
        report["errors"].append(traceback.format_exc())
        try:
            barrier.abort()
        except Exception:
            pass
    finally:
        if store is not None:
            store.close()
        results.put(report)


def _run_all(url, project_id):
    # A fork server that imported the library once: 16 fresh interpreters importing pandas and SQLAlchemy at
    # once took minutes on a loaded machine; forked children connect on their own all the same.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["labelling", "labelling.storage.store"])
    barrier = context.Barrier(PROCESSES + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_labeller, args=(url, project_id, i, SECONDS, barrier, results), daemon=True)
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        try:
            barrier.wait(timeout=START_TIMEOUT)
        except Exception:
            pass  # a process failed to start: its traceback arrives on the queue
        reports = []
        for _ in processes:
            try:
                reports.append(results.get(timeout=RESULT_TIMEOUT))
            except queue_module.Empty:
                pytest.fail(f"only {len(reports)} of {len(processes)} processes reported back")
        for process in processes:
            process.join(timeout=RESULT_TIMEOUT)
            assert process.exitcode == 0, f"a process exited with {process.exitcode}"
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    errors = [error for report in reports for error in report["errors"]]
    assert not errors, "\n".join(errors)
    return reports


def _rows(store, project_id):
    """Every annotation (with its labeller's name), task and skip of the project, read from the tables."""
    with read(store.engine) as connection:
        labelled = connection.execute(
            sa.select(annotations.c.id, annotations.c.item_id, labellers.c.name, annotations.c.label,
                      annotations.c.is_current, annotations.c.source)
            .join(labellers, labellers.c.id == annotations.c.labeller_id)
            .where(annotations.c.project_id == project_id)
        ).all()
        task_rows = connection.execute(
            sa.select(tasks.c.item_id, tasks.c.done, tasks.c.lease_expires_at).where(tasks.c.project_id == project_id)
        ).all()
        skipped = connection.execute(
            sa.select(labellers.c.name, sa.func.count())
            .join(labellers, labellers.c.id == skips.c.labeller_id)
            .where(skips.c.project_id == project_id)
            .group_by(labellers.c.name)
        ).all()
        gold = set(connection.execute(sa.select(gold_items.c.item_id).where(gold_items.c.project_id == project_id)).scalars())
    return labelled, task_rows, dict(skipped), gold


def _end_every_lease(store, project_id):
    """As if every process had died holding its items: their leases run out now (moved into the past)."""
    with write(store.engine) as connection:
        connection.execute(
            sa.update(tasks)
            .where(tasks.c.project_id == project_id, tasks.c.lease_expires_at.is_not(None))
            .values(lease_expires_at=clock() - 1.0)
        )


def _check_progress_matches_the_tables(store, project_id):
    labelled, task_rows, skipped, _ = _rows(store, project_id)
    progress = store.progress(project_id)
    open_items = {row.item_id for row in task_rows if not row.done}
    assert progress.total - progress.complete == len(open_items)
    assert progress.in_progress == 0  # every lease ended
    current = [row for row in labelled if row.is_current]
    assert progress.annotations == len(current)
    per_labeller = Counter(row.name for row in current if row.source == "label")
    assert {name: figures.labels for name, figures in progress.per_labeller.items() if figures.labels} == dict(per_labeller)
    assert {name: figures.skips for name, figures in progress.per_labeller.items() if figures.skips} == skipped
    return progress


def test_sixteen_processes_keep_every_invariant(postgresql_url, open_store):
    store = open_store(postgresql_url)
    project = new_project(store, labels=LABELS, overlap=2)
    store.add_items(project.id, [f"item {i}" for i in range(ITEMS)])
    gold_ids = [int(i) for i in store.export(project.id)["item_id"][:GOLD]]
    store.set_gold(project.id, gold_ids, ["a"] * GOLD)
    store.set_gold_rate(project.id, 0.1)
    store.people.add("reviewer", role="reviewer")

    reports = _run_all(postgresql_url, project.id)

    acked = [(report["name"], *entry) for report in reports for entry in report["acked"]]
    assert len(acked) > PROCESSES, "the processes labelled almost nothing: the run says little"
    sent_back = {item_id for report in reports for item_id in report["sent_back"]}
    overlaps = [2, *(overlap for report in reports for overlap in report["overlaps"])]
    labelled, _, _, gold = _rows(store, project.id)
    assert gold == set(gold_ids)

    # Nothing acknowledged is lost: every acknowledged label is in the history as acknowledged, and each
    # labeller's last one for an item is their current label there (unless a reviewer sent the item back).
    history = {row.id: (row.item_id, row.name, from_json(row.label)) for row in labelled}
    for name, item_id, label, annotation_id in acked:
        assert history.get(annotation_id) == (item_id, name, label)
    last = {(name, item_id): label for name, item_id, label, _ in acked}
    current = {(row.name, row.item_id): from_json(row.label) for row in labelled if row.is_current}
    assert len(current) == sum(row.is_current for row in labelled), "two current labels for one labeller and item"
    for (name, item_id), label in last.items():
        if item_id not in sent_back:
            assert current.get((name, item_id)) == label, f"{name}'s label for item {item_id}"

    # No item over its overlap (the largest one in force at some point; gold items go to everyone).
    per_item = Counter(item_id for _, item_id in current if item_id not in gold)
    assert max(per_item.values(), default=0) <= max(overlaps)

    # No stuck lease or task: once every lease has run out, fresh labellers finish the project.
    _end_every_lease(store, project.id)
    _check_progress_matches_the_tables(store, project.id)
    final_overlap = store.project(project.id).overlap
    assert final_overlap == overlaps[-1]
    for n in range(final_overlap):
        drain(store, project.id, f"closer{n}")
    progress = _check_progress_matches_the_tables(store, project.id)
    assert progress.complete == progress.total
