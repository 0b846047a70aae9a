"""The Label page by keyboard alone, in headless Chromium: `s` skips right after a project switch in the sidebar
(the picker no longer keeps the keys), 1-9 tick and untick a multi-label item's labels, and Enter submits, also
after a tick with the mouse; digit labels, their own keys, read once. Screenshots go to artifacts/screenshots/.

One test tells the story in steps (one server, one database, one tab)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from _browser import STEP_MS, item_text, keys_handed_back, next_item, press, ready, shot

pytestmark = pytest.mark.e2e

TICKED = "check_box"
"""The icon of a ticked label (an unticked one shows check_box_outline_blank)."""


@pytest.fixture(scope="module")
def story(server, store) -> dict:
    """A single-label and a multi-label project (the newest, so the one a first visit opens), and kim's link."""
    reviews = store.create_project("Reviews", ["positive", "negative"], settings={"display": "text"})
    store.add_items(reviews.id, ["Loud but fast.", "Broke at once.", "Lovely lid."])
    digits = store.create_project("Digits", ["0", "1", "2"], settings={"display": "text"})
    store.add_items(digits.id, ["zero", "one"])
    tags = store.create_project("Tags", ["red", "green", "blue"], multi_label=True, settings={"display": "text"})
    store.add_items(tags.id, ["a red and blue flag", "a green field", "a blue sea"])
    _, token = store.people.add("kim")
    return {"reviews": reviews.id, "digits": digits.id, "tags": tags.id, "link": f"{server.url}/?token={token}"}


def ticks(page: Page) -> list[bool]:
    """Which of the multi-label toggles show a ticked box (their icon's name is its text)."""
    icons = page.locator(".st-key-picks button [data-testid='stIconMaterial']").all_inner_texts()
    return [icon == TICKED for icon in icons]


def expect_ticks(page: Page, wanted: list[bool]) -> None:
    page.wait_for_function(
        """([wanted, ticked]) => {
            const icons = [...document.querySelectorAll(".st-key-picks button [data-testid='stIconMaterial']")];
            return JSON.stringify(icons.map(i => i.innerText === ticked)) === JSON.stringify(wanted);
        }""",
        arg=[wanted, TICKED],
        timeout=STEP_MS,
    )
    ready(page)


def switch_to(page: Page, project: str) -> None:
    """Choose another project in the sidebar's picker (with the mouse), and wait for its page."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=project).click()
    expect(page.get_by_role("heading", name=project, level=1)).to_be_visible(timeout=STEP_MS)
    ready(page)


def test_the_label_page_by_keyboard(browser, story, store, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(story["link"])
    first = item_text(page)
    assert first == "a red and blue flag"
    expect(page.locator(".st-key-picks button")).to_have_count(3)
    assert ticks(page) == [False, False, False]

    # 1-9 tick and untick; Enter submits what is ticked.
    for key, wanted in (("1", [True, False, False]), ("3", [True, False, True]), ("2", [True, True, True])):
        press(page, key)
        expect_ticks(page, wanted)
    press(page, "2")
    expect_ticks(page, [True, False, True])
    shot(page, screenshots, "labeller-multi-label-ticked-by-keys")
    press(page, "Enter")
    second = next_item(page, first)
    assert second == "a green field"
    assert ticks(page) == [False, False, False]

    # A tick with the mouse leaves the focus on that button; Enter still submits.
    page.locator(".st-key-picks button").nth(1).click()
    expect_ticks(page, [False, True, False])
    press(page, "Enter")
    assert next_item(page, second) == "a blue sea"
    labels = store.annotations(story["tags"]).sort_values("item_id")["label"].tolist()
    assert labels == [("red", "blue"), ("green",)]

    # A project switch in the sidebar hands the keys back to the page: `s` skips, it is not typed into the picker.
    switch_to(page, "Reviews")
    keys_handed_back(page)
    reviews_first = item_text(page)
    press(page, "s")
    assert next_item(page, reviews_first) is not None
    expect(page.get_by_role("combobox", name="Project")).to_have_value("Reviews")  # no "s" typed into it
    press(page, "1")  # and the label keys work too
    page.wait_for_function(
        "(n) => document.querySelector('[data-testid=stProgress]')?.innerText.includes(n)",
        arg="1 labelled by you",
        timeout=STEP_MS,
    )
    assert store.annotations(story["reviews"])["label"].tolist() == ["positive"]
    shot(page, screenshots, "labeller-after-project-switch")

    # Choosing the project already chosen starts no rerun; the keys come back all the same.
    on_screen = item_text(page)
    switch_to(page, "Reviews")
    keys_handed_back(page)
    press(page, "s")
    assert next_item(page, on_screen) is not None
    expect(page.get_by_role("combobox", name="Project")).to_have_value("Reviews")

    # Digit labels are their own keys: the buttons read "0", not "0 0".
    switch_to(page, "Digits")
    expect(page.locator(".st-key-labels button")).to_have_count(3)
    assert [text.strip() for text in page.locator(".st-key-labels button").all_inner_texts()] == ["0", "1", "2"]
    zero = item_text(page)
    press(page, "2")
    next_item(page, zero)
    assert store.annotations(story["digits"])["label"].tolist() == ["2"]
    shot(page, screenshots, "labeller-digit-labels")
    context.close()


def test_a_label_set_changed_or_a_project_deleted_meanwhile_shows_at_the_next_key(browser, store, story, screenshots):
    """The item and its buttons are a fragment that a key reruns alone: it notices that the project changed
    under it (another admin, another process) and redraws the page, instead of offering the old buttons."""
    moods = store.create_project("Moods", ["happy", "sad"], settings={"display": "text"})
    store.add_items(moods.id, ["sunny day", "rainy day", "grey day"])
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(story["link"])
    expect(page.get_by_role("heading", name="Moods", level=1)).to_be_visible(timeout=STEP_MS)
    first = item_text(page)

    store.manage.rename_label(moods.id, "happy", "glad", "admin")
    press(page, "2")  # "sad", still in the set: recorded, and the buttons are read again
    second = next_item(page, first)
    expect(page.locator(".st-key-labels button").first).to_contain_text("glad", timeout=STEP_MS)
    ready(page)
    press(page, "1")
    next_item(page, second)
    assert sorted(store.annotations(moods.id)["label"]) == ["glad", "sad"]

    store.delete_project(moods.id)
    press(page, "1")
    expect(page.get_by_role("heading", name="Tags", level=1)).to_be_visible(timeout=STEP_MS)  # the newest left
    expect(page.get_by_text("The project 'Moods' was deleted by an admin.")).to_be_visible()
    shot(page, screenshots, "labeller-after-project-deleted")
