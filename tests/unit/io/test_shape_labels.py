"""Box and span labels without a database: parsing every accepted form, the checks against the item and
the project, and the JSON form they are stored in."""

from __future__ import annotations

import numpy as np
import pytest

from labelling import Box, Boxes, InvalidInput, Project, Span, Spans
from labelling.io import labels, shapes

BOXES = Project(1, "b", ("cat", "dog"), False, 1, "", {"task": "boxes", "image_column": "image"})
SPANS = Project(2, "s", ("PER", "ORG"), False, 1, "", {"task": "spans", "text_column": "text"})
NESTED = Project(3, "n", ("PER", "ORG"), False, 1, "", {"task": "spans", "overlapping_spans": True})


def test_boxes_from_their_json_and_back_keep_every_coordinate():
    value = {"width": 640, "height": 480, "boxes": [{"x": 0.125, "y": 3, "w": 639.875, "h": 1e-3, "label": "dog"}]}
    label = labels.normalise(BOXES, value)
    assert label == Boxes(640, 480, (Box(0.125, 3.0, 639.875, 0.001, "dog"),))
    assert labels.from_json(labels.to_json(label)) == label
    assert labels.normalise(BOXES, labels.to_json(label)) == label  # JSON text, as a CSV cell holds it
    assert labels.normalise(BOXES, label) == label


def test_a_box_is_checked_against_an_array_image():
    value = {"width": 8, "height": 4, "boxes": [{"x": 0, "y": 0, "w": 8, "h": 4, "label": "cat"}]}
    assert labels.normalise(BOXES, value, item={"image": np.zeros((4, 8))}).boxes[0].w == 8
    with pytest.raises(InvalidInput, match="the image is 4x8"):
        labels.normalise(BOXES, value, item={"image": np.zeros((8, 4))})
    # an image the server cannot read (a URL): the size the browser saw is taken
    assert labels.normalise(BOXES, value, item={"image": "https://example.org/a.png"}) is not None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"width": 10, "height": 10, "boxes": [{"x": -1, "y": 0, "w": 2, "h": 2, "label": "cat"}]}, "outside"),
        ({"width": 10, "height": 10, "boxes": [{"x": 0, "y": 9, "w": 2, "h": 2, "label": "cat"}]}, "outside"),
        ({"width": 10, "height": 10, "boxes": [{"x": 0, "y": 0, "w": 2, "h": -2, "label": "cat"}]}, "no area"),
        ({"width": 10, "height": 10, "boxes": [{"x": 0, "y": 0, "w": float("nan"), "h": 2, "label": "cat"}]}, "finite"),
        ({"width": 10, "height": 10, "boxes": [{"x": 0, "y": 0, "w": 2, "h": 2}]}, "not in the label set"),
        ({"width": 10.5, "height": 10, "boxes": []}, "whole number"),
        ({"width": 0, "height": 10, "boxes": []}, "positive"),
        ({"width": 10, "height": 10, "boxes": ["cat"]}, "must be an object"),
        (["cat"], "a box label is"),
    ],
)
def test_bad_boxes(value, message):
    with pytest.raises(InvalidInput, match=message):
        labels.normalise(BOXES, value)


def test_spans_in_every_accepted_form_are_sorted():
    expected = Spans((Span(0, 3, "PER"), Span(13, 17, "ORG")))
    assert labels.normalise(SPANS, [(13, 17, "ORG"), (0, 3, "PER")], item={"text": "Ann works at Acme."}) == expected
    assert labels.normalise(SPANS, {"spans": [{"start": 13, "end": 17, "label": "ORG"}, [0, 3, "PER"]]}) == expected
    assert labels.normalise(SPANS, labels.to_json(expected)) == expected
    assert labels.from_json(labels.to_json(expected)) == expected
    assert labels.normalise(SPANS, {"spans": []}) == Spans(())


def test_span_checks():
    with pytest.raises(InvalidInput, match="past the end of the text \\(3 characters\\)"):
        labels.normalise(SPANS, [(0, 4, "PER")], item={"text": "Ann"})
    with pytest.raises(InvalidInput, match="no text"):
        labels.normalise(SPANS, [(0, 1, "PER")], item={"other": "Ann"})
    with pytest.raises(InvalidInput, match="overlap"):
        labels.normalise(SPANS, [(0, 4, "PER"), (3, 5, "ORG")])
    assert len(labels.normalise(NESTED, [(0, 4, "PER"), (3, 5, "ORG")], item="Annie").spans) == 2
    assert len(labels.normalise(SPANS, [(0, 3, "PER"), (3, 5, "ORG")]).spans) == 2  # touching is not overlapping
    with pytest.raises(InvalidInput, match="whole number"):
        labels.normalise(SPANS, [(0.5, 3, "PER")])


def test_classes_of_any_label():
    assert labels.classes(Spans((Span(0, 3, "PER"), Span(4, 5, "PER")))) == {"PER"}
    assert labels.classes(Boxes(1, 1, (Box(0, 0, 1, 1, "cat"),))) == {"cat"}
    assert labels.classes(("a", "b")) == {"a", "b"} and labels.classes("a") == {"a"}
    assert shapes.item_text(SPANS.options, "plain") == "plain"


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_the_image_size_of_a_data_uri_comes_from_its_header(kind):
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    long_header = {"exif": b"Exif\0\0" + bytes(60_000), "comment": bytes(60_000)}  # past the first 64 kB
    Image.fromarray(noise).save(buffer, kind, **(long_header if kind == "JPEG" else {}))
    uri = f"data:image/{kind.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()
    assert shapes.image_size(BOXES.options, {"image": uri}, ()) == (400, 300)
    assert shapes.image_size(BOXES.options, {"image": "data:image/png;base64,AAAA"}, ()) is None  # not an image


def portrait_jpeg() -> bytes:
    """A 40x20 JPEG a phone held upright would write: stored landscape, EXIF orientation 6 (turn a quarter)."""
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[shapes.EXIF_ORIENTATION] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 0, 0)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_the_image_size_is_as_browsers_show_it_turned_by_its_exif_orientation(tmp_path):
    import base64

    (tmp_path / "upright.jpg").write_bytes(portrait_jpeg())
    uri = "data:image/jpeg;base64," + base64.b64encode(portrait_jpeg()).decode()
    for cell in (str(tmp_path / "upright.jpg"), uri):
        assert shapes.image_size(BOXES.options, {"image": cell}, (tmp_path,)) == (20, 40)
    drawn = {"width": 20, "height": 40, "boxes": [{"x": 0, "y": 30, "w": 20, "h": 10, "label": "cat"}]}
    assert labels.normalise(BOXES, drawn, item={"image": uri}).height == 40
