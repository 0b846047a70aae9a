"""Real OS processes labelling at once ('spawn': each process imports the library and connects itself).

Workers wait on a Barrier so they start together; nothing here sleeps or measures time.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import traceback
from collections import Counter

import pytest

from _helpers import current_annotations, new_project

WORKERS = 8
POPS = 40
LABELS = ("a", "b", "c")
START_TIMEOUT = 120  # seconds to wait for every process to import and connect (a deadline, not a delay)
RESULT_TIMEOUT = 180


def _label_for(item_id: int, labeller: str) -> str:
    return LABELS[(item_id + len(labeller)) % len(LABELS)]


def _worker(url, project_id, labeller, pops, barrier, results):
    """next_item + submit `pops` times; reports what it was handed and what it recorded."""
    handed, submitted, lost, errors = [], [], [], []
    store = None
    try:
        from labelling import Store
        from labelling.errors import LeaseLost

        store = Store.connect(url)
        barrier.wait(timeout=START_TIMEOUT)
        for _ in range(pops):
            item = store.next_item(project_id, labeller)
            if item is None:
                break
            handed.append(item.id)
            label = _label_for(item.id, labeller)
            try:
                annotation = store.submit(project_id, item.id, labeller, label)
            except LeaseLost:
                lost.append(item.id)
                continue
            submitted.append((item.id, annotation.label, annotation.id))
    except BaseException:  # reported to the parent, which fails the test with the traceback
        errors.append(traceback.format_exc())
        try:
            barrier.abort()
        except Exception:
            pass
    finally:
        if store is not None:
            store.close()
        results.put({"labeller": labeller, "handed": handed, "submitted": submitted, "lost": lost, "errors": errors})


def _run(url, project_id, labellers, pops):
    """Start one process per name in `labellers` (names may repeat), release them together, collect results."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(labellers) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, project_id, name, pops, barrier, results), daemon=True)
        for name in labellers
    ]
    for process in processes:
        process.start()
    try:
        try:
            barrier.wait(timeout=START_TIMEOUT)
        except Exception:
            pass  # a worker failed to start: its traceback arrives on the queue
        collected = []
        for _ in processes:
            try:
                collected.append(results.get(timeout=RESULT_TIMEOUT))
            except queue_module.Empty:
                pytest.fail(f"only {len(collected)} of {len(processes)} workers reported back")
        for process in processes:
            process.join(timeout=RESULT_TIMEOUT)
            assert process.exitcode == 0, f"worker exited with {process.exitcode}"
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    errors = [e for r in collected for e in r["errors"]]
    assert not errors, "\n".join(errors)
    return collected


def _check_recorded(store, project_id, results):
    """Zero lost submissions: every successful submit is one current annotation, with its label."""
    submitted = {(item_id, r["labeller"]): label for r in results for item_id, label, _ in r["submitted"]}
    current = current_annotations(store, project_id)
    recorded = {(int(i), n): label for i, n, label in zip(current["item_id"], current["labeller"], current["label"])}
    assert len(current) == len(recorded), "two current labels for one (item, labeller)"
    assert recorded == submitted
    export = store.export(project_id).set_index("item_id")
    for (item_id, labeller), label in submitted.items():
        assert export.loc[item_id, f"label:{labeller}"] == label
    return current


def test_eight_processes_never_share_an_item_or_lose_a_label(store, db_url):
    project = new_project(store, labels=LABELS)
    store.add_items(project.id, [{"text": f"item {i}", "i": i} for i in range(1000)])
    labellers = [f"labeller{j}" for j in range(WORKERS)]

    results = _run(db_url, project.id, labellers, POPS)

    handed = [(item_id, r["labeller"]) for r in results for item_id in r["handed"]]
    assert len(handed) == WORKERS * POPS  # 1000 items: nobody ran dry
    per_item = Counter(item_id for item_id, _ in handed)
    shared = {item_id: n for item_id, n in per_item.items() if n > 1}
    assert not shared, f"items handed to more than one labeller: {shared}"
    assert all(not r["lost"] for r in results), "LeaseLost with 600 s leases"
    n_submitted = sum(len(r["submitted"]) for r in results)
    assert n_submitted == WORKERS * POPS
    current = _check_recorded(store, project.id, results)
    assert len(current) == n_submitted
    progress = store.progress(project.id)
    assert (progress.total, progress.complete, progress.annotations) == (1000, n_submitted, n_submitted)
    assert sum(p.labels for p in progress.per_labeller.values()) == n_submitted
    assert progress.in_progress == 0


def test_eight_processes_with_overlap_two(store, db_url):
    project = new_project(store, labels=LABELS, overlap=2)
    n_items = 150  # 300 tasks; each worker may pop until the queue runs dry, so every task is handed out
    store.add_items(project.id, [f"item {i}" for i in range(n_items)])
    labellers = [f"labeller{j}" for j in range(WORKERS)]

    results = _run(db_url, project.id, labellers, 2 * n_items)

    for r in results:
        assert len(r["handed"]) == len(set(r["handed"])), f"{r['labeller']} was handed an item twice"
    handed_to = Counter(item_id for r in results for item_id in r["handed"])
    assert max(handed_to.values()) <= 2
    assert sum(handed_to.values()) == 2 * n_items  # the queue ran dry: every task was handed out once
    assert all(not r["lost"] for r in results)
    current = _check_recorded(store, project.id, results)
    labels_per_item = Counter(int(i) for i in current["item_id"])
    assert max(labels_per_item.values()) <= 2
    assert len(current) == 2 * n_items
    for item_id, group in current.groupby("item_id"):
        assert group["labeller"].is_unique, f"item {item_id} labelled twice by one labeller"
    progress = store.progress(project.id)
    assert progress.complete == n_items
    assert progress.annotations == 2 * n_items


def test_one_labeller_in_two_processes_never_records_two_labels_on_an_item(store, db_url):
    project = new_project(store, labels=LABELS)
    n_items = 60
    store.add_items(project.id, [f"item {i}" for i in range(n_items)])

    results = _run(db_url, project.id, ["alice", "alice"], 50)

    current = _check_recorded(store, project.id, results)
    per_item = Counter(int(i) for i in current["item_id"])
    assert max(per_item.values()) == 1, {i: n for i, n in per_item.items() if n > 1}
    submitted_items = {item_id for r in results for item_id, _, _ in r["submitted"]}
    assert set(per_item) == submitted_items
    # Both tabs see the same lease, so every hand-out is of an item the other tab got or will get.
    history = store.annotations(project.id)
    assert set(history["labeller"]) == {"alice"}
    progress = store.progress(project.id)
    assert progress.annotations == len(submitted_items)
    assert progress.per_labeller["alice"].labels == len(submitted_items)
    assert progress.complete == len(submitted_items)
