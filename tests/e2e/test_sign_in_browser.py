"""Sign-in that lasts and page addresses that hold, in headless Chromium: an admin who opens /setup signed out
lands on Setup after signing in, stays signed in across a reload and a new tab, and is signed out for good
by Sign out; every page keeps its address (/label too); a labeller at an admin address is told so plainly."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from _browser import FIRST_LOAD_MS, ITEM_TEXT, STEP_MS, ready, shot

pytestmark = pytest.mark.e2e

PAGE_NOT_FOUND = "[data-testid='stDialog']"


def heading(page: Page, name: str) -> None:
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(page.locator(PAGE_NOT_FOUND)).to_have_count(0)


@pytest.fixture(scope="module")
def project(store):
    made = store.create_project("routes", ["yes", "no"])
    store.add_items(made.id, ["first item", "second item"])
    return made


def test_admin_lands_on_the_page_asked_for_and_stays_signed_in(browser, server, project, screenshots):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/setup")
    expect(page.get_by_label("Admin password")).to_be_visible(timeout=FIRST_LOAD_MS)
    ready(page)
    expect(page.locator(PAGE_NOT_FOUND)).to_have_count(0)
    expect(page.get_by_text("Labelling", exact=False).first).to_be_visible()
    shot(page, screenshots, "sign-in-at-setup")
    page.get_by_label("Admin password").fill(server.admin_password)
    page.get_by_role("button", name="Sign in as admin").click()
    heading(page, "Setup")
    assert page.url.endswith("/setup")

    page.reload()
    heading(page, "Setup")  # the reload kept the sign-in
    other = context.new_page()
    other.goto(f"{server.url}/train")
    heading(other, "Train")  # so did a new tab
    other.goto(f"{server.url}/label")
    heading(other, "routes")
    expect(other.locator(ITEM_TEXT)).to_be_visible()
    other.close()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin password")).to_be_visible(timeout=STEP_MS)
    page.reload()
    expect(page.get_by_label("Admin password")).to_be_visible(timeout=STEP_MS)  # signed out for good
    ready(page)
    context.close()


def test_wrong_password_is_cleared_from_the_field(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    field = page.get_by_label("Admin password")
    field.fill("not the password", timeout=FIRST_LOAD_MS)
    page.get_by_role("button", name="Sign in as admin").click()
    expect(page.get_by_text("Wrong password.")).to_be_visible(timeout=STEP_MS)
    expect(field).to_have_value("")
    context.close()


def test_every_page_keeps_its_address_and_a_labeller_is_told_what_is_not_theirs(
    browser, server, store, project, screenshots
):
    _, token = store.people.add("lena")
    context = browser.new_context()
    page = context.new_page()
    for path in ("", "/label"):
        page.goto(f"{server.url}{path}?token={token}")
        heading(page, "routes")
        expect(page.locator(ITEM_TEXT)).to_be_visible()
    page.goto(f"{server.url}/setup?token={token}")
    expect(page.get_by_text("This page is for admins.")).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(page.locator(PAGE_NOT_FOUND)).to_have_count(0)
    shot(page, screenshots, "labeller-at-setup")
    page.goto(f"{server.url}/review?token={token}")
    expect(page.get_by_text("This page is for admins and reviewers.")).to_be_visible(timeout=STEP_MS)
    context.close()
