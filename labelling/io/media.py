"""What an image cell may point at: files only under the deployer's media folders, `data:` URIs only as
small raster images, SVG never (it is a document that can run script when a server sends it inline).

An image column's cells come from whoever made the CSV file. A path is resolved (symbolic links followed)
and must lie under one of the `media_roots` (labelling.settings); anything else would let a CSV file make
the app show any image on the server. The Setup page and `labelling import` refuse such a row at import
time, and the Label page and the worker check again when they read it (the folders may have changed).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelling.errors import ImageUnavailable, InvalidInput

__all__ = [
    "DATA_URI_MAX_BYTES",
    "IMAGE_FILE_MAX_BYTES",
    "DataImage",
    "check_media_column",
    "data_uri_head",
    "default_media_roots",
    "is_data_uri",
    "is_url",
    "media_file",
    "parse_data_uri",
    "quoted",
]

DATA_URI_MAX_BYTES = 5 * 1024 * 1024
"""A `data:` image is at most this many bytes once decoded (it travels inside every item read)."""
IMAGE_FILE_MAX_BYTES = 20 * 1024 * 1024
"""An image file larger than this is not read (the page and the worker)."""
DATA_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
"""The `data:` media types shown: raster images only (never image/svg+xml)."""
DATA_HEAD_BYTES = 64 * 1024
"""Bytes of a `data:` image read to learn its pixel size (the header; a JPEG's may follow its EXIF block)."""
QUOTED_CHARACTERS = 200
_DATA_URI = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<base64>;base64)?,", re.I)


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def is_data_uri(text: str) -> bool:
    return text.lstrip()[:5].lower() == "data:"


def quoted(value: Any, limit: int = QUOTED_CHARACTERS) -> str:
    """A value as a message may quote it: its repr, cut to `limit` characters (a cell may be megabytes)."""
    text = repr(value) if isinstance(value, str) else f"a {type(value).__name__}: {value!r}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class DataImage:
    """The bytes of a `data:` image and its media type (one of DATA_IMAGE_TYPES)."""

    media_type: str
    body: bytes


def parse_data_uri(text: str, max_bytes: int = DATA_URI_MAX_BYTES) -> DataImage:
    """The image a `data:image/...;base64,` URI holds; ImageUnavailable says why when it is refused
    (not base64, not a raster image type, over `max_bytes`, malformed)."""
    media_type, payload = _base64_image(text)
    if len(payload) > (max_bytes + 2) // 3 * 4 + 4:
        raise ImageUnavailable(f"the data: image is larger than {max_bytes // 1024 // 1024} MB")
    try:
        body = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageUnavailable("the data: image is not valid base64") from None
    if len(body) > max_bytes:
        raise ImageUnavailable(f"the data: image is larger than {max_bytes // 1024 // 1024} MB")
    return DataImage(media_type, body)


def data_uri_head(text: str, size: int = DATA_HEAD_BYTES) -> bytes:
    """The first `size` bytes of a `data:` image (its header: format and pixel size), decoding only the
    characters that hold them; refused as `parse_data_uri` refuses (the bytes are not checked whole)."""
    _, payload = _base64_image(text)
    try:
        return base64.b64decode(payload[: (size + 2) // 3 * 4], validate=True)
    except (binascii.Error, ValueError):
        raise ImageUnavailable("the data: image is not valid base64") from None


def _base64_image(text: str) -> tuple[str, str]:
    """(media type, base64 payload) of a `data:` URI of a raster image type; ImageUnavailable otherwise."""
    text = text.strip()
    match = _DATA_URI.match(text)
    if match is None:
        raise ImageUnavailable("a data: URI must look like data:image/png;base64,...")
    media_type = match["type"].lower()
    if media_type == "image/svg+xml":
        raise ImageUnavailable("SVG images are not shown (an SVG can carry script)")
    if media_type not in DATA_IMAGE_TYPES:
        raise ImageUnavailable(f"a data: URI of type {media_type} is not an image this app shows")
    if not match["base64"]:
        raise ImageUnavailable("a data: image must be base64-encoded (;base64,)")
    return media_type, text[match.end() :]


def default_media_roots() -> tuple[Path, ...]:
    """The working directory: where the app, the CLI and the worker are started from."""
    return (Path.cwd().resolve(),)


def media_file(value: str, roots: Sequence[Path]) -> Path:
    """The file an image cell names, resolved (links followed), if it lies under one of `roots`; else
    ImageUnavailable saying why. Relative paths are taken from the working directory."""
    path = _resolved(value)
    if not _under(path, roots):
        raise ImageUnavailable("the file is outside the folders this app may show images from (media_roots)")
    if path.suffix.lower() in (".svg", ".svgz"):
        raise ImageUnavailable("SVG images are not shown (an SVG can carry script)")
    try:
        size = path.stat().st_size if path.is_file() else None
    except OSError:  # a name too long for the file system, a folder we may not read
        size = None
    if size is None:
        raise ImageUnavailable("no such file")
    if size > IMAGE_FILE_MAX_BYTES:
        raise ImageUnavailable(f"the file is larger than {IMAGE_FILE_MAX_BYTES // 1024 // 1024} MB")
    return path


def check_media_column(values: Iterable[Any], roots: Sequence[Path], first_row: int) -> None:
    """Refuse (InvalidInput, naming the row: `first_row` is the first value's row number in the file) an
    image cell that names a file outside `roots`; URLs, data URIs, blanks and missing files pass (a missing
    file is shown as such on the Label page and can be reported and fixed there)."""
    for row, value in enumerate(values, start=first_row):
        if not isinstance(value, str) or not value.strip() or is_url(value) or is_data_uri(value):
            continue
        if not _under(_resolved(value), roots):
            folders = ", ".join(str(root) for root in roots) or "none are configured"
            raise InvalidInput(
                f"row {row} (counting from the first row after the header): the image path {quoted(value)} is outside the folders this app may show images "
                f"from ({folders}); move the file there or ask the deployer to add its folder to media_roots"
            )


def _resolved(value: str) -> Path:
    """The absolute path a cell names, symbolic links and `..` resolved: a link inside a media folder that
    points outside it is outside."""
    return Path(os.path.realpath(Path(value.strip()).expanduser()))


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)
