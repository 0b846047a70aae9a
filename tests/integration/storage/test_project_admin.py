"""Projects a team can manage (labelling.storage.access, .project_admin): who may label a project, archive,
rename and delete, and label renames and merges that keep every label given. SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, update

from _helpers import wait_for_blocked
from labelling import DuplicateProject, InvalidInput, NotOnProject, ProjectArchived, ProjectNotFound
from labelling.storage.overlap import LOCK_PROJECT
from labelling.storage.schema import annotations, label_change_rows, label_changes, metadata, projects


def _items(store, project, n: int = 4) -> list[int]:
    store.add_items(project.id, [f"{project.name} item {i}" for i in range(n)])
    return store.export(project.id)["item_id"].tolist()


def _drain(store, project, labeller: str, label) -> list[int]:
    """Label everything the queue hands `labeller`; the ids of the items handed out."""
    seen = []
    while (item := store.next_item(project.id, labeller)) is not None:
        seen.append((item.project_id, item.id))
        store.submit(project.id, item.id, labeller, label)
    return seen


@pytest.fixture
def team(store):
    """Two projects: `ours` with alice and rita (a reviewer) on it, `open` with nobody assigned; bob invited."""
    for name, role in (("alice", "labeller"), ("bob", "labeller"), ("rita", "reviewer")):
        store.people.add(name, role)
    ours = store.create_project("ours", ["a", "b"])
    open_ = store.create_project("open", ["a", "b"])
    _items(store, ours)
    _items(store, open_)
    assert store.access.set_members("ours", ["rita", "alice"]) == ["alice", "rita"]
    return ours, open_


def test_a_labeller_never_receives_an_item_of_a_project_they_are_not_on(store, team):
    ours, open_ = team
    item = store.next_item(ours.id, "alice")
    with pytest.raises(NotOnProject, match="bob is not on the project 'ours'"):
        store.next_item(ours.id, "bob")
    for refused in (
        lambda: store.submit(ours.id, item.id, "bob", "a"),
        lambda: store.submit_and_next(ours.id, item.id, "bob", "a"),
        lambda: store.skip(ours.id, item.id, "bob"),
        lambda: store.undo(ours.id, "bob"),
        lambda: store.next_item(str(ours.id), "carol"),  # a name never seen: not on it either
    ):
        with pytest.raises(NotOnProject):
            refused()
    assert store.annotations(ours.id).empty  # nothing of the refusals was written
    # bob labels every project he may and receives only items of the open one; alice and admin get them all
    assert {p for p, _ in _drain(store, open_, "bob", "a")} == {open_.id}
    assert len(_drain(store, ours, "alice", "a")) == 4
    assert [p.name for p in store.access.projects_for("bob")] == ["open"]
    assert [p.name for p in store.access.projects_for("alice")] == ["ours", "open"]
    assert [p.name for p in store.access.projects_for("admin")] == ["ours", "open"]
    assert store.next_item(ours.id, "admin") is None  # admin may label it (all items are done)
    # taking everyone off opens the project to all labellers again
    assert store.access.unassign("ours", ["alice", "rita"]) == []
    assert [p.name for p in store.access.projects_for("bob")] == ["ours", "open"]
    store.access.assign("ours", ["bob"])
    assert store.access.members(ours.id) == ["bob"]


def test_assignments_name_existing_people(store, team):
    with pytest.raises(InvalidInput, match="nobody named 'zed'"):
        store.access.assign("ours", ["zed"])
    with pytest.raises(InvalidInput, match="admins see them all"):
        store.access.assign("ours", ["admin"])
    assert store.access.members("ours") == ["alice", "rita"]


def test_an_archived_project_is_hidden_read_only_and_restored_as_it_was(store, team):
    ours, _ = team
    item = store.next_item(ours.id, "alice")
    store.submit(ours.id, item.id, "alice", "b")
    archived = store.manage.archive("ours")
    assert archived.archived and [p.name for p in store.access.projects_for("alice")] == ["open"]
    assert [p.name for p in store.access.projects_for("admin")] == ["ours", "open"]
    for refused in (
        lambda: store.next_item(ours.id, "alice"),
        lambda: store.submit(ours.id, item.id, "alice", "a"),
        lambda: store.undo(ours.id, "alice"),
        lambda: store.skip(ours.id, item.id, "alice"),
        lambda: store.add_items(ours.id, ["more"]),
        lambda: store.manage.rename_label(ours.id, "a", "x", "admin"),
        lambda: store.update_project(ours.id, instructions="new"),
        lambda: store.set_overlap(ours.id, 2),
        lambda: store.set_gold(ours.id, [item.id], ["a"]),
        lambda: store.adjudicate(ours.id, item.id, "rita", "a"),
        lambda: store.send_back(ours.id, item.id, "rita"),
    ):
        with pytest.raises(ProjectArchived, match="'ours' is archived"):
            refused()
    assert store.export(ours.id)["label"].dropna().tolist() == ["b"]  # still readable
    restored = store.manage.restore(ours.id)
    assert not restored.archived and store.undo(ours.id, "alice").my_label == "b"


def test_rename_a_project_and_name_it_by_name_or_id(store, team):
    ours, _ = team
    with pytest.raises(DuplicateProject):
        store.manage.rename(ours.id, "open")
    renamed = store.manage.rename(ours.id, "ours, 2026")
    assert (renamed.id, store.project("ours, 2026").id, store.project(str(ours.id)).name) == (ours.id, ours.id, "ours, 2026")
    with pytest.raises(ProjectNotFound):
        store.project("ours")
    digits = store.create_project(str(ours.id), ["a"])  # a name of digits wins over the same id
    assert store.project(str(ours.id)).id == digits.id


def _labels_of(store, project_id) -> list:
    with store.engine.connect() as connection:
        return connection.execute(
            select(annotations.c.label).where(annotations.c.project_id == project_id).order_by(annotations.c.id)
        ).scalars().all()


def test_renaming_a_label_rewrites_every_use_and_keeps_what_was_given(store):
    project = store.create_project("pets", ["cat", "dog"], overlap=2)
    ids = _items(store, project, 3)
    for who, label in (("ann", "cat"), ("ben", "cat")):
        item = store.next_item(project.id, who)
        store.submit(project.id, item.id, who, label)
    undone = store.undo(project.id, "ben")  # ben changes his mind: the 'cat' row stays as history
    store.submit(project.id, undone.id, "ben", "dog")
    store.set_gold(project.id, [ids[2]], ["cat"])
    store.adjudicate(project.id, ids[0], "admin", "cat")
    store.model_data.write_predictions(project.id, 1, [ids[1]], ["cat"], [0.9])
    before = _labels_of(store, project.id)
    assert before.count('"cat"') == 2 and len(before) == 3

    change = store.manage.rename_label(project.id, "cat", "feline", "admin")
    assert (change.kind, change.old_label, change.new_label, change.annotations) == ("rename", "cat", "feline", 2)
    assert store.project(project.id).labels == ("feline", "dog")
    assert _labels_of(store, project.id) == [label.replace("cat", "feline") for label in before]
    with store.engine.connect() as connection:
        kept = connection.execute(select(label_change_rows.c.previous)).scalars().all()
    assert kept == ['"cat"', '"cat"']  # the labels as given, one row per rewritten annotation
    final = store.final_labels(project.id).set_index("item_id")["label"]
    assert final[ids[0]] == "feline" and final[ids[2]] == "feline"  # the review and the gold label
    assert store.gold(project.id)["label"].tolist() == ["feline"]
    assert store.model_data.prediction(project.id, ids[1]).label == "feline"
    assert "cat" not in set(store.export(project.id).astype(str).to_numpy().ravel())
    assert [c.kind for c in store.manage.label_history("pets")] == ["rename"]
    with pytest.raises(InvalidInput, match="merge 'feline' into it"):
        store.manage.rename_label(project.id, "feline", "dog", "admin")
    with pytest.raises(InvalidInput, match="not a label"):
        store.manage.rename_label(project.id, "cat", "kitty", "admin")
    with pytest.raises(InvalidInput, match="called 'dog' already"):  # not "merge 'dog' into itself"
        store.manage.rename_label(project.id, "dog", "dog", "admin")


def test_merging_labels_of_a_multi_label_project_keeps_each_label_once(store):
    project = store.create_project("tags", ["red", "crimson", "blue"], multi_label=True)
    _items(store, project, 2)
    item = store.next_item(project.id, "ann")
    store.submit(project.id, item.id, "ann", ["red", "crimson"])
    other = store.next_item(project.id, "ann")
    store.submit(project.id, other.id, "ann", ["crimson", "blue"])
    change = store.manage.merge_labels(project.id, "crimson", "red", "admin")
    assert change.annotations == 2 and store.project(project.id).labels == ("red", "blue")
    assert _labels_of(store, project.id) == ['["red"]', '["red", "blue"]']
    assert store.export(project.id)["label"].tolist() == [("red",), ("red", "blue")]
    with store.engine.connect() as connection:
        assert connection.execute(select(label_change_rows.c.previous)).scalars().all() == [
            '["red", "crimson"]', '["crimson", "blue"]'
        ]
    with pytest.raises(InvalidInput, match="two different labels"):
        store.manage.merge_labels(project.id, "red", "red", "admin")


def _rows_of(store, project_id, annotation_ids, change_ids) -> dict[str, int]:
    """Per table, its rows that belong to the project: by project_id, else by the annotation or change."""
    counts = {}
    with store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if "project_id" in table.c:
                where = table.c.project_id == project_id
            elif table is label_change_rows:
                where = table.c.annotation_id.in_(annotation_ids) | table.c.change_id.in_(change_ids)
            else:
                continue
            counts[table.name] = connection.execute(select(func.count()).select_from(table).where(where)).scalar()
    return counts


def test_deleting_a_project_leaves_nothing_of_it_in_any_table(store, team):
    ours, open_ = team
    store.set_overlap(ours.id, 2)
    ids = store.export(ours.id)["item_id"].tolist()
    for who, label in (("alice", "a"), ("rita", "b")):
        item = store.next_item(ours.id, who)
        store.submit(ours.id, item.id, who, label)
    store.skip(ours.id, store.next_item(ours.id, "alice").id, "alice")
    store.set_gold(ours.id, [ids[3]], ["a"])
    store.adjudicate(ours.id, ids[0], "rita", "a")
    run = store.runs.start(ours.id, "request")
    store.runs.claim_lease(ours.id, "worker", 60)
    store.model_data.write_predictions(ours.id, run.id, ids[1:3], ["a", "b"], [0.6, 0.7], random_picks=[True, False])
    store.assessment.keep_cold_start_picks(ours.id, 0.0)
    store.assessment.set_stop_predictions(ours.id, run.id, ids[:2], ["a", "b"])
    store.assessment.set_label_issues(ours.id, run.id, [(ids[0], "a", "b", 0.2, 0.8)])
    store.embeddings.claim(ours.id, "", "m", "worker", 2)
    store.embeddings.write(ours.id, "", "m", ids[:2], np.ones((2, 3), dtype=np.float32))
    store.problems.report(ours.id, ids[2], "alice", "blurry")
    store.manage.rename_label(ours.id, "a", "alpha", "admin")
    store.versions.save(ours.id, "friday", by="rita")
    _drain(store, open_, "bob", "a")  # the other project, which must keep everything
    with store.engine.connect() as connection:
        annotation_ids = connection.execute(select(annotations.c.id).where(annotations.c.project_id == ours.id)).scalars().all()
        change_ids = connection.execute(select(label_changes.c.id).where(label_changes.c.project_id == ours.id)).scalars().all()
    before = _rows_of(store, ours.id, annotation_ids, change_ids)
    assert not [name for name, count in before.items() if count == 0]  # every table had rows of it
    kept = _rows_of(store, open_.id, [], [])

    store.delete_project(ours.id)

    assert set(_rows_of(store, ours.id, annotation_ids, change_ids).values()) == {0}
    assert _rows_of(store, open_.id, [], []) == kept
    assert [p.name for p in store.projects()] == ["open"]
    assert {p.name for p in store.people.all()} >= {"alice", "bob", "rita"}  # people are not the project's


def test_deleting_a_project_removes_its_saved_models(store, tmp_path, monkeypatch):
    from labelling.learning import model_files

    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path))
    gone, kept = store.create_project("gone", ["a"]), store.create_project("kept", ["a"])
    for project in (gone, kept):
        path = model_files.model_path(store, project.id, 1)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"model")
    model_files.delete_project(store, "gone")
    assert not model_files.model_path(store, gone.id, 1).parent.exists()
    assert model_files.model_path(store, kept.id, 1).is_file()
    assert [p.name for p in store.projects()] == ["kept"]


def test_the_worker_takes_projects_by_name_or_id_and_never_trains_an_archived_one(store):
    from labelling.learning.worker import orchestrate

    made = [store.create_project(name, ["a", "b"]) for name in ("kept", "archived", "other")]
    for project in made:
        _items(store, project)
        store.request_training(project.id)
    store.manage.archive("archived")
    assert orchestrate(store, once=True, duty_cycle=1.0, projects=["kept", str(made[1].id)]) == 1
    assert [[r.status for r in store.training_runs(p.id)] for p in made] == [["finished"], ["queued"], ["queued"]]
    with pytest.raises(ProjectNotFound):
        orchestrate(store, once=True, projects=["nope"])


def test_a_reviewer_not_on_the_project_cannot_review_it(store, team):
    ours, _ = team
    store.people.add("ray", "reviewer")
    item = store.next_item(ours.id, "alice")
    store.submit(ours.id, item.id, "alice", "a")
    for refused in (
        lambda: store.adjudicate(ours.id, item.id, "ray", "b"),
        lambda: store.send_back(ours.id, item.id, "ray"),
    ):
        with pytest.raises(NotOnProject, match="ray is not on the project 'ours'"):
            refused()
    assert store.adjudicate(ours.id, item.id, "rita", "b") == "b"  # rita is on it
    assert store.adjudicate(ours.id, item.id, "admin", "a") == "a"


def test_members_changed_elsewhere_apply_within_the_access_cache(store, team, open_store, monkeypatch):
    """Another process (here another store) takes bob off `open`: this store's yes for him lasts at most
    ACCESS_CACHE_SECONDS, then he is refused."""
    from labelling.storage import access

    _, open_ = team
    clock = [1000.0]
    monkeypatch.setattr(access, "_now", lambda: clock[0])
    assert store.next_item(open_.id, "bob") is not None
    open_store(store.engine.url.render_as_string(hide_password=False)).access.set_members("open", ["alice"])
    assert store.next_item(open_.id, "bob") is not None  # his lease, within the cache's time
    clock[0] += access.ACCESS_CACHE_SECONDS
    with pytest.raises(NotOnProject):
        store.next_item(open_.id, "bob")


@pytest.mark.parametrize("one_statement", [True, False], ids=["submit_and_next", "submit"])
def test_a_label_renamed_by_another_process_is_refused_at_once(store, open_store, one_statement):
    """This store has the project cached (PROJECT_CACHE_SECONDS) when another process renames 'cat': a 'cat'
    sent now is refused and nothing is recorded, a 'feline' is taken, and adding a label elsewhere costs the
    labeller nothing (the label is checked again against the project read afresh)."""
    project = store.create_project("pets", ["cat", "dog"])
    _items(store, project, 3)
    held = store.next_item(project.id, "ann")  # the project is now cached here
    other = open_store(store.engine.url.render_as_string(hide_password=False))
    other.manage.rename_label(project.id, "cat", "feline", "admin")
    send = (lambda label: store.submit_and_next(project.id, held.id, "ann", label)) if one_statement else (
        lambda label: store.submit(project.id, held.id, "ann", label)
    )
    with pytest.raises(InvalidInput, match="'cat'"):
        send("cat")
    assert store.annotations(project.id).empty
    send("feline")
    other.update_project(project.id, labels=["feline", "dog", "bird"])
    nxt = store.next_item(project.id, "ann")
    send_next = store.submit_and_next if one_statement else store.submit
    send_next(project.id, nxt.id, "ann", "dog")
    assert sorted(store.annotations(project.id)["label"]) == ["dog", "feline"]


def test_a_label_set_stored_in_another_json_layout_still_takes_labels(store):
    """The click's statement compares the stored text; a row written another way (no spaces, here) sends the
    click down the slow path, which compares the labels themselves and records the label."""
    project = store.create_project("pets", ["café", "dog"])
    _items(store, project, 2)
    with store.engine.begin() as connection:
        connection.execute(update(projects).where(projects.c.id == project.id).values(labels='["café","dog"]'))
    item = store.next_item(project.id, "ann")
    _, following = store.submit_and_next(project.id, item.id, "ann", "café")
    store.submit(project.id, following.id, "ann", "dog")
    assert sorted(store.annotations(project.id)["label"]) == ["café", "dog"]


@pytest.mark.parametrize("writer", ["adjudicate", "set_gold", "add_items", "write_labels", "write_predictions"])
def test_a_label_given_while_a_rename_commits_is_checked_against_the_new_label_set(postgresql_url, open_store, writer):
    """A rename holds the project's lock while it rewrites every use of the old name: a reviewer's final label,
    a gold label, a label imported with new items or onto items already there, or an imported prediction that
    waits behind it is checked against the label set it committed, not the one read before the wait (which
    recorded 'cat' after every 'cat' had become 'feline')."""
    store = open_store(postgresql_url)
    project = store.create_project("pets", ["cat", "dog"])
    (item,) = _items(store, project, 1)
    give = {
        "adjudicate": lambda label: store.adjudicate(project.id, item, "admin", label),
        "set_gold": lambda label: store.set_gold(project.id, [item], [label]),
        "add_items": lambda label: store.add_items(project.id, ["one more"], [label]),
        "write_labels": lambda label: store.item_labels.write_labels(project.id, [item], [label]),
        "write_predictions": lambda label: store.item_labels.write_predictions(project.id, [item], [label], [0.9]),
    }[writer]
    outcome: list[BaseException | None] = []

    def send_cat() -> None:
        try:
            give("cat")
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - the thread hands every outcome to the test
            outcome.append(error)

    holder = create_engine(postgresql_url)
    try:
        with holder.connect() as renaming:  # the rename's lock and its last write, not committed yet
            renaming.execute(LOCK_PROJECT, {"project": project.id})
            renaming.execute(update(projects).where(projects.c.id == project.id).values(labels='["feline", "dog"]'))
            waiter = threading.Thread(target=send_cat)
            waiter.start()
            wait_for_blocked(renaming)
            renaming.commit()
            waiter.join(30)
    finally:
        holder.dispose()
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput) and "'cat'" in str(outcome[0]), outcome
    give("feline")
    if writer == "write_predictions":
        assert store.next_item(project.id, "ann").suggestion.label == "feline"
    else:
        written = {"adjudicate": store.final_labels, "set_gold": store.gold}.get(writer, store.annotations)
        assert written(project.id)["label"].tolist() == ["feline"]
