"""The Review page's search over items and its bulk "accept the majority", through AppTest."""

from __future__ import annotations

import pytest


@pytest.fixture
def voted(store):
    """Overlap 3: "kettle" unanimous, "toaster" two to one, "lamp" a tie between two; rita reviews."""
    project = store.create_project("p", ["good", "bad"], overlap=3, settings={"display": "text"})
    store.add_items(project.id, ["kettle", "toaster", "lamp", "kettle lid"])
    ids = {d: int(i) for d, i in zip(store.export(project.id)["data"], store.export(project.id)["item_id"])}
    votes = {"kettle": ["good"] * 3, "toaster": ["bad", "bad", "good"], "lamp": ["good", "bad"]}
    for data, given in votes.items():
        for name, label in zip(("alice", "bob", "carol"), given):
            store.submit(project.id, ids[data], name, label)
    _, token = store.people.add("rita", "reviewer")
    return project, ids, token


def review_page(app, token):
    return app(token=token, password="pw").run().switch_page("pages/review.py").run()


def test_accept_the_majority_in_bulk(app, store, voted):
    project, ids, token = voted
    at = review_page(app, token)
    assert not at.exception
    assert not [b for b in at.button if b.key == "bulk-accept"]  # counted only when opened
    at.session_state["bulk"] = True  # the reviewer opens "Accept the majority in bulk"
    at.run()
    accept = at.button(key="bulk-accept")
    assert accept.label == "Accept the majority for 1 item"  # 80% by default: only the unanimous kettle
    at.slider(key="bulk-agreement").set_value(60).run()
    assert at.button(key="bulk-accept").label == "Accept the majority for 2 items"
    at.button(key="bulk-accept").click().run()
    assert not at.exception
    assert at.success[0].value == "The majority label became the final label of 2 items."
    finals = store.final_labels(project.id).set_index("item_id")
    assert finals.loc[ids["kettle"], "source"] == finals.loc[ids["toaster"], "source"] == "review"
    assert finals.loc[ids["lamp"], "source"] == "tie"
    assert at.button(key="bulk-accept").disabled


def test_search_finds_items_and_opens_them_as_cards(app, store, voted):
    project, ids, token = voted
    at = review_page(app, token)
    at.segmented_control(key="review-which").set_value("Search items").run()
    assert not at.exception
    at.text_input(key="search-text").input("KETTLE").run()
    assert [c.value for c in at.caption if c.value.startswith("Item ")] == [
        f"Item {ids['kettle']} · 3 labels · 100% agree",
        f"Item {ids['kettle lid']} · 0 labels · 0% agree",
    ]
    at.segmented_control(key=f"final-{ids['kettle lid']}").set_value("bad")
    at.button(key=f"adjudicate-{ids['kettle lid']}").click().run()
    assert not at.exception
    assert store.final_labels(project.id).set_index("item_id").loc[ids["kettle lid"], "label"] == "bad"
    at.text_input(key="search-text").input("nothing like it").run()
    assert [i.value for i in at.info] == ["No item matches."]


def test_search_cards_move_on_with_next_and_show_a_gold_items_known_label(app, store, voted):
    project, ids, token = voted
    store.set_gold(project.id, [ids["kettle lid"]], ["bad"])
    at = review_page(app, token)
    at.segmented_control(key="review-which").set_value("Search items").run()
    at.text_input(key="search-text").input("kettle").run()
    assert not at.exception
    items = [c.value for c in at.caption if c.value.startswith("Item ")]
    assert items == [f"Item {ids['kettle']} · 3 labels · 100% agree", f"Item {ids['kettle lid']} · 0 labels · 0% agree · gold"]
    assert "Gold item: its known label **bad** is final (change it on Setup)." in [m.value for m in at.markdown]
    assert not [b for b in at.button if b.key in (f"adjudicate-{ids['kettle lid']}", f"send-back-{ids['kettle lid']}")]
    at.button(key=f"next-{ids['kettle']}").click().run()  # leave the kettle for later: it moves to the end
    assert [c.value for c in at.caption if c.value.startswith("Item ")] == items[::-1]
