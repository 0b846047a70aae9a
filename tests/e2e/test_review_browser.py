"""Review end to end in headless Chromium: two labellers disagree on every item, a reviewer sets the final label
of one and sends another back, and the admin's export shows the reviewer's label. Screenshots of the Review
and Progress pages go to artifacts/screenshots/.

One test tells the whole story in steps (one server, one database): split into several tests, pytest-xdist
could run the steps on different workers, each with a server of its own.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from _browser import STEP_MS, exported_rows, go, item_text, keys_handed_back, next_item, press, ready, shot, sign_in_as_admin

pytestmark = pytest.mark.e2e

REVIEWS = ["Boils fast, but loud.", "Pretty, yet the lid sticks.", "Fine for the price."]


@pytest.fixture(scope="module")
def story(server, store) -> dict:
    """The project, made through the library: overlap 2, and invite links for alice, bob and rita."""
    project = store.create_project(
        "Kettles", ["positive", "negative"], overlap=2, settings={"display": "text", "text_column": "review"}
    )
    store.add_items(project.id, [{"review": text} for text in REVIEWS])
    items = store.export(project.id)
    ids = dict(zip(items["review"], items["item_id"]))
    links = {}
    for name, role in (("alice", "labeller"), ("bob", "labeller"), ("rita", "reviewer")):
        _, token = store.people.add(name, role)
        links[name] = f"{server.url}/?token={token}"
    return {"project": project.id, "ids": {text: int(i) for text, i in ids.items()}, "links": links}


def label_everything(page: Page, button: int) -> list[str]:
    """Click the label button `button` on every item offered, until nothing is left; the items seen."""
    seen = []
    current = item_text(page)
    while current is not None:
        seen.append(current)
        page.locator(f".st-key-label-{button} button").click()
        current = next_item(page, current)
    return seen


def two_labellers_disagree_on_every_item(browser, story):
    for name, button in (("alice", 0), ("bob", 1)):  # alice says positive, bob negative
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(story["links"][name])
        assert sorted(label_everything(page, button)) == sorted(REVIEWS)
        expect(page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(2)  # no Review for them
        context.close()


def the_reviewer_sets_a_final_label_and_sends_an_item_back(browser, story, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.goto(story["links"]["rita"])
    ready(page)
    go(page, "Review")
    cards = page.locator("[class*='st-key-card-']")
    expect(cards).to_have_count(3, timeout=STEP_MS)
    expect(page.get_by_text("3 items. Gold items are not listed")).to_be_visible()
    shot(page, screenshots, "reviewer-review")

    # The keyboard, on the first card: the label chosen with the mouse, A sets it, N passes over an item
    # for later, B sends one back.
    first, second, third = (story["ids"][text] for text in REVIEWS)
    expect(cards.first).to_have_class(re.compile(f"st-key-card-{first}( |$)"))
    card = page.locator(f".st-key-card-{first}")
    expect(card.get_by_text("alice")).to_be_visible()
    expect(card.get_by_text("bob")).to_be_visible()
    card.get_by_test_id("stButtonGroup").get_by_text("negative", exact=True).click()
    ready(page)
    press(page, "a")  # not Enter: the focused label choice takes Enter as its own press
    expect(page.get_by_text(f"Item {first}: final label set to negative.")).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(cards).to_have_count(2)

    # A filter chosen with the mouse hands the keys back to the page (alice labelled every item: none drops out).
    page.get_by_test_id("stSelectbox").filter(has_text="Labelled by").click()
    page.get_by_role("option", name="alice").click()
    ready(page)
    keys_handed_back(page)
    for now_first in (third, second):  # N: the first card goes to the end
        press(page, "n")
        expect(cards.first).to_have_class(re.compile(f"st-key-card-{now_first}( |$)"), timeout=STEP_MS)
        ready(page)
    press(page, "b")
    expect(page.get_by_text(f"Item {second} was sent back to the queue")).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(cards).to_have_count(1)
    shot(page, screenshots, "reviewer-after-review")

    page.get_by_text("Already reviewed").click()
    ready(page)
    expect(page.get_by_text("Final label negative, set by rita")).to_be_visible(timeout=STEP_MS)
    context.close()


def the_export_shows_the_reviewers_label(browser, server, story, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    sign_in_as_admin(page, server.url, server.admin_password)
    rows = {row["review"]: row for row in exported_rows(page)}
    adjudicated, sent_back, disputed = (rows[text] for text in REVIEWS)
    assert (adjudicated["label"], adjudicated["label_source"], adjudicated["reviewed_by"]) == ("negative", "review", "rita")
    assert (adjudicated["label:alice"], adjudicated["label:bob"]) == ("positive", "negative")
    assert sent_back["n_labels"] == "0" and sent_back["label"] == ""
    assert (disputed["label"], disputed["tie"], disputed["label_source"]) == ("", "True", "tie")

    go(page, "People")
    expect(page.get_by_text("rita")).to_be_visible()
    shot(page, screenshots, "admin-people-roles")
    go(page, "Setup")
    page.get_by_role("tab", name="Quality control").click()
    expect(page.get_by_role("button", name="Change labellers per item")).to_be_visible(timeout=STEP_MS)
    shot(page, screenshots, "admin-setup-quality")

    go(page, "Progress")
    page.get_by_role("button", name="Refresh figures").click()
    expect(page.get_by_text("Krippendorff's alpha")).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_text("Cohen's kappa per pair of labellers")).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart'] svg.marks").first).to_be_visible(timeout=STEP_MS)
    ready(page)
    shot(page, screenshots, "admin-progress-agreement")
    page.get_by_text("Cohen's kappa per pair of labellers").scroll_into_view_if_needed()
    ready(page)
    page.screenshot(path=str(screenshots / "admin-progress-kappa.png"))  # the part below the fold
    context.close()


def test_two_labellers_disagree_a_reviewer_adjudicates_and_the_export_shows_it(browser, server, story, screenshots):
    two_labellers_disagree_on_every_item(browser, story)
    the_reviewer_sets_a_final_label_and_sends_an_item_back(browser, story, screenshots)
    the_export_shows_the_reviewers_label(browser, server, story, screenshots)
