"""Stored embeddings (labelling.storage.embeddings): claims, batches, vectors, progress and cascades, on
SQLite and PostgreSQL; several workers splitting the claims without overlap on PostgreSQL."""

from __future__ import annotations

import threading

import numpy as np
import pytest

MODEL = "test-model"


@pytest.fixture
def project(store):
    made = store.create_project("texts", ["a", "b"])
    store.add_items(made.id, [f"text {i}" for i in range(10)])
    return made


def fake_vectors(ids, dim=4):
    """A recognisable vector per item: its id in every place."""
    return np.array([[float(i)] * dim for i in ids], dtype=np.float32)


def test_claim_write_and_read_back(store, project):
    assert store.embeddings.progress(project.id, "", MODEL) == (0, 10)
    ids, data = store.embeddings.claim(project.id, "", MODEL, "w1", rows=4)
    assert len(ids) == 4 and ids == sorted(ids)
    assert len(data) == 4
    # Claimed items are nobody else's while the claim lives; the next claim takes the next ones.
    more, _ = store.embeddings.claim(project.id, "", MODEL, "w2", rows=100)
    assert len(more) == 6 and not set(more) & set(ids)
    assert store.embeddings.write(project.id, "", MODEL, ids, fake_vectors(ids)) == 4
    assert store.embeddings.progress(project.id, "", MODEL) == (4, 10)
    wanted = [ids[2], more[0], ids[0]]
    vectors, present = store.embeddings.vectors(project.id, "", MODEL, wanted)
    assert present.tolist() == [True, False, True]
    assert vectors.dtype == np.float32 and vectors.shape == (3, 4)
    np.testing.assert_array_equal(vectors[[0, 2]], fake_vectors([ids[2], ids[0]]))
    assert np.isnan(vectors[1]).all()
    # Another column or model is another vector.
    assert store.embeddings.progress(project.id, "text", MODEL) == (0, 10)
    assert store.embeddings.progress(project.id, "", "other") == (0, 10)


def test_nothing_stored_reads_as_no_columns(store, project):
    vectors, present = store.embeddings.vectors(project.id, "", MODEL, [1, 2])
    assert vectors.shape == (2, 0) and not present.any()


def test_a_dead_workers_claims_expire_and_are_taken_again(store, project):
    ids, _ = store.embeddings.claim(project.id, "", MODEL, "dead", rows=10, seconds=-1.0)
    assert len(ids) == 10
    again, _ = store.embeddings.claim(project.id, "", MODEL, "alive", rows=10)
    assert again == ids
    store.embeddings.write(project.id, "", MODEL, again, fake_vectors(again))
    assert store.embeddings.claim(project.id, "", MODEL, "alive", rows=10) == ([], [])
    assert store.embeddings.progress(project.id, "", MODEL) == (10, 10)
    # A stored vector is never claimed again, whatever its claim's expiry was.
    assert store.embeddings.claim(project.id, "", MODEL, "late", rows=10, after=-1) == ([], [])


def test_a_claim_looks_past_the_last_one_first_then_from_the_start(store, project):
    ids, _ = store.embeddings.claim(project.id, "", MODEL, "dead", rows=10, seconds=-1.0)  # expired at once
    assert store.embeddings.claim(project.id, "", MODEL, "w", rows=3, after=ids[4])[0] == ids[5:8]
    assert store.embeddings.claim(project.id, "", MODEL, "w", rows=10, after=ids[7])[0] == ids[8:]
    # Nothing is left past the last claim: the ones before it (a dead worker's, expired) are taken.
    assert store.embeddings.claim(project.id, "", MODEL, "w", rows=10, after=ids[-1])[0] == ids[:5]


def test_a_vector_stored_twice_keeps_the_first(store, project):
    ids, _ = store.embeddings.claim(project.id, "", MODEL, "slow", rows=2, seconds=-1.0)
    store.embeddings.claim(project.id, "", MODEL, "fast", rows=2)
    assert store.embeddings.write(project.id, "", MODEL, ids, fake_vectors(ids)) == 2
    assert store.embeddings.write(project.id, "", MODEL, ids, fake_vectors(ids) + 1) == 0
    vectors, _ = store.embeddings.vectors(project.id, "", MODEL, ids)
    np.testing.assert_array_equal(vectors, fake_vectors(ids))


def test_a_batch_of_the_wrong_shape_is_refused(store, project):
    with pytest.raises(ValueError):
        store.embeddings.write(project.id, "", MODEL, [1, 2], np.zeros((3, 4)))


def test_deleting_the_project_deletes_its_vectors_and_claims(store, project):
    ids, _ = store.embeddings.claim(project.id, "", MODEL, "w", rows=6)
    store.embeddings.write(project.id, "", MODEL, ids[:3], fake_vectors(ids[:3]))
    other = store.create_project("other", ["a", "b"])
    store.add_items(other.id, ["x"])
    store.delete_project(project.id)
    with store.engine.connect() as connection:
        left = connection.exec_driver_sql("SELECT count(*) FROM embeddings").scalar()
    assert left == 0
    assert store.embeddings.progress(other.id, "", MODEL) == (0, 1)


def test_workers_split_the_claims_without_overlap(postgresql_url, open_store):
    """Several stores (as several processes would) claim and write at once until nothing is left: every
    item is claimed by exactly one of them and stored once."""
    workers = 4
    stores = [open_store(postgresql_url) for _ in range(workers)]
    made = stores[0].create_project("many", ["a", "b"])
    stores[0].add_items(made.id, [f"text {i}" for i in range(400)])
    start = threading.Barrier(workers)
    claimed: list[list[int]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            while True:
                ids, _ = stores[n].embeddings.claim(made.id, "", MODEL, f"w{n}", rows=7)
                if not ids:
                    return
                claimed[n] += ids
                stores[n].embeddings.write(made.id, "", MODEL, ids, fake_vectors(ids))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    every = [i for ids in claimed for i in ids]
    assert len(every) == len(set(every)) == 400
    assert stores[0].embeddings.progress(made.id, "", MODEL) == (400, 400)
