"""Review and agreement through the Store, on SQLite and PostgreSQL: disagreements listed and filtered, a
reviewer's final label winning in export, items sent back for new labels with their history kept, and the
agreement figures of real labels matching hand-worked values."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from labelling import InvalidInput, ItemNotFound, Store
from labelling.storage import statements
from labelling.storage.engine import write
from labelling.errors import NotAReviewer
from labelling.storage.schema import labellers, predictions, tasks
from _helpers import current_annotations, drain, ids_by_data, new_project, wait_for_blocked


def labelled(store, votes: dict[str, dict[str, object]], labels=("a", "b"), overlap=2, **options):
    """A project whose items (named by their data) carry the given labels: {item: {labeller: label}}.
    A label sent for an item the labeller does not hold takes a free slot of it (Store.submit)."""
    project = new_project(store, labels, overlap=overlap, **options)
    store.add_items(project.id, list(votes))
    ids = ids_by_data(store, project.id)
    for data, by_labeller in votes.items():
        for name, label in by_labeller.items():
            store.submit(project.id, ids[data], name, label)
    return project, ids


@pytest.fixture
def rita(store):
    store.people.add("rita", "reviewer")
    return "rita"


def test_disagreements_are_listed_least_agreement_first(store, rita):
    project, ids = labelled(
        store,
        {
            "same": {"alice": "a", "bob": "a"},
            "tie": {"alice": "a", "bob": "b"},
            "two-to-one": {"alice": "a", "bob": "a", "carol": "b"},
            "alone": {"alice": "b"},
        },
        overlap=3,
    )
    listed, total = store.review_items(project.id)
    assert total == 2
    assert [i.item_id for i in listed] == [ids["tie"], ids["two-to-one"]]
    tie = listed[0]
    assert tie.votes == {"alice": "a", "bob": "b"}
    assert tie.agreement == 0.5 and tie.final.tie and tie.final.label is None
    assert tie.data == "tie"
    assert listed[1].agreement == pytest.approx(2 / 3) and listed[1].final.label == "a"
    assert tie.suggestion is None  # no model has run


def test_review_filters(store, rita):
    project, ids = labelled(
        store,
        {
            "x": {"alice": "a", "bob": "b"},
            "y": {"alice": "a", "carol": "a", "dave": "b"},
            "z": {"carol": "b", "dave": "a"},
        },
        overlap=3,
    )

    def found(**filters):
        return sorted(i.item_id for i in store.review_items(project.id, **filters)[0])

    assert found(labeller="alice") == sorted([ids["x"], ids["y"]])
    assert found(labeller="bob") == [ids["x"]]
    assert found(max_agreement=0.5) == sorted([ids["x"], ids["z"]])
    assert found(label="b", labeller="dave") == sorted([ids["y"], ids["z"]])
    assert found(labeller="nobody") == []
    listed, total = store.review_items(project.id, limit=1)
    assert len(listed) == 1 and total == 3


def test_a_reviewers_final_label_wins_in_export_and_is_recorded(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}, "y": {"alice": "a", "bob": "a"}})
    assert store.adjudicate(project.id, ids["x"], "rita", "b") == "b"
    export = store.export(project.id).set_index("data")
    assert export.loc["x", "label"] == "b"
    assert export.loc["x", "label_source"] == "review" and export.loc["x", "reviewed_by"] == "rita"
    assert not export.loc["x", "tie"]
    assert (export.loc["x", "label:alice"], export.loc["x", "label:bob"]) == ("a", "b")  # votes kept
    assert export.loc["y", "label_source"] == "majority" and pd.isna(export.loc["y", "reviewed_by"])
    finals = store.final_labels(project.id).set_index("item_id")
    assert (finals.loc[ids["x"], "label"], finals.loc[ids["x"], "reviewer"]) == ("b", "rita")

    assert store.review_items(project.id)[1] == 0  # reviewed: no longer waiting
    reviewed, _ = store.review_items(project.id, reviewed=True)
    assert [i.item_id for i in reviewed] == [ids["x"]]
    assert reviewed[0].final.source == "review"

    store.adjudicate(project.id, ids["x"], "admin", "a")  # admins review too; the newest decision counts
    assert store.export(project.id).set_index("data").loc["x", "reviewed_by"] == "admin"
    assert store.final_labels(project.id).set_index("item_id").loc[ids["x"], "label"] == "a"


def test_a_reviewer_may_set_a_label_nobody_gave(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "a"}}, labels=("a", "b", "c"))
    store.adjudicate(project.id, ids["x"], "rita", "c")
    assert store.export(project.id)["label"].tolist() == ["c"]


def test_only_reviewers_and_admins_review(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}})
    person, _ = store.people.add("lena")
    for name in ("alice", "lena", "nobody"):
        with pytest.raises(NotAReviewer, match="not a reviewer"):
            store.adjudicate(project.id, ids["x"], name, "a")
        with pytest.raises(NotAReviewer):
            store.send_back(project.id, ids["x"], name)
    store.people.revoke("rita")
    with pytest.raises(NotAReviewer):
        store.adjudicate(project.id, ids["x"], "rita", "a")
    store.people.set_role("lena", "reviewer")
    store.adjudicate(project.id, ids["x"], "lena", "a")
    assert store.export(project.id)["reviewed_by"].tolist() == ["lena"]
    assert "nobody" not in {p.name for p in store.people.all()}  # a refused name is not created


def test_bad_adjudications_are_refused(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}})
    with pytest.raises(InvalidInput, match="not in the label set"):
        store.adjudicate(project.id, ids["x"], "rita", "c")
    with pytest.raises(InvalidInput, match="no final label"):
        store.adjudicate(project.id, ids["x"], "rita", None)
    with pytest.raises(ItemNotFound):
        store.adjudicate(project.id, 10_000, "rita", "a")
    with pytest.raises(ItemNotFound):
        store.send_back(project.id, 10_000, "rita")
    assert store.final_labels(project.id)["source"].tolist() == ["tie"]


def test_send_back_supersedes_labels_keeps_history_and_reopens_the_item(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}, "y": {"alice": "a", "bob": "a"}})
    store.adjudicate(project.id, ids["x"], "rita", "a")
    assert store.progress(project.id).complete == 2

    assert store.send_back(project.id, ids["x"], "rita") == 2
    assert store.progress(project.id).complete == 1
    history = store.annotations(project.id)
    assert len(history) == 4  # nothing deleted
    assert set(current_annotations(store, project.id)["item_id"]) == {ids["y"]}
    export = store.export(project.id).set_index("data")
    assert export.loc["x", "n_labels"] == 0 and pd.isna(export.loc["x", "reviewed_by"])  # adjudication gone
    assert store.review_items(project.id)[1] == 0

    # New labels, from anyone (the first labellers too): the item is labelled again by `overlap` people.
    assert drain(store, project.id, "carol", label="b") == [ids["x"]]
    assert drain(store, project.id, "alice", label="b") == [ids["x"]]
    assert store.next_item(project.id, "dave") is None
    export = store.export(project.id).set_index("data")
    assert (export.loc["x", "label"], export.loc["x", "label_source"], export.loc["x", "n_labels"]) == ("b", "majority", 2)


def test_send_back_leaves_a_held_task_with_its_labeller(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}}, overlap=3)
    assert store.next_item(project.id, "carol").id == ids["x"]
    store.send_back(project.id, ids["x"], "rita")
    assert store.next_item(project.id, "carol").id == ids["x"]
    store.submit(project.id, ids["x"], "carol", "a")
    with write(store.engine) as connection:
        slots = connection.execute(select(tasks.c.done).where(tasks.c.item_id == ids["x"])).scalars().all()
    assert sorted(slots) == [False, False, True]  # still 3 slots; 2 open for new labels


def test_send_back_of_a_reopened_label_lets_its_labeller_label_again(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}})
    assert store.undo(project.id, "bob").id == ids["x"]  # bob is changing his label right now
    store.send_back(project.id, ids["x"], "rita")
    store.submit(project.id, ids["x"], "bob", "a")  # takes a free slot: recorded
    assert current_annotations(store, project.id)["labeller"].tolist() == ["bob"]


def test_the_models_suggestion_is_shown_when_there_is_one(store, rita):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "b"}, "y": {"alice": "b", "bob": "a"}})
    with write(store.engine) as connection:
        connection.execute(
            predictions.insert().values(item_id=ids["x"], project_id=project.id, label='"b"', probability=0.8, run_id=1)
        )
    listed = {i.item_id: i for i in store.review_items(project.id)[0]}
    assert (listed[ids["x"]].suggestion, listed[ids["x"]].suggestion_probability) == ("b", 0.8)
    assert listed[ids["y"]].suggestion is None


# Agreement of real labels (hand-worked values: see tests/unit/quality/test_quality.py)


def test_agreement_figures_of_two_labellers(store):
    """alice a a a b b, bob a a b b b: kappa = 0.32 / 0.52; alpha: o_aa = o_bb = 4, o_ab = o_ba = 1,
    n = 10: 1 - 9 * 2 / 50 = 0.64 (and the same for each label's yes/no question, with two labels)."""
    alice, bob = "aaabb", "aabbb"
    project, _ = labelled(store, {f"i{n}": {"alice": alice[n], "bob": bob[n]} for n in range(5)})
    figures = store.agreement(project.id)
    assert figures.alpha.value == pytest.approx(0.64) and figures.alpha.items == 5
    assert figures.per_label["alpha"].tolist() == pytest.approx([0.64, 0.64])
    assert figures.per_label["items"].tolist() == [5, 5]
    (pair,) = figures.kappa.to_dict("records")
    assert (pair["labeller_a"], pair["labeller_b"], pair["items"]) == ("alice", "bob", 5)
    assert pair["kappa"] == pytest.approx(0.32 / 0.52)
    stats = figures.labellers.set_index("labeller")
    # Item 2 is a tie (no final label): it counts against both; they agree with the majority on the other 4.
    assert stats.loc["alice", "agreement"] == 0.8 and stats.loc["alice", "agreement_items"] == 5
    assert stats.loc["bob", "agreement"] == 0.8 and stats.loc["bob", "agreement_items"] == 5
    assert stats.loc["alice", "labels"] == 5 and stats.loc["alice", "skips"] == 0


def test_agreement_with_missing_labels(store):
    """Three labellers, not all on every item: alpha = 1/3 over the 2 items with two or more labels."""
    project, _ = labelled(
        store,
        {"one": {"alice": "a", "bob": "a"}, "two": {"alice": "a", "bob": "b", "carol": "b"}, "three": {"carol": "b"}},
        overlap=3,
    )
    figures = store.agreement(project.id)
    assert figures.alpha.value == pytest.approx(1 / 3) and figures.alpha.items == 2
    kappa = {(r["labeller_a"], r["labeller_b"]): (r["kappa"], r["items"]) for r in figures.kappa.to_dict("records")}
    assert kappa[("alice", "bob")][1] == 2 and kappa[("alice", "bob")][0] == pytest.approx(0.0)
    assert kappa[("alice", "carol")] == (0.0, 1)  # one item, a against b: p_o = p_e = 0
    assert np.isnan(kappa[("bob", "carol")][0]) and kappa[("bob", "carol")][1] == 1  # b and b only: undefined
    stats = figures.labellers.set_index("labeller")
    # Final labels: "one" a, "two" b (2 to 1). Alice agrees on one of two, carol on her one shared item.
    assert stats.loc["alice", "agreement"] == 0.5 and stats.loc["alice", "agreement_items"] == 2
    assert stats.loc["carol", "agreement"] == 1.0 and stats.loc["carol", "agreement_items"] == 1


def test_agreement_of_a_multi_label_project_is_per_label(store):
    """Items ({x}, {x}) and ({x, y}, {x}): per label, x is "yes" everywhere (not defined), y gives
    units (no, no) and (yes, no): o = [[2, 1], [1, 0]], n = 4: 1 - 3 * 2 / 6 = 0. Overall, pooled:
    units (T,T), (F,F), (T,T), (T,F): n_T = 5, n_F = 3: 1 - 7 * 2 / 30 = 8/15."""
    project, _ = labelled(
        store,
        {"p": {"alice": ["x"], "bob": ["x"]}, "q": {"alice": ["x", "y"], "bob": ["x"]}},
        labels=("x", "y"),
        multi_label=True,
    )
    figures = store.agreement(project.id)
    assert figures.alpha.value == pytest.approx(8 / 15) and figures.alpha.items == 2
    per_label = figures.per_label.set_index("label")
    assert per_label["alpha"].isna()["x"] and per_label.loc["x", "items"] == 2
    assert per_label.loc["y", "alpha"] == pytest.approx(0.0)
    (pair,) = figures.kappa.to_dict("records")
    assert pair["items"] == 2
    assert pair["kappa"] == pytest.approx(0.5)  # pooled yes/no answers: T F T T against T F T F


def test_perfect_agreement_and_the_skip_rate(store):
    project, ids = labelled(store, {"x": {"alice": "a", "bob": "a"}, "y": {"alice": "b", "bob": "b"}})
    store.add_items(project.id, ["z"])
    skipped = store.next_item(project.id, "alice")
    store.skip(project.id, skipped.id, "alice")
    figures = store.agreement(project.id)
    assert figures.alpha.value == pytest.approx(1.0)
    assert figures.kappa["kappa"].tolist() == [pytest.approx(1.0)]
    stats = figures.labellers.set_index("labeller")
    assert stats.loc["alice", "skips"] == 1 and stats.loc["alice", "skip_rate"] == pytest.approx(1 / 3)
    assert stats.loc["bob", "skip_rate"] == 0.0
    assert stats.loc["alice", "median_seconds"] >= 0.0


def test_agreement_of_a_project_without_shared_items(store):
    project, _ = labelled(store, {"x": {"alice": "a"}, "y": {"bob": "b"}}, overlap=1)
    figures = store.agreement(project.id)
    assert figures.alpha.value is None and figures.alpha.items == 0
    assert figures.kappa.empty
    assert figures.labellers["agreement"].isna().all()
    assert list(figures.labellers.columns) == [
        "labeller", "labels", "median_seconds", "skips", "skip_rate",
        "agreement", "agreement_items", "gold_accuracy", "gold_items",
    ]


def test_imported_labels_are_not_a_labeller(store):
    project = new_project(store, overlap=2)
    store.add_items(project.id, ["x"], labels=["a"])
    (item_id,) = ids_by_data(store, project.id).values()
    store.submit(project.id, item_id, "alice", "b")
    figures = store.agreement(project.id)
    assert figures.alpha.items == 0 and figures.kappa.empty
    assert "import" not in set(figures.labellers["labeller"])
    assert store.export(project.id)["tie"].tolist() == [True]  # but the imported label still votes


def test_a_send_back_waits_for_a_relabel_in_progress_without_holding_its_label(postgresql_url):
    """A relabel after undo locks its task, then supersedes its label; a send-back of the same item must take
    the task first too. It used to take the labels first and deadlock against the relabel (twice in one CI
    run of the 16-process stress test). The relabel's label update must not wait at all: a lock timeout far
    below PostgreSQL's deadlock check makes a wait an error here rather than a deadlock resolved by chance."""
    store = Store.connect(postgresql_url)
    holder = sa.create_engine(postgresql_url)
    try:
        store.people.add("rita", "reviewer")
        project = new_project(store)
        store.add_items(project.id, ["x"])
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", "a")
        assert store.undo(project.id, "alice").id == item.id
        outcome: list[BaseException | int] = []

        def send_back() -> None:
            try:
                outcome.append(store.send_back(project.id, item.id, "rita"))
            except BaseException as error:  # noqa: BLE001 - the thread hands every outcome to the test
                outcome.append(error)

        with holder.connect() as relabel:
            alice = relabel.execute(sa.select(labellers.c.id).where(labellers.c.name == "alice")).scalar_one()
            params = {"project": project.id, "item": item.id, "me": alice}
            assert relabel.execute(statements.MY_TASK_FOR_ITEM, params).one().done
            waiter = threading.Thread(target=send_back)
            waiter.start()
            wait_for_blocked(relabel)
            relabel.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            assert relabel.execute(statements.SUPERSEDE_MY_LABEL, params).rowcount == 1
            relabel.commit()
            waiter.join(timeout=60)
        assert outcome == [0]  # alice's label was already superseded by her relabel when the send-back ran
    finally:
        holder.dispose()
        store.close()
