"""Finding 1 of issue 15: one bad row stopped a project. An image cell naming a file that is no image
(`/etc/hostname`) raised before the buttons were drawn, so the labeller had no label, Skip or Undo, and
every reload renewed their lease. Now any item is shown, or a notice quotes its value, and the buttons,
Skip, Undo and "Report a problem with this item" are always there; reports reach the Review page, where
the item can be taken out of the queue."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from labelling.errors import ImageUnavailable
from labelling.io.media import DATA_URI_MAX_BYTES
from labelling.learning.features import ImageLoader, feature_columns
from labelling.records import ProjectSettings
from ui.items import literal

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"


@pytest.fixture
def media(tmp_path, monkeypatch, sqlite_url):
    """The app on a fresh SQLite database, with `tmp_path/media` as its one media folder."""
    folder = tmp_path / "media"
    folder.mkdir()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LABELLING_MEDIA_ROOTS", str(folder))
    monkeypatch.delenv("LABELLING_ADMIN_PASSWORD", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield folder
    st.cache_resource.clear()
    st.cache_data.clear()


def png(colour: int = 128) -> bytes:
    out = io.BytesIO()
    Image.new("L", (4, 4), colour).save(out, format="PNG")
    return out.getvalue()


def image_project(open_store, sqlite_url, cells: list[str]):
    store = open_store(sqlite_url)
    project = store.create_project("photos", ["cat", "dog"], settings={"display": "image", "image_column": "image"})
    store.add_items(project.id, [{"image": cell} for cell in cells])
    return store, project


def label_page() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


def keeps_every_action(at: AppTest) -> None:
    assert not at.exception
    assert [b.label for b in at.button if b.key and b.key.startswith("label-")] == ["cat", "dog"]
    assert at.button(key="skip") and at.button(key="undo")
    assert "Report a problem with this item" in [p.proto.popover.label for p in at.get("popover")]


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("/etc/hostname", "outside the folders this app may show images from"),
        ("not-an-image.txt", "it is not a readable image"),
        ("drawing.svg", "SVG images are not shown"),
        ("data:image/svg+xml;base64,PHN2Zy8+", "SVG images are not shown"),
        ("data:image/png;base64,%%%", "not valid base64"),
        ("x" * 300_000, "no such file"),
    ],
    ids=["file-outside", "text-file", "svg-file", "svg-data", "bad-data", "huge"],
)
def test_a_bad_image_cell_shows_a_notice_with_its_value_and_keeps_every_action(
    media, open_store, sqlite_url, monkeypatch, cell, why
):
    (media / "not-an-image.txt").write_text("hello")
    (media / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    monkeypatch.chdir(media)  # relative cells are read from the working directory
    image_project(open_store, sqlite_url, [cell, "data:image/png;base64," + base64.b64encode(png()).decode()])

    at = label_page()

    keeps_every_action(at)
    [notice] = [w for w in at.warning if "Its value" in w.value]
    assert why in notice.value
    assert literal(cell[:40]) in notice.value  # the raw value, escaped for markdown
    assert len(notice.value) < 1_000
    at.button(key="skip").click().run()  # never stuck: Skip moves on to the next (good) item
    assert not [w for w in at.warning if "Its value" in w.value] and at.get("image")


def test_a_labeller_reports_an_item_and_a_reviewer_takes_it_out_of_the_queue(media, open_store, sqlite_url):
    (media / "fine.png").write_bytes(png())
    store, project = image_project(open_store, sqlite_url, ["/etc/hostname", str(media / "fine.png")])

    at = label_page()
    keeps_every_action(at)
    bad = store.export(project.id)["item_id"].tolist()[0]
    assert not at.text_input  # the popover's inside is drawn once it is open
    at.session_state[f"problem-{bad}"] = True  # the labeller opens "Report a problem with this item"
    at.run()
    at.text_input(key=f"problem-comment-{bad}").input("the picture is missing")
    at.button(key=f"problem-send-{bad}").click().run()

    assert "reported" in at.success[0].value
    assert not at.text_input  # closed once sent
    [reported] = store.problems.open(project.id)[0]
    assert (reported.item_id, reported.kind, reported.comment, reported.reporter) == (
        bad, "report", "the picture is missing", "admin"
    )

    review = at.switch_page("pages/review.py").run()
    assert not review.exception
    assert review.get("subheader")[0].value == "Problems reported (1)"
    review.button(key=f"problem-exclude-{reported.id}").click().run()
    assert "taken out of the queue" in review.success[0].value
    assert store.problems.open(project.id) == ([], 0)
    store.set_overlap(project.id, 2)  # a later change of overlap does not bring it back
    fine = {"image": str(media / "fine.png")}
    assert store.next_item(project.id, "someone").data == store.next_item(project.id, "other").data == fine


def test_the_worker_reads_data_images_and_refuses_svg_and_oversized_ones():
    good = "data:image/png;base64," + base64.b64encode(png()).decode()
    assert feature_columns(ProjectSettings(), [{"photo": good}])[0].kind == "image"
    assert ImageLoader(None).load(good).shape == (4, 4)
    huge = "data:image/png;base64," + base64.b64encode(b"\0" * (DATA_URI_MAX_BYTES + 3)).decode()
    for refused, why in (("data:image/svg+xml;base64,PHN2Zy8+", "SVG"), (huge, "larger than")):
        with pytest.raises(ImageUnavailable, match=why):
            ImageLoader(None).load(refused)
