"""The Label page: label, skip, undo, multi-label, nothing left, a lost lease, and how items are shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from labelling.storage.schema import tasks

XSS = ['<img src=x onerror="window.__x=1">', "<script>window.__y=1</script>"]


@pytest.fixture
def project(store):
    made = store.create_project(
        "reviews",
        ["good", "bad"],
        instructions="Say **good** or **bad**.",
        settings={"display": "text", "text_column": "text"},
    )
    store.add_items(made.id, [{"text": f"review {i}"} for i in range(3)])
    return made


def shown_text(at) -> str:
    return at.text[0].value


def label_buttons(at) -> list[str]:
    return [b.label for b in at.button if b.key and b.key.startswith("label-")]


def test_admin_sees_an_item_and_one_button_per_label(app, project):
    at = app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["reviews"]
    assert shown_text(at) == "review 0"
    assert label_buttons(at) == ["good", "bad"]
    assert at.expander[0].label == "Instructions"
    assert at.get("progress")


def test_clicking_a_label_records_it_and_shows_the_next_item(app, store, project):
    at = app().run()
    at.button(key="label-1").click().run()
    assert not at.exception
    assert shown_text(at) == "review 1"
    labels = store.annotations(project.id)
    assert labels[["item_id", "labeller", "label"]].values.tolist() == [[1, "admin", "bad"]]


def test_refresh_shows_the_same_leased_item(app, project):
    first = app().run()
    again = app().run()  # a second tab or a refresh: a new session, the same labeller
    assert shown_text(first) == shown_text(again) == "review 0"


def test_skip_moves_on_and_is_counted(app, store, project):
    at = app().run()
    at.button(key="skip").click().run()
    assert shown_text(at) == "review 1"
    assert store.progress(project.id).per_labeller["admin"].skips == 1
    assert store.annotations(project.id).empty


def test_undo_shows_my_previous_item_with_my_label(app, store, project):
    at = app().run()
    at.button(key="label-0").click().run()
    at.button(key="undo").click().run()
    assert shown_text(at) == "review 0"
    assert "You labelled this **good**" in at.info[0].value
    assert at.button(key="label-0").proto.type == "primary"  # my label stands out
    at.button(key="label-1").click().run()  # change my mind
    assert shown_text(at) == "review 1"
    current = store.annotations(project.id).query("current")
    assert current["label"].tolist() == ["bad"]


def test_undo_with_nothing_to_undo_says_so(app, project):
    at = app().run()
    at.button(key="undo").click().run()
    assert any("Nothing to undo" in i.value for i in at.info)
    assert shown_text(at) == "review 0"


def test_nothing_left_state(app, store, project):
    at = app().run()
    for _ in range(3):
        at.button(key="label-0").click().run()
    assert not at.text
    assert "Nothing left for you" in at.success[0].value
    assert len(store.annotations(project.id)) == 3
    assert at.get("progress")[0].proto.text.startswith("3 of 3 items done")  # not the cached count


def test_nothing_left_while_others_hold_items_says_they_may_come_back(app, store, project, monkeypatch):
    monkeypatch.setenv("LABELLING_LEASE_SECONDS", "90")
    held = store.next_item(project.id, "bob")  # bob takes "review 0", then leaves
    at = app().run()
    for _ in range(2):
        at.button(key="label-0").click().run()
    assert "Nothing left for you" in at.success[0].value
    assert "1 item is with other labellers right now" in at.info[0].value
    assert "within 90 seconds" in at.info[0].value
    with store.engine.begin() as connection:  # bob's lease runs out (moved into the past, not waited for)
        connection.execute(sa.update(tasks).where(tasks.c.item_id == held.id).values(lease_expires_at=0.0))
    at.button(key="check-again").click().run()
    assert shown_text(at) == "review 0"  # back in the queue, now mine


def test_multi_label_toggles_and_submit(app, store):
    made = store.create_project("tags", ["red", "green", "blue"], multi_label=True)
    store.add_items(made.id, ["first", "second"])
    at = app().run()
    toggles = [b for b in at.button if b.key.startswith("pick-")]
    assert [b.label for b in toggles] == ["red", "green", "blue"]
    assert any("1–3" in c.value and "Enter" in c.value for c in at.main.caption)  # the keys, listed on the page
    for key in ("pick-0", "pick-1", "pick-2", "pick-1"):  # green ticked, then unticked
        at.button(key=key).click().run()
    assert [b.icon for b in at.button if b.key.startswith("pick-")] == [
        ":material/check_box:",
        ":material/check_box_outline_blank:",
        ":material/check_box:",
    ]
    at.button(key="submit").click().run()
    assert not at.exception
    assert shown_text(at) == "second"
    assert all(b.icon == ":material/check_box_outline_blank:" for b in at.button if b.key.startswith("pick-"))
    assert store.annotations(made.id)["label"].tolist() == [("red", "blue")]


def test_undo_shows_my_ticks_and_counts_once_per_project(app, store, project):
    tags = store.create_project("tags", ["red", "green"], multi_label=True)
    store.add_items(tags.id, ["first", "second"])
    at = app().run()  # the newest project, tags
    at.button(key="pick-1").click().run()
    at.button(key="submit").click().run()
    at.button(key="undo").click().run()
    assert shown_text(at) == "first"
    assert [b.icon for b in at.button if b.key.startswith("pick-")][1] == ":material/check_box:"
    at.button(key="submit").click().run()  # the same ticks again: a re-label, not a second item
    assert "1 labelled by you" in at.get("progress")[0].proto.text
    at.sidebar.selectbox(key="project_picker").select(project.id).run()
    assert "0 labelled by you" in at.get("progress")[0].proto.text  # the other project's bar counts its own


def test_the_project_pickers_default_is_the_project_on_screen(app, store, project):
    """A browser that draws the picker afresh shows its default, and sends it with the next click: a default of
    the first project switched a labeller of another one over to it (seen after a rerun a fragment asked for)."""
    tags = store.create_project("tags", ["red", "green"])
    store.add_items(tags.id, ["first"])
    at = app().run()  # the newest project, tags
    picker = at.sidebar.selectbox(key="project_picker")
    assert (picker.value, picker.options[picker.proto.default]) == (tags.id, "tags")
    picker.select(project.id).run()
    picker = at.sidebar.selectbox(key="project_picker")
    assert (picker.value, picker.options[picker.proto.default]) == (project.id, "reviews")
    assert [t.value for t in at.title] == ["reviews"]


def test_labeller_labels_under_their_own_name(app, store, project, labeller):
    name, token = labeller
    at = app(token=token, password="pw").run()
    assert shown_text(at) == "review 0"
    at.button(key="label-0").click().run()
    assert store.annotations(project.id)["labeller"].tolist() == [name]


def test_two_labellers_never_get_the_same_item(app, store, project):
    _, alice = store.people.add("alice")
    _, bob = store.people.add("bob")
    a = app(token=alice, password="pw").run()
    b = app(token=bob, password="pw").run()
    assert shown_text(a) != shown_text(b)


def test_lost_lease_is_a_warning_then_the_next_item(app, store, project):
    at = app().run()
    assert shown_text(at) == "review 0"
    with store.engine.begin() as connection:  # my lease runs out and bob labels the item meanwhile
        connection.execute(sa.text("UPDATE tasks SET lease_expires_at = 0 WHERE lease_expires_at IS NOT NULL"))
    item = store.next_item(project.id, "bob")
    store.submit(project.id, item.id, "bob", "good")
    at.button(key="label-1").click().run()
    assert not at.exception
    assert any("your label was not recorded" in warning.value for warning in at.warning)  # and the local-mode banner
    assert shown_text(at) == "review 1"


@pytest.mark.parametrize("text", XSS)
def test_html_in_an_item_is_shown_as_plain_text(app, store, text):
    made = store.create_project("xss", ["a"], settings={"display": "text", "text_column": "text"})
    store.add_items(made.id, [{"text": text}])
    at = app().run()
    assert shown_text(at) == text
    assert not at.markdown or all(text not in m.value for m in at.markdown)


def test_array_items_are_shown_as_images(app, store):
    settings = {"display": "image", "image_column": "image"}
    made = store.create_project("digits", [str(d) for d in range(10)], settings=settings)
    store.add_items(made.id, [{"image": np.arange(64.0).reshape(8, 8), "index": 0}])
    at = app().run()
    assert not at.exception
    assert at.get("image")
    assert label_buttons(at) == [str(d) for d in range(10)]


def test_table_items_are_shown_as_a_table(app, store):
    made = store.create_project(
        "rows", ["a", "b"], settings={"display": "table", "table_columns": ["name", "price"]}
    )
    store.add_items(made.id, pd.DataFrame({"name": ["<b>pen</b>"], "price": [2.5], "hidden": ["x"]}))
    at = app().run()
    table = at.dataframe[0].value
    assert table["field"].tolist() == ["name", "price"]
    assert table["value"].tolist() == ["<b>pen</b>", "2.5"]


def test_no_project_yet(app, labeller):
    at = app().run()
    assert [t.value for t in at.title] == ["Setup"]  # the admin starts on Setup
    _, token = labeller
    at = app(token=token, password="pw").run()
    assert "nothing to label yet" in at.info[0].value


def bar_text(at) -> str:
    return at.get("progress")[0].proto.text


def test_the_bar_counts_my_labels_at_once_and_a_relabel_after_undo_only_once(app, store, project):
    at = app().run()
    at.button(key="label-0").click().run()  # the shared counts are cached: my label is added locally
    assert bar_text(at) == "1 of 3 items done · 1 labelled by you in this session"
    at.button(key="undo").click().run()
    assert "You labelled this **good**" in at.info[0].value
    at.button(key="label-1").click().run()  # a re-label: still one item labelled by me
    assert bar_text(at) == "1 of 3 items done · 1 labelled by you in this session"
    at.button(key="label-0").click().run()
    assert bar_text(at) == "2 of 3 items done · 2 labelled by you in this session"


def test_an_empty_cell_shows_empty(app, store):
    made = store.create_project("gaps", ["a", "b"], settings={"display": "text", "text_column": "text"})
    store.add_items(made.id, pd.DataFrame({"text": [np.nan], "other": ["x"]}))
    at = app().run()
    assert shown_text(at) == ""


def test_an_empty_multi_label_says_none_were_ticked(app, store):
    made = store.create_project("multi", ["a", "b"], multi_label=True)
    store.add_items(made.id, ["one", "two"])
    at = app().run()
    at.button(key="submit").click().run()
    at.button(key="undo").click().run()
    assert at.info[0].value.startswith("You ticked none of the labels for this.")


def test_my_recent_items_reopen_any_of_them(app, store, project):
    at = app().run()
    assert not [m for m in at.markdown if "→" in m.value]  # read only while the popover is open
    at.button(key="label-0").click().run()
    at.button(key="label-1").click().run()
    assert shown_text(at) == "review 2"
    at.session_state["my-history"] = True  # the labeller opens "My recent items"
    at.run()
    history = [m.value for m in at.markdown if "→" in m.value]
    assert history == ["review 1 → **bad**", "review 0 → **good**"]  # newest first
    first = int(store.annotations(project.id)["item_id"].iloc[0])
    at.button(key=f"reopen-{first}").click().run()
    assert not at.exception
    assert shown_text(at) == "review 0"
    assert "You labelled this **good**" in at.info[0].value
    assert not [m for m in at.markdown if "→" in m.value]  # closed again
    at.button(key="label-1").click().run()  # changed: the item I held comes back
    assert shown_text(at) == "review 2"
    assert sorted(store.annotations(project.id).query("current")["label"]) == ["bad", "bad"]
