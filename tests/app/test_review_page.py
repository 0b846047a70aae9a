"""The Review page, the quality parts of Progress, Setup and People, through AppTest: who may review, setting a
final label, sending an item back, the filters; agreement charts; overlap, gold rate and roles changed."""

from __future__ import annotations

import pytest


@pytest.fixture
def disputed(store):
    """Overlap 2: alice and bob disagree on "kettle" and "toaster", agree on "lamp"; rita reviews."""
    project = store.create_project("p", ["good", "bad"], overlap=2, settings={"display": "text"})
    store.add_items(project.id, ["kettle", "toaster", "lamp"])
    ids = dict(zip(store.export(project.id)["data"], store.export(project.id)["item_id"]))
    for data, (alice, bob) in {"kettle": ("good", "bad"), "toaster": ("bad", "good"), "lamp": ("good", "good")}.items():
        store.submit(project.id, int(ids[data]), "alice", alice)
        store.submit(project.id, int(ids[data]), "bob", bob)
    _, token = store.people.add("rita", "reviewer")
    return project, {k: int(v) for k, v in ids.items()}, token


def review_page(app, token):
    at = app(token=token, password="pw").run()
    return at.switch_page("pages/review.py").run()


def cards(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Item ")]


@pytest.fixture
def lena(store):
    """An invited labeller who labelled nothing: (name, token)."""
    person, token = store.people.add("lena")
    return person.name, token


def test_a_reviewer_has_the_review_page_and_a_labeller_does_not(app, store, disputed, lena):
    _, _, token = disputed
    at = app(token=token, password="pw").run()
    assert not at.exception
    at.switch_page("pages/review.py").run()
    assert [t.value for t in at.title] == ["Review"]

    at = app(token=lena[1], password="pw").run()
    with pytest.raises(ValueError):
        at.switch_page("pages/review.py")  # not in a labeller's navigation


def test_a_labeller_reaching_the_review_page_directly_is_refused(app, store, disputed, lena):
    at = app(token=lena[1], password="pw").run()
    at.switch_page("pages/progress.py").run()
    at.switch_page("pages/review.py").run()  # Streamlit's v1 fallback runs the file without the router
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is for reviewers and admins."]
    assert not at.title and not at.button


def test_the_admin_reviews_too(app, disputed):
    at = app().run().switch_page("pages/review.py").run()
    assert not at.exception
    assert len(cards(at)) == 2


def test_disagreements_are_shown_with_every_label(app, store, disputed):
    _, ids, token = disputed
    at = review_page(app, token)
    assert not at.exception
    assert len(cards(at)) == 2 and all("50% agree · tie" in c for c in cards(at))
    texts = [t.value for t in at.text]
    assert "kettle" in texts and "toaster" in texts and "lamp" not in texts
    assert any("**alice**: good" in m.value and "**bob**: bad" in m.value for m in at.markdown)
    assert any(c.value == "No model suggestion for this item." for c in at.caption)


def test_the_reviewer_sets_the_final_label(app, store, disputed):
    project, ids, token = disputed
    at = review_page(app, token)
    at.segmented_control(key=f"final-{ids['kettle']}").set_value("bad")
    at.button(key=f"adjudicate-{ids['kettle']}").click().run()
    assert not at.exception
    assert at.success[0].value == f"Item {ids['kettle']}: final label set to **bad**."
    assert len(cards(at)) == 1  # kettle has left the waiting list
    export = store.export(project.id).set_index("data")
    assert (export.loc["kettle", "label"], export.loc["kettle", "reviewed_by"]) == ("bad", "rita")

    at.button_group(key="review-which").set_value("Already reviewed").run()
    assert len(cards(at)) == 1
    assert any("set by rita" in m.value for m in at.markdown)


def test_setting_a_final_label_without_choosing_one_is_refused(app, store, disputed):
    project, ids, token = disputed
    at = review_page(app, token)
    at.button(key=f"adjudicate-{ids['toaster']}").click().run()  # a tie starts with nothing chosen
    assert not at.exception
    assert "no final label" in at.error[0].value
    assert store.export(project.id).set_index("data").loc["toaster", "label_source"] == "tie"


def test_the_reviewer_sends_an_item_back(app, store, disputed):
    project, ids, token = disputed
    at = review_page(app, token)
    at.button(key=f"send-back-{ids['toaster']}").click().run()
    assert not at.exception
    assert "sent back to the queue" in at.success[0].value
    assert len(cards(at)) == 1
    export = store.export(project.id).set_index("data")
    assert export.loc["toaster", "n_labels"] == 0
    assert store.next_item(project.id, "carol").data == "toaster"


def test_review_filters(app, store, disputed):
    _, ids, token = disputed
    at = review_page(app, token)
    at.selectbox(key="review-labeller").set_value("rita").run()
    assert not cards(at)
    assert "Nothing to review" in at.success[0].value
    at.selectbox(key="review-labeller").set_value("alice").run()
    at.selectbox(key="review-label").set_value("bad").run()
    assert len(cards(at)) == 2
    at.slider(key="review-agreement").set_value(40).run()
    assert not cards(at)


# Progress, Setup and People


def test_progress_shows_agreement_for_the_admin(app, store, disputed):
    at = app().run().switch_page("pages/progress.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Items labelled by two or more"] == "3"
    assert float(metrics["Krippendorff's alpha"]) < 0  # two of three items in dispute
    assert [s.value for s in at.subheader][-1] == "Agreement"
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert sum('"rect"' in spec for spec in specs) == 1  # the kappa heatmap
    assert sum('"field": "alpha"' in spec for spec in specs) == 1  # alpha per label
    assert sum('"field": "agreement"' in spec for spec in specs) == 1  # agreement with the final label
    (table,) = at.dataframe
    assert list(table.value["labeller"]) == ["alice", "bob"]


def test_progress_shows_gold_accuracy_once_there_is_gold(app, store):
    project = store.create_project("g", ["a", "b"], settings={"display": "text"})
    store.add_items(project.id, ["x", "y"])
    gold_id = int(store.export(project.id)["item_id"][0])
    store.submit(project.id, gold_id, "alice", "b")
    store.set_gold(project.id, [gold_id], ["a"])
    at = app().run().switch_page("pages/progress.py").run()
    assert not at.exception
    assert "Gold items" in [s.value for s in at.subheader]
    (table,) = at.dataframe
    assert table.value.set_index("labeller").loc["alice", "gold_accuracy"] == 0.0


def test_a_labellers_stats_say_nothing_of_gold_or_agreement(app, store, disputed):
    token = store.people.new_token("alice")
    at = app(token=token, password="pw").run().switch_page("pages/progress.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["My stats"]
    assert not at.dataframe and "Agreement" not in [s.value for s in at.subheader]


def test_setup_changes_the_overlap_and_the_gold_rate(app, store, disputed):
    project, _, _ = disputed
    at = app().run().switch_page("pages/setup.py").run()
    assert not at.exception
    overlap = next(n for n in at.number_input if n.label == "Labellers per item")
    overlap.set_value(3)
    next(b for b in at.button if b.label == "Change labellers per item").click().run()
    assert not at.exception
    assert store.project(project.id).overlap == 3
    assert store.progress(project.id).complete == 0  # every item wants a third label now
    at.slider[0].set_value(10)
    next(b for b in at.button if b.label == "Save gold rate").click().run()
    assert store.project(project.id).settings["gold_rate"] == pytest.approx(0.10)


def test_people_page_makes_someone_a_reviewer(app, store, labeller):
    at = app().run().switch_page("pages/people.py").run()
    alice = next(p for p in store.people.all() if p.name == "alice")
    at.selectbox(key=f"role-{alice.id}").set_value("reviewer").run()
    assert not at.exception
    assert next(p for p in store.people.all() if p.name == "alice").role == "reviewer"
    at.text_input[0].input("rita")
    at.selectbox[0].set_value("reviewer")
    at.button[0].click().run()
    assert next(p for p in store.people.all() if p.name == "rita").role == "reviewer"


def test_labels_to_check_are_listed_even_with_one_labeller_and_leave_once_decided(app, store):
    """Overlap 1, nothing to adjudicate: the labels the latest run doubts are listed with the model's
    alternative; keeping one or setting another takes it off the list."""
    project = store.create_project("single", ["good", "bad"], settings={"display": "text"})
    store.add_items(project.id, ["kettle", "toaster", "lamp"])
    ids = {d: int(i) for d, i in zip(store.export(project.id)["data"], store.export(project.id)["item_id"])}
    for data in ids:
        store.submit(project.id, ids[data], "alice", "good")
    store.assessment.set_label_issues(
        project.id, 7, [(ids["kettle"], "good", "bad", 0.01, 0.97), (ids["toaster"], "good", "bad", 0.03, 0.9)]
    )
    at = app().run().switch_page("pages/review.py").run()
    assert any("Nothing to review" in s.value for s in at.success)
    at.segmented_control(key="review-which").set_value("Labels to check").run()
    assert not at.exception
    assert cards(at) == [f"Item {ids['kettle']} · found by training run 7", f"Item {ids['toaster']} · found by training run 7"]
    assert any("Labelled **good**, which the model gives 1%; it says **bad** (97%)" in m.value for m in at.markdown)
    assert at.segmented_control(key=f"final-{ids['kettle']}").value == "bad"  # the model's alternative to start from
    at.button(key=f"keep-{ids['toaster']}").click().run()
    at.button(key=f"adjudicate-{ids['kettle']}").click().run()
    assert not at.exception
    finals = store.final_labels(project.id).set_index("item_id")["label"]
    assert finals[ids["kettle"]] == "bad" and finals[ids["toaster"]] == "good"
    assert cards(at) == [] and any("No labels to check" in s.value for s in at.success)


def test_next_passes_over_the_first_item_and_only_the_first_has_keys(app, store, disputed):
    _, ids, token = disputed
    at = review_page(app, token)
    assert [c.split(" ·")[0] for c in cards(at)] == [f"Item {ids['kettle']}", f"Item {ids['toaster']}"]
    assert at.button(key=f"send-back-{ids['kettle']}").proto.shortcut
    assert not at.button(key=f"send-back-{ids['toaster']}").proto.shortcut
    at.button(key=f"next-{ids['kettle']}").click().run()
    assert [c.split(" ·")[0] for c in cards(at)] == [f"Item {ids['toaster']}", f"Item {ids['kettle']}"]
    assert at.button(key=f"adjudicate-{ids['toaster']}").proto.shortcut  # the keys moved with it
    assert any("**A** set final label" in c.value for c in at.caption)
