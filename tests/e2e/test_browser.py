"""The app in headless Chromium, as people use it: the admin signs in, uploads and configures a CSV, invites
two labellers; both label at the same time (one with the keyboard) and never get the same item; HTML in
items runs nothing; the export matches what was labelled. Screenshots of every page go to
artifacts/screenshots/.

The tests run in file order and build on each other (one server, one story).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from playwright.sync_api import Page, expect

from _browser import STEP_MS, go, item_text, next_item, press, ready, shot

pytestmark = pytest.mark.e2e

XSS = ['<img src=x onerror="window.__x=1">', "<script>window.__y=1</script>"]
REVIEWS = [
    "Sturdy kettle, boils fast.",
    "The lid broke on day two.",
    "Lovely colour, works well.",
    "Arrived late and scratched.",
    "Quiet and quick, very happy.",
    "Stopped working after a week.",
    "Exactly as described.",
    "=HYPERLINK(\"http://example.org\")",
    *XSS,
]


@pytest.fixture(scope="module")
def story() -> dict:
    """What the tests learn along the way: invite links, who saw which item."""
    return {}


def refreshed_charts(page: Page, count: int) -> None:
    """Fetch fresh figures (they are cached a few seconds) and wait until the charts are drawn."""
    page.get_by_role("button", name="Refresh figures").click()
    expect(page.locator("[data-testid='stVegaLiteChart'] svg.marks")).to_have_count(count, timeout=STEP_MS)
    ready(page)


def nothing_ran(page: Page) -> bool:
    return page.evaluate("() => window.__x === undefined && window.__y === undefined")


def test_a_fresh_server_refuses_a_direct_admin_url(browser, server, screenshots):
    """The very first request of the process, straight to /people, gets the sign-in and nothing else."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/people")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(page.get_by_label("Admin password")).to_be_visible()
    expect(page.get_by_text("Invite someone")).to_have_count(0)
    shot(page, screenshots, "signed-out-direct-people-url")
    context.close()


def test_wrong_invite_link_shows_only_a_message(browser, server, screenshots):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/?token=not-a-real-token")
    expect(page.get_by_text("This invite link is wrong or has been revoked")).to_be_visible(timeout=STEP_MS)
    ready(page)
    expect(page.get_by_label("Admin password")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(0)
    shot(page, screenshots, "labeller-invalid-link")
    context.close()


def test_admin_signs_in_uploads_a_csv_and_configures_the_project(admin, server, store, screenshots, tmp_path):
    admin.goto(server.url)
    expect(admin.get_by_role("heading", name="Sign in")).to_be_visible(timeout=STEP_MS)
    shot(admin, screenshots, "sign-in")
    admin.get_by_label("Admin password").fill(server.admin_password)
    admin.get_by_role("button", name="Sign in as admin").click()
    expect(admin.get_by_role("heading", name="Setup")).to_be_visible(timeout=STEP_MS)
    shot(admin, screenshots, "admin-setup-first-start")

    data = tmp_path / "kettle reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "review", "stars"])
        writer.writerows([i, text, i % 5 + 1] for i, text in enumerate(REVIEWS))
    csv_uploader = admin.get_by_test_id("stFileUploader").filter(has_text="CSV file")  # beside the annotation-file one
    csv_uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(data))
    expect(admin.get_by_role("textbox", name="Project name")).to_have_value("kettle reviews", timeout=STEP_MS)
    ready(admin)
    admin.get_by_role("textbox", name="Project name").fill("Kettles")
    admin.get_by_role("textbox", name="Project name").press("Enter")
    ready(admin)
    admin.get_by_role("textbox", name="Labels, one per line").fill("positive\nnegative")
    admin.get_by_role("textbox", name="Instructions for labellers (markdown)").fill("Is the reviewer **happy**?")
    admin.get_by_text("Show each item as").click()  # leave the text area so its value is sent
    ready(admin)
    shot(admin, screenshots, "admin-setup-configured")
    admin.get_by_role("button", name="Create project").click()
    expect(admin.get_by_text("Created Kettles with 10 items.")).to_be_visible(timeout=STEP_MS)

    (project,) = store.projects()
    assert project.labels == ("positive", "negative")
    assert project.settings["text_column"] == "review"
    assert project.instructions == "Is the reviewer **happy**?"
    assert store.progress(project.id).total == len(REVIEWS)


def test_admin_invites_two_labellers(admin, story, screenshots):
    go(admin, "People")
    for name in ("alice", "bob"):
        admin.get_by_role("textbox", name="Name").fill(name)
        admin.get_by_role("button", name="Add and make invite link").click()
        code = admin.locator(".st-key-invite code")
        expect(code).to_contain_text("?token=", timeout=STEP_MS)
        expect(admin.locator(".st-key-invite")).to_contain_text(name)
        story[name] = code.inner_text().strip()
        ready(admin)
    assert story["alice"] != story["bob"]
    shot(admin, screenshots, "admin-people")


def test_two_labellers_label_at_the_same_time_and_never_see_the_same_item(browser, story, screenshots):
    pages = {}
    for name in ("alice", "bob"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pages[name] = context.new_page()
        pages[name].goto(story[name])
    alice, bob = pages["alice"], pages["bob"]
    shown = {"alice": item_text(alice), "bob": item_text(bob)}
    shot(alice, screenshots, "labeller-label")
    assert shown["alice"] != shown["bob"]

    alice.reload()  # a refresh keeps the same leased item (the token stays in the URL)
    assert item_text(alice) == shown["alice"]

    seen = {"alice": [], "bob": []}
    while any(shown.values()):
        for name, page in pages.items():
            if shown[name] is None:
                continue
            seen[name].append(shown[name])  # HTML items must arrive here as their literal text
            assert nothing_ran(page)
            if shown[name] == XSS[0]:
                shot(page, screenshots, "labeller-html-item-shown-as-text")
        # Both act before either waits: the server handles the two clicks at the same time.
        if shown["alice"] is not None:
            press(alice, "1")  # the built-in shortcut of the first label
        if shown["bob"] is not None:
            bob.locator(".st-key-label-1 button").click()
        for name, page in pages.items():
            if shown[name] is not None:
                shown[name] = next_item(page, shown[name])

    assert not set(seen["alice"]) & set(seen["bob"])
    assert sorted(seen["alice"] + seen["bob"]) == sorted(REVIEWS)
    assert seen["alice"] and seen["bob"]
    assert all(nothing_ran(page) for page in pages.values())
    story["seen"] = seen
    shot(alice, screenshots, "labeller-nothing-left")

    go(alice, "Progress")
    expect(alice.get_by_role("heading", name="My stats")).to_be_visible()
    expect(alice.get_by_test_id("stSidebar").get_by_role("link")).to_have_count(2)  # Label, Progress
    refreshed_charts(alice, 2)
    shot(alice, screenshots, "labeller-my-stats")
    for page in pages.values():
        page.context.close()


def test_export_downloads_what_was_labelled(admin, story, store, screenshots):
    go(admin, "Export")
    shot(admin, screenshots, "admin-export")
    with admin.expect_download(timeout=STEP_MS) as download:
        admin.get_by_role("button", name="Download CSV").first.click()
    items = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    wanted = {text: "positive" for text in story["seen"]["alice"]}
    wanted |= {text: "negative" for text in story["seen"]["bob"]}
    neutralised = {"'" + t if t.startswith("=") else t: label for t, label in wanted.items()}
    assert {row["review"]: row["label"] for row in items} == neutralised
    assert {row["review"]: row["label:alice"] or row["label:bob"] for row in items} == neutralised

    with admin.expect_download(timeout=STEP_MS) as download:
        admin.get_by_role("button", name="Download JSONL").last.click()
    rows = [json.loads(line) for line in download.value.path().read_text(encoding="utf-8").splitlines()]
    assert sorted((r["labeller"], r["label"]) for r in rows) == sorted(
        [("alice", "positive")] * len(story["seen"]["alice"]) + [("bob", "negative")] * len(story["seen"]["bob"])
    )


def test_admin_pages_as_a_person_sees_them(admin, screenshots):
    go(admin, "Progress")
    refreshed_charts(admin, 4)  # per hour, distribution, labels and seconds per labeller (no skips)
    expect(admin.get_by_test_id("stMetricValue").nth(1)).to_have_text("10")  # all items done
    shot(admin, screenshots, "admin-progress")
    go(admin, "Label")
    expect(admin.get_by_text("Nothing left for you")).to_be_visible(timeout=STEP_MS)
    shot(admin, screenshots, "admin-label")
    go(admin, "Setup")
    shot(admin, screenshots, "admin-setup")
    assert nothing_ran(admin)


def test_adding_rows_stays_on_its_tab(admin, store, tmp_path):
    """The notice drawn above the tabs once rows are added used to open the first tab instead."""
    go(admin, "Setup")
    admin.get_by_role("tab", name="Add rows").click()
    ready(admin)
    more = tmp_path / "more reviews.csv"
    more.write_text("id,review,stars\n10,A second kettle just as good.,5\n", encoding="utf-8")
    uploader = admin.get_by_test_id("stFileUploader").filter(has_text="CSV file with more rows")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(more))
    admin.get_by_role("button", name="Add the rows of more reviews.csv").click()
    expect(admin.get_by_text("Added 1 item to Kettles.")).to_be_visible(timeout=STEP_MS)
    expect(admin.get_by_role("tab", selected=True)).to_have_text("Add rows")
    assert store.progress(store.projects()[0].id).total == len(REVIEWS) + 1
