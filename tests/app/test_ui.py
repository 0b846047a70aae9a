"""The Streamlit-side helpers that need no running app: images, shortcuts, escaping, upload limits."""

from __future__ import annotations

import numpy as np
import pytest

import ui
from labelling import InvalidInput, Store


def test_small_arrays_are_scaled_up_and_normalised():
    image = ui.image_array(np.arange(64).reshape(8, 8))
    assert image.shape == (200, 200)
    assert image.min() == 0.0 and image.max() == 1.0
    assert (image[:25, :25] == 0.0).all()  # nearest neighbour: each pixel becomes a 25x25 block


def test_rgb_nan_and_flat_arrays():
    assert ui.image_array(np.ones((4, 5, 3))).shape == (160, 200, 3)
    assert ui.image_array([[np.nan, 1.0], [2.0, 3.0]]).max() == 1.0
    assert ui.image_array(np.full((2, 2), 7.0)).max() == 0.0


@pytest.mark.parametrize("value", [np.arange(5), np.ones((2, 2, 7)), "x", {"a": 1}, np.array([])])
def test_what_cannot_be_an_image_is_refused(value):
    with pytest.raises(InvalidInput):
        ui.image_array(value)


def test_label_shortcuts():
    assert ui.label_shortcuts(tuple("0123456789")) == list("0123456789")  # digit labels keep their key
    assert ui.label_shortcuts(("pos", "neg")) == ["1", "2"]
    eleven = tuple(f"l{i}" for i in range(11))
    assert ui.label_shortcuts(eleven) == [*"123456789", "0", None]


def test_literal_escapes_markdown_and_html():
    assert ui.literal("**b** <img src=x> :red[x] $y$") == r"\*\*b\*\* \<img src=x\> \:red\[x\] \$y\$"


def test_upload_limit():
    ui.check_upload_size(1024 * 1024, limit_mb=1)
    with pytest.raises(InvalidInput, match="over the 1 MB limit"):
        ui.check_upload_size(1024 * 1024 + 1, limit_mb=1)


def test_first_start_with_nothing_configured_has_the_demo_to_label(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = Store.connect()  # the embedded default: labelling.db in the working directory
    ui.demo_on_first_start(store)
    ui.demo_on_first_start(store)  # a second session of the same first start adds nothing
    (project,) = store.projects()
    assert project.name == "Product reviews (demo)"
    assert store.next_item(project.id, "admin") is not None
    store.close()


def test_a_configured_database_gets_no_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'configured.db'}")
    store = Store.connect()
    ui.demo_on_first_start(store)
    assert store.projects() == []
    store.close()


def test_an_image_with_exif_orientation_is_sized_as_the_browser_shows_it():
    import base64

    from tests.unit.io.test_shape_labels import portrait_jpeg

    body = portrait_jpeg()
    src, size = ui.items.image_source("data:image/jpeg;base64," + base64.b64encode(body).decode())
    assert size == (20, 40)  # Chromium's naturalWidth x naturalHeight of this image
    assert base64.b64decode(src.split(",", 1)[1]) == body  # the bytes as they are: the browser turns them


def _two_texts():
    from labelling.records import ProjectSettings
    from ui.items import show_item

    show_item("a short review", ProjectSettings.of({}))
    show_item("a very long review " * 3000, ProjectSettings.of({}))


def test_a_long_text_scrolls_in_a_box_so_the_buttons_below_stay_on_screen():
    from streamlit.testing.v1 import AppTest

    from ui.items import LONG_TEXT_LINES

    app = AppTest.from_function(_two_texts).run()
    short, long = app.main.children.values()
    assert short.value == "a short review"  # shown as it is, no box
    assert long.proto.height_config.pixel_height >= LONG_TEXT_LINES * 20
    assert long.children[0].value == ("a very long review " * 3000).strip()  # whole, in a box that scrolls
