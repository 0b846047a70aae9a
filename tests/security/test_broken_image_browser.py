"""Finding 1 of issue 15 in headless Chromium: an image URL the browser cannot load showed only a tiny
broken-image icon, and a non-image file stopped the labeller (no buttons). Now the broken image says so in
words, with its address; a bad file shows a notice; a `data:` image shows; and the labeller goes through
every item to "Nothing left" without getting stuck. Screenshots go to artifacts/screenshots/.

One test tells the story in steps (one server): split up, pytest-xdist could start a server per step.
"""

from __future__ import annotations

import base64
import io
import socket
import sys
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # the e2e helpers

from _browser import FIRST_LOAD_MS, REPO, STEP_MS, go, ready, running_app, shot, sign_in_as_admin  # noqa: E402
from _streamlit_server import browser  # noqa: E402, F401 (the shared headless Chromium fixture)
from labelling import Store  # noqa: E402

pytestmark = pytest.mark.e2e
expect.set_options(timeout=STEP_MS)  # as in tests/e2e: a step on a loaded machine may take long

BROKEN_WORDS = "This image could not be loaded."


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def data_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (20, 120, 200)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """An app whose one media folder is empty, and a project of three image items: an address nothing
    answers at, a file that is no image (outside the media folder), and a `data:` image."""
    folder = tmp_path_factory.mktemp("story")
    media = folder / "media"
    media.mkdir()
    database_url = f"sqlite:///{folder / 'labelling.db'}"
    store = Store.connect(database_url)
    project = store.create_project("Photos", ["cat", "dog"], settings={"display": "image", "image_column": "image"})
    broken = f"http://127.0.0.1:{closed_port()}/gone.png"
    store.add_items(project.id, [{"image": broken}, {"image": "/etc/hostname"}, {"image": data_uri()}])
    _, token = store.people.add("alice")
    env = {
        "DATABASE_URL": database_url,
        "LABELLING_ADMIN_PASSWORD": "pw",
        "LABELLING_MEDIA_ROOTS": str(media),
        "LABELLING_EMBEDDED_WORKER": "0",  # its findings would join the report (tests/security/test_image_url_policy)
    }
    with running_app(env, folder / "streamlit.log") as app:
        yield {"url": app.url, "link": f"{app.url}/?token={token}", "broken": broken, "store": store, "project": project.id}
    store.close()



def actions_are_there(page: Page) -> None:
    for name in ("cat", "dog", "Skip", "Undo", "Report a problem with this item"):
        expect(page.get_by_role("button", name=name)).to_be_visible()


def test_a_labeller_sees_words_for_a_broken_image_and_is_never_stuck(story, browser):
    screenshots = REPO / "artifacts" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.goto(story["link"])

    # 1. The image the browser cannot load: words (the alternative text, the address), not only an icon.
    image = page.get_by_alt_text(BROKEN_WORDS)
    expect(image).to_be_attached(timeout=FIRST_LOAD_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth === 0", arg=image.element_handle(), timeout=STEP_MS)
    expect(page.get_by_text(f"Image from '{story['broken']}'")).to_be_visible()
    actions_are_there(page)
    shot(page, screenshots, "label-broken-image-url")
    page.get_by_role("button", name="cat").click()

    # 2. A file that is no image (and outside the media folder): a notice quoting it, and every button.
    notice = page.get_by_text("The image cannot be shown")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("/etc/hostname")
    actions_are_there(page)
    page.get_by_role("button", name="Report a problem with this item").click()
    page.get_by_label("What is wrong? (optional)").fill("not a photo")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("the problem was reported")).to_be_visible()
    ready(page)
    shot(page, screenshots, "label-bad-file-reported")
    page.keyboard.press("Escape")  # close the popover
    page.get_by_role("button", name="Skip").click()

    # 3. A data: image is shown; then the skipped item comes back, and labelling it leaves nothing.
    shown = page.locator("[data-testid='stImage'] img")
    expect(shown).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.element_handle(), timeout=STEP_MS)
    shot(page, screenshots, "label-data-uri-image")
    page.get_by_role("button", name="dog").click()
    expect(notice).to_be_visible()
    page.get_by_role("button", name="cat").click()
    expect(page.get_by_text("Nothing left for you")).to_be_visible()
    ready(page)

    store, project = story["store"], story["project"]
    assert sorted(store.annotations(project)["label"]) == ["cat", "cat", "dog"]
    [reported] = store.problems.open(project)[0]
    assert (reported.comment, reported.reporter, reported.data) == ("not a photo", "alice", {"image": "/etc/hostname"})

    # 4. The admin finds the report on the Review page and takes the item out of the queue.
    admin = browser.new_context(viewport={"width": 1100, "height": 1300}).new_page()
    sign_in_as_admin(admin, story["url"], "pw")
    go(admin, "Review")
    expect(admin.get_by_text("Problems reported (1)")).to_be_visible()
    card = admin.locator(f".st-key-problem-{reported.id}")
    expect(card.get_by_text("not a photo")).to_be_visible()
    shot(admin, screenshots, "review-problem-reported")
    card.get_by_role("button", name="Exclude from the queue").click()
    expect(admin.get_by_text(f"Item {reported.item_id}: taken out of the queue.")).to_be_visible()
    assert store.problems.open(project) == ([], 0)
