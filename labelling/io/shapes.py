"""Boxes on images and spans in text as labels: checked against the project's classes and the item itself
(inside the image, inside the text, overlaps as the project allows), and their JSON form.

A label arrives as the records (`Boxes`, `Spans`), as their JSON dicts (what the browser component sends,
what annotations.label stores), or as JSON text of those (a CSV cell). Everything is checked on the server;
a refusal is InvalidInput with a message a labeller or an importer can act on.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelling.errors import ImageUnavailable, InvalidInput
from labelling.io import media
from labelling.records import Box, Boxes, ProjectSettings, Span, Spans

__all__ = ["as_dict", "from_dict", "image_size", "item_text", "oriented_size", "parse_boxes", "parse_spans"]

EXIF_ORIENTATION = 0x0112
"""The EXIF tag saying how a camera's image is turned; 5 to 8 turn it a quarter, swapping width and height."""


def parse_boxes(value: Any, classes: Sequence[str], size: tuple[int, int] | None = None) -> Boxes:
    """`value` as Boxes: every box of a known class, w and h > 0, inside [0, width] x [0, height]; the
    width and height must be the image's `size` (width, height) when the server could read it."""
    value = _decoded(value)
    if isinstance(value, Boxes):
        value = as_dict(value)
    if not isinstance(value, Mapping) or not isinstance(value.get("boxes"), (list, tuple)):
        raise InvalidInput('a box label is {"width": W, "height": H, "boxes": [{"x", "y", "w", "h", "label"}, ...]}')
    width, height = _whole(value.get("width"), "the image width"), _whole(value.get("height"), "the image height")
    if width <= 0 or height <= 0:
        raise InvalidInput(f"the image size must be positive, not {width}x{height}")
    if size is not None and (width, height) != tuple(size):
        raise InvalidInput(f"the boxes were drawn on a {width}x{height} image, but the image is {size[0]}x{size[1]}")
    boxes = []
    for n, box in enumerate(value["boxes"], start=1):
        if isinstance(box, Box):
            box = vars(box)
        if not isinstance(box, Mapping):
            raise InvalidInput(f"box {n} must be an object with x, y, w, h and label")
        x, y, w, h = (_number(box.get(k), f"box {n}'s {k}") for k in ("x", "y", "w", "h"))
        label = _class(box.get("label"), classes, f"box {n}")
        if w <= 0 or h <= 0:
            raise InvalidInput(f"box {n} ({label}) has no area: its width and height must be above 0")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise InvalidInput(
                f"box {n} ({label}) at x={x:g}, y={y:g}, w={w:g}, h={h:g} reaches outside the {width}x{height} image"
            )
        boxes.append(Box(x, y, w, h, label))
    return Boxes(width, height, tuple(boxes))


def parse_spans(value: Any, classes: Sequence[str], text: str | None = None, overlapping: bool = False) -> Spans:
    """`value` as Spans sorted by (start, end, label): each of a known class, 0 <= start < end <= len(text)
    (when the text is known), no span twice, and no two overlapping unless `overlapping`.

    Takes Spans, {"spans": [{"start", "end", "label"}, ...]} or a spaCy-style list of (start, end, label)."""
    value = _decoded(value)
    if isinstance(value, Spans):
        value = as_dict(value)
    if isinstance(value, Mapping):
        value = value.get("spans")
    if not isinstance(value, (list, tuple)):
        raise InvalidInput('a span label is {"spans": [{"start": 0, "end": 5, "label": "..."}, ...]}')
    spans = []
    for n, span in enumerate(value, start=1):
        if isinstance(span, Span):
            span = vars(span)
        if isinstance(span, (list, tuple)) and len(span) == 3:
            span = dict(zip(("start", "end", "label"), span))
        if not isinstance(span, Mapping):
            raise InvalidInput(f"span {n} must be an object with start, end and label, or a (start, end, label) list")
        start, end = _whole(span.get("start"), f"span {n}'s start"), _whole(span.get("end"), f"span {n}'s end")
        label = _class(span.get("label"), classes, f"span {n}")
        if not 0 <= start < end:
            raise InvalidInput(f"span {n} ({label}) from {start} to {end} is empty or backwards: 0 <= start < end")
        if text is not None and end > len(text):
            raise InvalidInput(f"span {n} ({label}) ends at {end}, past the end of the text ({len(text)} characters)")
        spans.append(Span(start, end, label))
    spans.sort(key=lambda s: (s.start, s.end, s.label))
    for before, after in itertools.pairwise(spans):
        if before == after:
            raise InvalidInput(f"the span {before.start}-{before.end} ({before.label}) is given twice")
        if not overlapping and after.start < before.end:
            raise InvalidInput(
                f"spans {before.start}-{before.end} ({before.label}) and {after.start}-{after.end} ({after.label}) "
                "overlap, and this project does not allow overlapping spans"
            )
    return Spans(tuple(spans))


def as_dict(label: Boxes | Spans) -> dict[str, Any]:
    """The JSON form stored in annotations.label and sent to and from the browser component."""
    if isinstance(label, Boxes):
        boxes = [{"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": b.label} for b in label.boxes]
        return {"width": label.width, "height": label.height, "boxes": boxes}
    return {"spans": [{"start": s.start, "end": s.end, "label": s.label} for s in label.spans]}


def from_dict(value: Mapping[str, Any]) -> Boxes | Spans:
    """The record of a stored JSON form (trusted: it was checked when written)."""
    if "spans" in value:
        return Spans(tuple(Span(int(s["start"]), int(s["end"]), s["label"]) for s in value["spans"]))
    boxes = tuple(Box(float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"]), b["label"]) for b in value["boxes"])
    return Boxes(int(value["width"]), int(value["height"]), boxes)


def item_text(settings: ProjectSettings, data: Any) -> str | None:
    """The text a span project's item shows (its text column, or the item itself); None if it has none."""
    value = data.get(settings.text_column) if isinstance(data, Mapping) else data
    return value if isinstance(value, str) else None


def image_size(settings: ProjectSettings, data: Any, roots: Sequence[Path]) -> tuple[int, int] | None:
    """(width, height) of a box project's image when the server can read it: an array, a `data:` image or
    a file under the media folders `roots`, as shown (`oriented_size`). None for a URL (the browser loads
    it) or an unreadable image: then the size the labeller's browser reported is taken as it is."""
    from PIL import Image  # only box projects need Pillow here

    value = data.get(settings.image_column) if isinstance(data, Mapping) else data
    if isinstance(value, np.ndarray) and value.ndim in (2, 3):
        return int(value.shape[1]), int(value.shape[0])
    if not isinstance(value, str) or media.is_url(value):
        return None
    try:
        if not media.is_data_uri(value):
            with Image.open(media.media_file(value, roots)) as image:  # reads the header only
                return oriented_size(image)
        try:  # the header, from the first characters: decoding a whole 1 MB image cost 20 ms a label
            with Image.open(io.BytesIO(media.data_uri_head(value))) as image:
                return oriented_size(image)
        except (OSError, ValueError):  # the header is longer: decode it all
            with Image.open(io.BytesIO(media.parse_data_uri(value).body)) as image:
                return oriented_size(image)
    except (ImageUnavailable, OSError, ValueError, Image.DecompressionBombError):
        return None


def oriented_size(image: Any) -> tuple[int, int]:
    """(width, height) of an opened PIL image as browsers show it: turned by its EXIF orientation (a phone's
    portrait photo is stored landscape with orientation 6), which an `<img>` applies and so the boxes drawn
    on it follow. Reads the header only (what `PIL.ImageOps.exif_transpose` would turn, without decoding)."""
    width, height = image.size
    return (height, width) if image.getexif().get(EXIF_ORIENTATION) in (5, 6, 7, 8) else (width, height)


def _decoded(value: Any) -> Any:
    """JSON text (a CSV cell, a form field) as its value; anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise InvalidInput(f"a box or span label must be JSON, not {media.quoted(value)}") from None
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _whole(value: Any, what: str) -> int:
    number = _number(value, what)
    if not number.is_integer():
        raise InvalidInput(f"{what} must be a whole number, not {value!r}")
    return int(number)


def _class(value: Any, classes: Sequence[str], what: str) -> str:
    if not isinstance(value, str) or value not in classes:
        raise InvalidInput(f"{what} has the class {value!r}, which is not in the label set {list(classes)}")
    return value
