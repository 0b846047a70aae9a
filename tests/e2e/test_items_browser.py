"""A labeller's recent items and label versions in headless Chromium: a labeller opens "My recent items" (read
only while open) and reopens an older item, which comes back with their label while the list closes; the admin
saves a version, relabels, and downloads the version as Parquet with the labels it froze. Screenshots go to
artifacts/screenshots/.

One test tells the story in steps (one server, one database)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from _browser import STEP_MS, go, item_text, next_item, ready, shot, sign_in_as_admin

pytestmark = pytest.mark.e2e

TEXTS = ["First kettle review.", "Second kettle review.", "Third kettle review."]


def label_two_and_reopen_the_first(page: Page, screenshots) -> None:
    first = item_text(page)
    page.locator(".st-key-label-0 button").click()
    second = next_item(page, first)
    page.locator(".st-key-label-1 button").click()
    next_item(page, second)
    page.get_by_role("button", name="My recent items").click()
    reopen = page.get_by_role("button", name="Reopen")
    expect(reopen).to_have_count(2, timeout=STEP_MS)  # newest first: the second, then the first
    shot(page, screenshots, "labeller-my-recent-items")
    reopen.nth(1).click()
    expect(page.get_by_text("You labelled this positive")).to_be_visible(timeout=STEP_MS)
    ready(page)
    assert item_text(page) == first
    expect(page.get_by_role("button", name="Reopen")).to_have_count(0)  # the list closed on the item


def test_recent_items_and_versions(browser, server, store, screenshots):
    project = store.create_project("Kettles", ["positive", "negative"], settings={"display": "text"})
    store.add_items(project.id, TEXTS)
    _, token = store.people.add("alice")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/?token={token}")
    label_two_and_reopen_the_first(page, screenshots)
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    admin = context.new_page()
    sign_in_as_admin(admin, server.url, server.admin_password)
    go(admin, "Export")
    admin.get_by_label("Version name").fill("friday")
    admin.get_by_role("button", name="Save a version").click()
    expect(admin.get_by_text("Saved version friday: 2 labelled items.")).to_be_visible(timeout=STEP_MS)
    ready(admin)
    frozen = store.versions.find(project.id, "friday")
    first = int(store.annotations(project.id).sort_values("annotation_id")["item_id"].iloc[0])
    store.adjudicate(project.id, first, "admin", "negative")  # a later change the version must not show
    admin.get_by_text("Compare two versions").click()
    expect(admin.get_by_text("1 changed · 0 added · 0 removed")).to_be_visible(timeout=STEP_MS)
    shot(admin, screenshots, "admin-export-versions")
    with admin.expect_download() as download:
        admin.get_by_role("button", name="Download Parquet").nth(2).click()
    frame = pd.read_parquet(io.BytesIO(open(download.value.path(), "rb").read()))
    assert frame["label"].tolist() == ["positive", "negative"] and frozen.n_items == 2
    context.close()
