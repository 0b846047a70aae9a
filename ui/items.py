"""Showing an item (text, image or table) and any text as typed (markdown escaped); the labels' shortcuts.

Text is shown as plain text, never HTML: an item's content comes from whoever made the CSV file.
"""

from __future__ import annotations

import base64
import html
import io
import re
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from labelling import InvalidInput
from labelling.errors import ImageUnavailable
from labelling.io import media, shapes
from labelling.io.serialisation import is_missing
from labelling.records import ProjectSettings
from ui.resources import settings

__all__ = [
    "IMAGE_PIXELS",
    "cannot_show",
    "image_array",
    "image_source",
    "keyboard_help",
    "label_shortcuts",
    "literal",
    "show_image",
    "show_item",
]

IMAGE_PIXELS = 200
"""Small arrays (an 8x8 digit) are scaled up, nearest neighbour, to about this many pixels a side."""

LONG_TEXT_LINES = 16
"""A text longer than about this many lines is shown in a box of that height that scrolls, so that the label
buttons below it stay on screen (a 50 KB review would push them hundreds of lines down)."""
_LINE_PIXELS = 26
_LINE_CHARS = 90

RASTER_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "MPO")
"""Image formats the page passes on to the browser: raster formats browsers show (never SVG)."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def literal(text: Any) -> str:
    """Text that st.markdown shows as typed: every markdown, HTML and directive character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def show_item(data: Any, settings: ProjectSettings) -> None:
    """One item as the project's settings say: text as plain text (never HTML), an image, or a table.

    Never raises: a value that cannot be shown becomes a notice quoting it (escaped), so the label
    buttons, Skip, Undo and "Report a problem" below it are always drawn."""
    try:
        _show_item(data, settings)
    except Exception as error:  # noqa: BLE001 - whatever a CSV holds, the labeller must never be stuck
        cannot_show(f"This item cannot be shown ({type(error).__name__})", data)


def cannot_show(why: str, value: Any) -> None:
    """A notice saying why the item is not shown, with its raw value quoted (escaped, cut to a few lines)."""
    st.warning(f"{literal(why)}. Its value: {literal(media.quoted(value))}", icon=":material/broken_image:")


def _show_item(data: Any, settings: ProjectSettings) -> None:
    display = settings.display or _guess_display(data)
    if display == "image":
        value = data.get(settings.image_column) if isinstance(data, dict) else data
        show_image(value)
    elif display == "table":
        row = data if isinstance(data, dict) else {"value": data}
        columns = list(settings.table_columns) or list(row)
        table = pd.DataFrame({"field": columns, "value": [_cell(row.get(c)) for c in columns]})
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        value = _cell(data.get(settings.text_column) if isinstance(data, dict) else data)
        lines = sum(1 + len(line) // _LINE_CHARS for line in value.splitlines())
        box = st.container(height=LONG_TEXT_LINES * _LINE_PIXELS, border=False) if lines > LONG_TEXT_LINES else st
        box.text(value)


def _guess_display(data: Any) -> str:
    if isinstance(data, np.ndarray):
        return "image"
    if isinstance(data, dict):
        return "table"
    return "text"


def _cell(value: Any) -> str:
    """An empty CSV cell (None, NaN, NaT) shows empty, not as "nan" or "None"."""
    return "" if is_missing(value) else str(value)


def show_image(value: Any) -> None:
    """An image from a URL (the labeller's browser loads it), a `data:` URI, a file under the media folders,
    or an array (scaled, see `image_array`). Anything else, an SVG, a file outside the media folders or
    bytes that are no image, becomes a notice quoting the value."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if media.is_url(text):
                _url_image(text)
            elif media.is_data_uri(text):
                st.image(_raster(media.parse_data_uri(text).body), width=IMAGE_PIXELS * 2)
            else:
                st.image(_raster(media.media_file(text, settings().media_roots).read_bytes()), width=IMAGE_PIXELS * 2)
        except ImageUnavailable as problem:
            cannot_show(f"The image cannot be shown: {problem}", value)
        return
    try:
        st.image(image_array(value))
    except InvalidInput as error:
        cannot_show(str(error), value)


def image_source(value: Any) -> tuple[str, tuple[int, int] | None]:
    """An image cell as an address an `<img>` in a component can load, and its natural (width, height) when
    the server can read it. A URL stays a URL (the browser loads it, its size unknown here); a `data:` URI
    or a file under the media folders becomes a `data:` URI of its checked raster bytes; an array becomes
    a PNG at its own size (one pixel per cell, so box coordinates are the array's). The size is as the
    browser shows the image, turned by its EXIF orientation (the bytes are sent as they are: the browser
    turns them itself). Raises ImageUnavailable or InvalidInput for what `show_image` would refuse."""
    if isinstance(value, str):
        text = value.strip()
        if media.is_url(text):
            return text, None
        body = media.parse_data_uri(text).body if media.is_data_uri(text) else (
            media.media_file(text, settings().media_roots).read_bytes()
        )
        _raster(body)
        with Image.open(io.BytesIO(body)) as image:
            mime, size = Image.MIME.get(image.format, "image/png"), shapes.oriented_size(image)
    else:
        pixels = np.asarray(image_array(value, pixels=1) * 255, dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        body, mime, size = buffer.getvalue(), "image/png", (pixels.shape[1], pixels.shape[0])
    return f"data:{mime};base64,{base64.b64encode(body).decode()}", size


def _url_image(url: str) -> None:
    """The labeller's browser fetches the image itself. If it cannot, the alternative text says so in words
    (not only a broken-image icon); the address is always given below."""
    quoted = html.escape(url, quote=True)
    st.html(
        f'<img src="{quoted}" alt="This image could not be loaded." '
        f'style="max-width:{IMAGE_PIXELS * 2}px;color:#b45309;font-weight:600">'
    )
    st.caption(f"Image from {literal(media.quoted(url))}")


def _raster(body: bytes) -> bytes:
    """The bytes, if they are a raster image Pillow can read (checked before they reach the browser)."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.verify()
            found = image.format
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageUnavailable("it is not a readable image") from None
    if found not in RASTER_FORMATS:
        raise ImageUnavailable(f"a {found} file is not an image this app shows")
    return body


def image_array(value: Any, pixels: int = IMAGE_PIXELS) -> np.ndarray:
    """A 2-d (grey) or 3-d (RGB/RGBA) array as floats in 0..1, scaled up nearest-neighbour to ~`pixels`."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(f"cannot show a {type(value).__name__} as an image") from None
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) or array.size == 0:
        raise InvalidInput(f"cannot show an array of shape {array.shape} as an image")
    array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = array.min(), array.max()
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    scale = max(1, pixels // max(array.shape[:2]))
    return array.repeat(scale, axis=0).repeat(scale, axis=1)


def label_shortcuts(labels: tuple[str, ...]) -> list[str | None]:
    """Keyboard shortcuts: a label that is one digit gets its own digit; otherwise 1-9 then 0 by position."""
    if all(len(label) == 1 and label.isdigit() for label in labels):
        return list(labels)
    keys = [str(i) for i in range(1, 10)] + ["0"]
    return [keys[i] if i < len(keys) else None for i in range(len(labels))]


_OWN_KEY_HINTS = "<style>.st-key-labels [aria-label^='Shortcut'], .st-key-picks [aria-label^='Shortcut'] {display: none}</style>"
"""Hides the key hint on label buttons whose label is its own key (a digit button read "0 0")."""


def keyboard_help(labels: tuple[str, ...], multi_label: bool) -> None:
    """The Label page's keys in one caption; digit labels, their own keys, lose the hint beside them."""
    keys = [key for key in label_shortcuts(labels) if key]
    if keys == list(labels):
        st.html(_OWN_KEY_HINTS)
        span = ", ".join(keys) if len(keys) <= 3 else f"{min(keys)}–{max(keys)}"
    else:
        span = "1" if len(keys) == 1 else f"1–{keys[-1]}" if len(keys) <= 9 else "1–9, 0"
    what = f"**{span}** tick or untick a label · **Enter** submit" if multi_label else f"**{span}** label"
    st.caption(f"Keys: {what} · **S** skip · **U** undo", help="Keys work whenever no text field has the cursor.")
