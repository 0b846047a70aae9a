"""Boxes and spans end to end in headless Chromium: a labeller draws a box with the mouse and selects a span,
gives each a class with a key, submits, undoes, and the admin's export has them; two labellers' boxes on one
item (overlap 2) are drawn one over the other on the Review page, where a reviewer merges them. Boxes moved,
resized, given a class and deleted on an image shown smaller than it is, and an imported prediction moved, are
stored where the mouse put them (in the image's pixels, from its displayed scale); spans given classes by key,
an older one selected with a click and given another, others removed with Delete and with their ×, are stored
at their characters. Screenshots go to artifacts/screenshots/.

One story per test (one server, one database for the module), told in steps."""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import asdict, dataclass

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from _browser import STEP_MS, exported_rows, go, press, ready, shot, sign_in_as_admin
from labelling.learning.imported import import_predictions
from labelling.records import Label, Span, Spans

pytestmark = pytest.mark.e2e

EDITOR = ".st-key-item .annot-{task}[data-ready='true']"
SELECTED = ".st-key-item .annot-seg.annot-selected"
SENTENCES = ["😀 Ada Lovelace wrote to Charles Babbage from London.", "Nothing to mark here."]


def picture(number: int, size: tuple[int, int] = (320, 200)) -> str:
    """A small PNG as a `data:` URI: a disc on a plain ground, moved by `number` so each item differs."""
    image = Image.new("RGB", size, "#dfe3ee")
    ImageDraw.Draw(image).ellipse((60 + 20 * number, 40, 180 + 20 * number, 160), fill="#b03a2e")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def labeller_page(browser, server, store, name: str) -> Page:
    _, token = store.people.add(name)
    page = browser.new_context(viewport={"width": 1100, "height": 1100}).new_page()
    page.goto(f"{server.url}/?token={token}")
    ready(page)
    return page


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press the mouse at `start` and let go at `end` (screen pixels), passing the middle on the way."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def drag_box(page: Page, start: tuple[float, float], end: tuple[float, float], within: str = ".st-key-item") -> None:
    """Press the mouse at `start` and let go at `end`, in pixels of the shown image from its top left."""
    area = page.locator(f"{within} .annot-svg").bounding_box()
    drag(page, (area["x"] + start[0], area["y"] + start[1]), (area["x"] + end[0], area["y"] + end[1]))


Point = tuple[int, int]
HANDLES = ".st-key-item .annot-handle"


@dataclass(frozen=True)
class Shown:
    """Where the editor's image is on screen and its displayed scale (screen pixels per natural pixel), as the
    page laid it out: the mouse goes to whole screen pixels, and what it did is read in natural pixels."""

    left: float
    top: float
    scale: float

    def screen(self, x: float, y: float) -> Point:
        """The whole screen pixel nearest the natural point (x, y)."""
        return round(self.left + x * self.scale), round(self.top + y * self.scale)

    def natural(self, point: tuple[float, float]) -> tuple[float, float]:
        return (point[0] - self.left) / self.scale, (point[1] - self.top) / self.scale


def shown(page: Page) -> Shown:
    left, top, width, natural = page.locator(".st-key-item .annot-stage img").evaluate(
        "img => { const r = img.getBoundingClientRect(); return [r.left, r.top, r.width, img.naturalWidth]; }"
    )
    return Shown(left, top, width / natural)


def handle(page: Page, corner: str) -> Point:
    """Where a person presses to take the selected box's `corner` handle: 2 pixels off its centre (a hand is
    never exact; the handle is 8 wide)."""
    area = page.locator(f".st-key-item .annot-handle.{corner}").bounding_box()
    return round(area["x"] + area["width"] / 2) + 2, round(area["y"] + area["height"] / 2) - 2


def rounded(box: dict) -> dict:
    """A box's numbers to two decimals, as the editor sends them (JavaScript's Math.round: halves up)."""
    return {k: v if k == "label" else math.floor(v * 100 + 0.5) / 100 for k, v in box.items()}


def drawn(page: Page, start: Point, end: Point, label: str) -> dict:
    """Draw a box from `start` to `end` (screen pixels); returns it in natural pixels as the mouse drew it."""
    view = shown(page)
    drag(page, start, end)
    (x0, y0), (x1, y1) = view.natural(start), view.natural(end)
    return rounded({"x": min(x0, x1), "y": min(y0, y1), "w": abs(x1 - x0), "h": abs(y1 - y0), "label": label})


def moved(page: Page, box: dict, press: Point, by: Point, corner: str | None = None) -> dict:
    """Drag from `press` by `by` screen pixels (a box, or its `corner` handle); returns `box` (natural pixels)
    as the mouse moved it, computed from the image's displayed scale."""
    view = shown(page)
    end = (press[0] + by[0], press[1] + by[1])
    drag(page, press, end)
    (x0, y0), (x1, y1) = view.natural(press), view.natural(end)
    dx, dy = x1 - x0, y1 - y0
    if corner is None:
        return rounded({**box, "x": box["x"] + dx, "y": box["y"] + dy})
    # the corner taken moves with the mouse, the opposite one stays put
    left, top, right, bottom = box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]
    left, right = (left + dx, right) if "w" in corner else (left, right + dx)
    top, bottom = (top + dy, bottom) if "n" in corner else (top, bottom + dy)
    return rounded({**box, "x": left, "y": top, "w": right - left, "h": bottom - top})


def on_screen(page: Page, label: str) -> list[float]:
    """The box of class `label` as drawn: x, y, w, h in natural pixels (screen pixels over the displayed scale)."""
    rect = page.locator(f".st-key-item .annot-box rect[data-label='{label}']")
    return [float(rect.get_attribute(a)) / shown(page).scale for a in ("x", "y", "width", "height")]


def submitted(page: Page, store, project_id: int, key: str | None = None) -> Label:
    """Submit the project's one item (with its `key`, else a click on Submit) and close the tab; returns the
    label the app stored."""
    if key is None:
        page.get_by_role("button", name="Submit").click()
    else:
        press(page, key)
    expect(page.get_by_text("Nothing left for you")).to_be_visible(timeout=STEP_MS)
    page.context.close()
    (label,) = store.export(project_id)["label"]
    return label


def select_text(page: Page, words: str) -> None:
    """Select `words` in the span editor's text with the mouse: press before the first letter, let go after
    the last (their screen positions measured in the page; the text may be cut into marked pieces)."""
    left, right, y = page.evaluate(
        """(words) => {
            const nodes = [...document.querySelectorAll(".st-key-item .annot-seg")].map(s => s.firstChild);
            const at = nodes.map(n => n.data).join("").indexOf(words);
            const box = (offset) => {  // the screen box of the character at `offset`
                for (const node of nodes) {
                    if (offset < node.data.length) {
                        const range = document.createRange();
                        range.setStart(node, offset); range.setEnd(node, offset + 1);
                        return range.getBoundingClientRect();
                    }
                    offset -= node.data.length;
                }
            };
            const first = box(at), last = box(at + words.length - 1);
            return [first.left + 1, last.right - 1, (first.top + first.bottom) / 2];
        }""",
        words,
    )
    page.mouse.move(left, y)
    page.mouse.down()
    page.mouse.move((left + right) / 2, y, steps=4)
    page.mouse.move(right, y, steps=4)
    page.mouse.up()


def shown_image(page: Page, other_than: str | None = None) -> str:
    """The address of the one image in the box editor, once it is not `other_than` and the run has finished
    (the editor of the item before may stay on screen until then)."""
    page.wait_for_function(
        """(other) => {
            const images = document.querySelectorAll(".st-key-item .annot-boxes[data-ready='true'] .annot-stage img");
            return images.length === 1 && images[0].getAttribute("src") !== other;
        }""",
        arg=other_than,
        timeout=STEP_MS,
    )
    ready(page)
    image = page.locator(".st-key-item .annot-stage img")
    expect(image).to_have_count(1)
    return image.get_attribute("src")


def shows_text(page: Page, text: str) -> None:
    """Wait until the span editor shows `text` (its class tags aside), alone once the run has finished."""
    editor = page.locator(".st-key-item .annot-text")
    expect(editor.filter(has=page.locator(".annot-seg", has_text=text.split()[0]))).to_have_count(1, timeout=STEP_MS)
    ready(page)
    expect(editor).to_have_count(1)
    assert "".join(editor.locator(".annot-seg").all_inner_texts()) == text


def exported(browser, server) -> list[dict]:
    """The admin's CSV from the Export page (of the project picked last, the newest), as rows."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    sign_in_as_admin(page, server.url, server.admin_password)
    rows = exported_rows(page)
    context.close()
    return rows


def boxes_of(page: Page, within: str = ".st-key-item") -> list[str]:
    return page.locator(f"{within} .annot-box rect[data-label]").evaluate_all("rs => rs.map(r => r.dataset.label)")


def classes_of(page: Page) -> list[str]:
    """The span editor's class tags, in the text's order."""
    return page.locator(".st-key-item .annot-tag").evaluate_all("ts => ts.map(t => t.dataset.label)")


def test_a_box_drawn_with_the_mouse_is_submitted_undone_resubmitted_and_exported(browser, server, store, screenshots):
    project = store.create_project(
        "Discs", ["disc", "ground"], task="boxes", settings={"display": "image", "image_column": "image"}
    )
    store.add_items(project.id, [{"image": picture(i), "name": f"picture {i}"} for i in range(2)])
    page = labeller_page(browser, server, store, "alice")
    expect(page.locator(EDITOR.format(task="boxes"))).to_be_visible(timeout=STEP_MS)
    first_image = shown_image(page)

    drag_box(page, (60, 40), (180, 160))
    page.keyboard.press("2")  # the selected box becomes "ground"
    expect(page.locator(".st-key-item .annot-box rect[data-label='ground']")).to_have_count(1)
    drag_box(page, (200, 20), (300, 90))  # a second box, also "ground" (the class chosen last) ...
    page.keyboard.press("Delete")  # ... deleted again while selected
    expect(page.locator(".st-key-item .annot-box rect[data-label]")).to_have_count(1)
    page.keyboard.press("1")  # the class for the next box, not the one drawn (it is no longer selected)
    ready(page)
    shot(page, screenshots, "label-boxes")

    press(page, "Enter")  # Submit
    assert shown_image(page, other_than=first_image) != first_image
    assert boxes_of(page) == []

    second_image = shown_image(page)
    page.get_by_role("button", name="Undo").click()  # back to the first picture, my box as I left it
    assert shown_image(page, other_than=second_image) == first_image
    expect(page.get_by_text("You labelled this 1 box: ground")).to_be_visible(timeout=STEP_MS)
    assert boxes_of(page) == ["ground"]
    drag_box(page, (200, 20), (300, 90))  # beside my box: a new one, of class 1 ("disc", pressed last)
    page.get_by_role("button", name="Submit").click()
    assert shown_image(page, other_than=first_image) == second_image
    press(page, "Enter")  # nothing drawn on the second picture: it has no boxes
    expect(page.get_by_text("Nothing left for you")).to_be_visible(timeout=STEP_MS)
    page.context.close()

    rows = {row["name"]: row for row in exported(browser, server)}
    drawn = json.loads(rows["picture 0"]["label"])
    assert (drawn["width"], drawn["height"]) == (320, 200)
    assert sorted(box["label"] for box in drawn["boxes"]) == ["disc", "ground"]
    ground = next(box for box in drawn["boxes"] if box["label"] == "ground")
    # the drag went from (60, 40) to (180, 160) on an image shown at its natural size
    assert ground == pytest.approx({"x": 60, "y": 40, "w": 120, "h": 120, "label": "ground"}, abs=1.5)
    assert json.loads(rows["picture 1"]["label"]) == {"width": 320, "height": 200, "boxes": []}


def test_a_span_selected_with_the_mouse_is_submitted_undone_and_exported(browser, server, store, screenshots):
    project = store.create_project("People", ["PER", "LOC"], task="spans", settings={"display": "text", "text_column": "text"})
    store.add_items(project.id, [{"text": text} for text in SENTENCES])
    page = labeller_page(browser, server, store, "sam")
    expect(page.locator(EDITOR.format(task="spans"))).to_be_visible(timeout=STEP_MS)

    select_text(page, "Ada Lovelace")
    select_text(page, "London")
    page.keyboard.press("2")  # the span just made is a place
    expect(page.locator(".st-key-item .annot-tag[data-label='LOC']")).to_have_count(1)
    select_text(page, "Lovelace wrote")  # overlaps "Ada Lovelace": refused, this project allows no overlaps
    expect(page.get_by_text("does not allow overlapping spans")).to_be_visible()
    ready(page)
    shot(page, screenshots, "label-spans")

    page.get_by_role("button", name="Submit").click()
    shows_text(page, SENTENCES[1])
    page.get_by_role("button", name="Undo").click()
    shows_text(page, SENTENCES[0])
    page.locator(".st-key-item .annot-seg", has_text="London").click()  # a click on a span selects it ...
    expect(page.locator(SELECTED)).to_have_text("London")
    page.keyboard.press("Delete")  # ... and Delete removes it
    expect(page.locator(".st-key-item .annot-tag")).to_have_count(1)
    press(page, "Enter")
    shows_text(page, SENTENCES[1])
    page.context.close()

    rows = {row["text"]: row for row in exported(browser, server)}
    # offsets in characters, as Python counts them: the emoji is one (two UTF-16 units in the browser)
    assert json.loads(rows[SENTENCES[0]]["label"]) == {"spans": [{"start": 2, "end": 14, "label": "PER"}]}


def test_two_labellers_boxes_are_shown_one_over_another_and_a_reviewer_merges_them(browser, server, store, screenshots):
    project = store.create_project(
        "Discs twice", ["disc", "ground"], task="boxes", overlap=2, settings={"display": "image", "image_column": "image"}
    )
    store.add_items(project.id, [{"image": picture(i), "name": f"twice {i}"} for i in range(2)])
    versions = {
        "ann": [{"x": 60, "y": 40, "w": 120, "h": 120, "label": "disc"}],
        "bob": [{"x": 70, "y": 50, "w": 120, "h": 110, "label": "disc"}, {"x": 0, "y": 0, "w": 40, "h": 30, "label": "ground"}],
    }
    for name, boxes in versions.items():  # both label both items (the browser drawing is tested above)
        store.people.add(name)
        for _ in range(2):
            item = store.next_item(project.id, name)
            store.submit(project.id, item.id, name, {"width": 320, "height": 200, "boxes": boxes})
    _, token = store.people.add("rita", "reviewer")
    page = browser.new_context(viewport={"width": 1100, "height": 1600}).new_page()
    page.goto(f"{server.url}/?token={token}")
    ready(page)
    go(page, "Review")
    first, second = (int(i) for i in store.export(project.id)["item_id"])
    card = page.locator(f".st-key-card-{first}")
    expect(card.locator(".annot-boxes[data-readonly='true'][data-ready='true']")).to_be_visible(timeout=STEP_MS)
    expect(card.locator(".annot-legend")).to_have_text("annbob")
    assert card.locator(".annot-boxes[data-readonly='true'] .annot-box rect").count() == 3  # 1 + 2, one over another
    ready(page)
    shot(page, screenshots, "review-boxes")

    # The final version starts from the labellers' merge (the disc both drew, at their mean): add bob's ground
    editor = f".st-key-card-{first} .annot-boxes[data-readonly='false']"
    drag_box(page, (1, 1), (40, 30), within=editor)
    page.keyboard.press("2")
    card.get_by_role("button", name="Set final label").click()
    expect(page.get_by_text(f"Item {first}: final label set to")).to_be_visible(timeout=STEP_MS)
    ready(page)
    page.locator(f".st-key-card-{second}").get_by_role("button", name="Accept bob's version").click()
    expect(page.get_by_text(f"Item {second}: final label set to")).to_be_visible(timeout=STEP_MS)
    page.context.close()

    rows = {row["name"]: row for row in exported(browser, server)}
    merged = {box["label"]: box for box in json.loads(rows["twice 0"]["label"])["boxes"]}
    assert sorted(merged) == ["disc", "ground"]
    assert merged["disc"] == {"x": 65, "y": 45, "w": 120, "h": 115, "label": "disc"}
    assert merged["ground"] == pytest.approx({"x": 1, "y": 1, "w": 39, "h": 29, "label": "ground"}, abs=1.5)
    assert json.loads(rows["twice 1"]["label"])["boxes"] == versions["bob"]


def test_boxes_moved_resized_given_a_class_and_deleted_are_stored_where_the_mouse_put_them(browser, server, store, screenshots):
    project = store.create_project(
        "Tall discs", ["disc", "ground", "sky"], task="boxes", settings={"display": "image", "image_column": "image"}
    )
    store.add_items(project.id, [{"image": picture(3, size=(600, 900)), "name": "tall"}])
    page = labeller_page(browser, server, store, "tess")
    shown_image(page)
    # A tall image is shown at 70% of the window's height: 770 of its 900 pixels, 513.3 screen pixels wide, so
    # a screen pixel is neither one image pixel nor a whole number of them.
    view = shown(page)
    assert view.scale < 1

    first = drawn(page, view.screen(100, 150), view.screen(300, 400), "disc")
    second = drawn(page, view.screen(320, 420), view.screen(550, 700), "disc")
    expect(page.locator(".st-key-item .annot-box rect[data-label='disc']")).to_have_count(2)
    expect(page.locator(HANDLES)).to_have_count(4)  # the box drawn last is selected: its corners show
    # Drag the first box by its middle: its bottom right corner comes to lie over the second box ...
    first = moved(page, first, view.screen(200, 275), (60, 90))
    expect(page.locator(HANDLES)).to_have_count(4)
    # ... where its handle is still the one taken (the selected box is drawn over the others)
    first = moved(page, first, handle(page, "se"), (-80, -100), corner="se")
    page.keyboard.press("3")  # the selected box becomes "sky"
    first["label"] = "sky"
    expect(page.locator(".st-key-item .annot-box rect[data-label='sky']")).to_have_count(1)
    ready(page)
    shot(page, screenshots, "label-boxes-edited")

    page.mouse.click(*view.screen(second["x"] + second["w"] / 2, second["y"] + second["h"] / 2))  # select it
    expect(page.locator(HANDLES)).to_have_count(4)
    page.keyboard.press("Delete")
    expect(page.locator(".st-key-item .annot-box rect[data-label]")).to_have_count(1)
    expect(page.locator(HANDLES)).to_have_count(0)
    assert on_screen(page, "sky") == pytest.approx([first[k] for k in "xywh"], abs=0.01)
    label = submitted(page, store, project.id)
    assert (label.width, label.height) == (600, 900)
    assert [asdict(box) for box in label.boxes] == [pytest.approx(first, abs=0.01)]


def test_an_imported_prediction_is_the_starting_point_and_is_stored_as_moved(browser, server, store, screenshots):
    project = store.create_project(
        "Predicted discs", ["disc", "ground"], task="boxes", settings={"display": "image", "image_column": "image"}
    )
    store.add_items(project.id, [{"image": picture(5, size=(1200, 750)), "name": "wide"}])
    (item_id,) = store.export(project.id)["item_id"]
    predicted = {"x": 400, "y": 200, "w": 300, "h": 250, "label": "ground"}
    detected = {"width": 1200, "height": 750, "boxes": [{**predicted, "score": 0.9}]}  # a detector's box and score
    line = json.dumps({"item_id": int(item_id), "label": detected})
    assert import_predictions(store, project.id, line, format="jsonl").predictions == 1
    page = labeller_page(browser, server, store, "pat")
    shown_image(page)
    expect(page.get_by_text("The model suggests 1 box: ground (90% sure)")).to_be_visible()
    view = shown(page)  # a wide image, narrowed to the page's column
    assert view.scale < 1
    assert on_screen(page, "ground") == pytest.approx([predicted[k] for k in "xywh"], abs=0.01)

    middle = view.screen(550, 325)
    page.mouse.click(*middle)  # select it
    expect(page.locator(HANDLES)).to_have_count(4)
    ready(page)
    shot(page, screenshots, "label-boxes-prediction")
    box = moved(page, predicted, middle, (-45, 35))
    assert on_screen(page, "ground") == pytest.approx([box[k] for k in "xywh"], abs=0.01)
    label = submitted(page, store, project.id)
    assert (label.width, label.height) == (1200, 750)
    assert [asdict(b) for b in label.boxes] == [pytest.approx(box, abs=0.01)]  # moved, and without the score
    assert (box["x"], box["y"]) != (predicted["x"], predicted["y"])


def test_spans_given_a_class_by_key_selected_changed_and_removed_are_stored_at_their_characters(
    browser, server, store, screenshots
):
    text = "🙂 Grace Hopper flew from Boston to Yale in 1944."
    project = store.create_project(
        "Names and places", ["PER", "LOC", "ORG"], task="spans", settings={"display": "text", "text_column": "text"}
    )
    store.add_items(project.id, [{"text": text}])
    page = labeller_page(browser, server, store, "una")
    shows_text(page, text)
    tags = page.locator(".st-key-item .annot-tag")

    select_text(page, "Grace Hopper")  # the first class, PER
    select_text(page, "Boston")
    page.keyboard.press("2")  # the span just made is a place, LOC (and so are the next ones)
    select_text(page, "Yale")  # LOC, the class chosen last
    select_text(page, "1944")
    page.keyboard.press("3")  # ORG
    expect(tags).to_have_count(4)
    expect(page.locator(SELECTED)).to_have_text("1944")  # the span made last is selected
    assert classes_of(page) == ["PER", "LOC", "LOC", "ORG"]

    page.locator(".st-key-item .annot-seg", has_text="Yale").click()  # an older span: selected, nothing removed
    expect(page.locator(SELECTED)).to_have_text("Yale")
    expect(tags).to_have_count(4)
    page.keyboard.press("3")  # Yale becomes ORG
    expect(page.locator(".st-key-item .annot-tag.selected[data-label='ORG']")).to_have_count(1)
    assert classes_of(page) == ["PER", "LOC", "ORG", "ORG"]
    ready(page)
    shot(page, screenshots, "label-spans-selected")
    page.keyboard.press("Escape")  # let go: keys choose the class of the next span only
    expect(page.locator(SELECTED)).to_have_count(0)
    page.keyboard.press("1")
    expect(page.locator(".st-key-item .annot-class.active")).to_have_attribute("data-label", "PER")
    assert classes_of(page) == ["PER", "LOC", "ORG", "ORG"]

    page.locator(".st-key-item .annot-seg", has_text="Boston").click()
    page.keyboard.press("Delete")
    expect(tags).to_have_count(3)
    page.locator(".st-key-item .annot-seg", has_text="1944").click()
    page.locator(".st-key-item .annot-tag.selected .annot-remove").click()  # the mouse's way to remove it
    expect(tags).to_have_count(2)
    assert classes_of(page) == ["PER", "ORG"]
    page.locator(".st-key-item .annot-seg", has_text="Grace Hopper").click()
    expect(page.locator(SELECTED)).to_have_text("Grace Hopper")
    ready(page)
    label = submitted(page, store, project.id, key="Enter")  # Enter still submits while a span is selected
    # offsets in characters, as Python counts them (the emoji is one)
    at = {words: (text.index(words), text.index(words) + len(words)) for words in ("Grace Hopper", "Yale")}
    assert label == Spans((Span(*at["Grace Hopper"], "PER"), Span(*at["Yale"], "ORG")))


def test_overlapping_spans_are_selected_one_after_another_and_never_marked_twice(browser, server, store, screenshots):
    text = "Ada Lovelace met Charles Babbage."
    project = store.create_project(
        "Names in names",
        ["PER", "SURNAME"],
        task="spans",
        settings={"display": "text", "text_column": "text", "overlapping_spans": True},
    )
    store.add_items(project.id, [{"text": text}])
    page = labeller_page(browser, server, store, "ova")
    shows_text(page, text)
    selected = page.locator(SELECTED)

    select_text(page, "Ada Lovelace")  # PER
    select_text(page, "Lovelace")  # inside it: this project allows overlaps
    page.keyboard.press("2")  # SURNAME
    expect(selected).to_have_text(["Lovelace"])
    surname = page.locator(".st-key-item .annot-seg", has_text="Lovelace")
    surname.click()  # the innermost span there is selected already: the next one out
    expect(selected).to_have_text(["Ada", "Lovelace"])
    surname.click()  # and round again
    expect(selected).to_have_text(["Lovelace"])
    surname.click()
    page.keyboard.press("Backspace")  # removes "Ada Lovelace", the span selected
    assert classes_of(page) == ["SURNAME"]

    select_text(page, "Lovelace")  # the same characters again, of the class chosen last (PER, the span removed)
    assert classes_of(page) == ["PER", "SURNAME"]
    page.keyboard.press("2")  # the same characters and class twice: refused
    expect(page.get_by_text("“Lovelace” is marked SURNAME already.")).to_be_visible()
    assert classes_of(page) == ["PER", "SURNAME"]
    page.locator(".st-key-item .annot-tag[data-label='SURNAME']").click()  # a tag selects its own span
    expect(page.locator(".st-key-item .annot-tag.selected")).to_have_attribute("data-label", "SURNAME")
    ready(page)
    shot(page, screenshots, "label-spans-overlapping")
    label = submitted(page, store, project.id, key="Enter")
    assert label == Spans((Span(4, 12, "PER"), Span(4, 12, "SURNAME")))
