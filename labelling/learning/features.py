"""What a project's default model learns from: its feature columns, read as text, numbers or images.

The Setup page records which columns feed the model (`settings["feature_columns"]`, else the shown
column(s)); each is classified once from the labelled items:

* text -> TF-IDF (words and word pairs);
* numbers -> median imputation of missing values (NaN, blanks, text that is not a number) + scaling;
* images (numpy arrays in the item, file paths or http(s) URLs) -> grayscale in 0..1 (each image by
  its own range), downscaled to at most IMAGE_SIDE pixels a side (not standardised: on digits,
  standardising rare border pixels cost accuracy with few labels). A URL is fetched once and kept in
  the app's image cache; an image that cannot be read is left out and reported, never fatal;
* 1-d numeric arrays (vectors, e.g. embeddings users bring) -> their values, imputed, each row scaled to
  unit length (L2), not standardised: standardising stretches the dimensions with little variance and
  cost about 5 points at 400 labels on text embeddings (issue 10);
* text read as stored sentence embeddings (kind EMBEDDING, chosen by `text_features`) -> as vectors, then
  on the first principal axes of the project's items, as many as the labels support (`projection`).

Everything here is plain scikit-learn and numpy; nothing touches the database.
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from labelling.errors import ImageUnavailable
from labelling.io import media
from labelling.io.serialisation import is_missing
from labelling.learning.embeddings import l2_normalise
from labelling.learning.fetch import UrlPolicy, fetch
from labelling.learning.projection import Basis, PoolProjection
from labelling.records import ProjectSettings
from labelling.settings import Settings

__all__ = [
    "IMAGE_SIDE",
    "Column",
    "Frame",
    "ImageLoader",
    "ImagePixels",
    "describe",
    "feature_columns",
    "preprocessor",
    "text_of",
    "to_frame",
]

TEXT, NUMBER, IMAGE, VECTOR, EMBEDDING = "text", "number", "image", "vector", "embedding"
"""EMBEDDING: a text column whose cells `labelling.learning.text_features` replaced by stored vectors."""
IMAGE_SIDE = 32
"""Images are downscaled to at most this many pixels a side before the model sees them."""
LOAD_SIDE = 128
"""Images are shrunk to at most this many pixels a side as they are read (bounded memory)."""
IMAGE_FETCH_TIMEOUT_SECONDS = 10.0
IMAGE_MAX_BYTES = 20 * 1024 * 1024
NUMBER_SHARE = 0.9
"""A text column whose non-empty values are at least this share numbers is read as numbers."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_WHOLE_ITEM = "value"


@dataclass(frozen=True)
class Column:
    """One input of the model: the item's field `name` (None: the item itself) read as `kind`."""

    name: str | None
    kind: str

    @property
    def title(self) -> str:
        return self.name if self.name is not None else _WHOLE_ITEM


@dataclass(frozen=True)
class Frame:
    """The model's input for some items: `data` has one row per usable item (`keep` marks them among the
    items given); `problems` says why each left-out item was left out, one each, in the items' order."""

    data: pd.DataFrame
    keep: np.ndarray
    problems: list[str]


def feature_columns(settings: ProjectSettings, values: Sequence[Any]) -> list[Column]:
    """The model's columns for a project, from its settings and a sample of its items' values."""
    sample = [v for v in values[:1000]]
    if not sample or not all(isinstance(v, dict) for v in sample):
        return [Column(None, _kind(None, sample, settings))]
    names = list(settings.feature_columns) or settings.shown_columns
    if not names:
        names = list(dict.fromkeys(k for v in sample for k in v))
    names = [n for n in names if n != settings.label_column]
    return [Column(n, _kind(n, [v.get(n) for v in sample], settings)) for n in names]


def _kind(name: str | None, values: list[Any], settings: ProjectSettings) -> str:
    present = [v for v in values if not _missing(v)]
    if any(isinstance(v, np.ndarray) and v.ndim >= 2 for v in present):
        return IMAGE
    if any(isinstance(v, np.ndarray) for v in present):
        return VECTOR
    if name is not None and name == settings.image_column:
        return IMAGE
    if name is None and settings.display == "image":
        return IMAGE
    if not present:
        return NUMBER
    numeric = sum(_as_number(v) is not None for v in present)
    if numeric >= NUMBER_SHARE * len(present):
        return NUMBER
    texts = [v for v in present if isinstance(v, str)]
    if texts and all(_looks_like_image(t) for t in texts):
        return IMAGE
    return TEXT


def text_of(cell: Any) -> str:
    """A text column's cell as the model reads it: missing values are empty text."""
    return "" if _missing(cell) else str(cell)


def _missing(value: Any) -> bool:
    """An empty cell (None, NaN, pandas' NA of a column of whole numbers with gaps) or blank text."""
    return is_missing(value) or (isinstance(value, str) and not value.strip())


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _looks_like_image(text: str) -> bool:
    lowered = text.lower().split("?", 1)[0]
    return lowered.startswith(("http://", "https://", "data:image/")) or lowered.endswith(IMAGE_SUFFIXES)


def to_frame(values: Sequence[Any], columns: Sequence[Column], loader: ImageLoader | None = None) -> Frame:
    """The model's input table for `values` (decoded item data); unreadable images drop their item."""
    loader = loader or ImageLoader(None)
    keep = np.ones(len(values), dtype=bool)
    problems: dict[int, str] = {}
    data: dict[str, list[Any]] = {}
    for position, column in enumerate(columns):
        cells = [v if column.name is None else (v.get(column.name) if isinstance(v, dict) else None) for v in values]
        key = f"c{position}"
        if column.kind == TEXT:
            data[key] = [text_of(c) for c in cells]
        elif column.kind == NUMBER:
            data[key] = [np.nan if (n := _as_number(c)) is None else n for c in cells]
        elif column.kind in (VECTOR, EMBEDDING):
            data[key] = [_vector(c) for c in cells]
        else:
            images = []
            for row, cell in enumerate(cells):
                try:
                    images.append(loader.load(cell) if keep[row] else None)
                except ImageUnavailable as problem:
                    keep[row] = False
                    images.append(None)
                    problems[row] = f"{_short(cell)}: {problem}"
            data[key] = images
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(values)))
    return Frame(frame[keep].reset_index(drop=True), keep, [problems[row] for row in sorted(problems)])


def _vector(cell: Any) -> np.ndarray:
    try:
        array = np.asarray(cell, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([np.nan])
    array[~np.isfinite(array)] = np.nan
    return array


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def preprocessor(columns: Sequence[Column], bases: Mapping[str | None, Basis] | None = None) -> ColumnTransformer:
    """Features from the frame `to_frame` builds, one transformer per column (numbers share one). `bases`:
    the principal axes of EMBEDDING columns, by column name, that their vectors are projected on."""
    parts: list[tuple[str, Any, Any]] = []
    numbers_at = [f"c{i}" for i, c in enumerate(columns) if c.kind == NUMBER]
    for position, column in enumerate(columns):
        key = f"c{position}"
        if column.kind == TEXT:
            parts.append((f"text-{position}", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)), key))
        elif column.kind == IMAGE:
            parts.append((f"image-{position}", ImagePixels(), [key]))  # pixels are 0..1 already
        elif column.kind in (VECTOR, EMBEDDING):
            steps = [
                FunctionTransformer(_stack_vectors),
                SimpleImputer(strategy="median", keep_empty_features=True),
                FunctionTransformer(l2_normalise),
            ]
            if column.kind == EMBEDDING and (basis := (bases or {}).get(column.name)) is not None:
                steps.append(PoolProjection(basis))
            vector = make_pipeline(*steps)
            parts.append((f"vector-{position}", vector, [key]))
    if numbers_at:
        number = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        parts.append(("numbers", number, numbers_at))
    return ColumnTransformer(parts, sparse_threshold=0.3)


def _stack_vectors(frame: pd.DataFrame) -> np.ndarray:
    cells = list(frame.iloc[:, 0])
    width = max((len(c) for c in cells), default=1)
    out = np.full((len(cells), width), np.nan)
    for row, cell in enumerate(cells):
        out[row, : len(cell)] = cell[:width]
    return out


class ImagePixels(TransformerMixin, BaseEstimator):
    """Grayscale images (2-d float arrays in 0..1, any size) -> pixels of one shape, learnt in `fit`:
    the most common size among the training images, at most `side` pixels a side."""

    def __init__(self, side: int = IMAGE_SIDE):
        self.side = side

    def fit(self, frame, y=None):
        images = _images(frame)
        shapes = pd.Series([image.shape for image in images]).value_counts()
        height, width = shapes.index[0] if len(shapes) else (self.side, self.side)
        scale = min(1.0, self.side / max(height, width))
        self.shape_ = (max(1, round(height * scale)), max(1, round(width * scale)))
        return self

    def transform(self, frame):
        images = _images(frame)
        out = np.empty((len(images), self.shape_[0] * self.shape_[1]), dtype=np.float32)
        for row, image in enumerate(images):
            out[row] = _resized(image, self.shape_).ravel()
        return out


def _images(frame) -> list[np.ndarray]:
    column = frame.iloc[:, 0] if isinstance(frame, pd.DataFrame) else frame
    return list(column)


def _resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if image.shape == shape:
        return image
    from PIL import Image

    resized = Image.fromarray(image.astype(np.float32)).resize((shape[1], shape[0]), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32)


class ImageLoader:
    """Reads an item's image as a 2-d grayscale float array in 0..1, from an array, a `data:` URI, a file
    under the media folders, or a URL fetched under the URL policy (labelling.learning.fetch).

    URLs are fetched once into `cache_dir` (file named by the URL's SHA-256); within one loader a URL
    that failed is not tried again. With no cache directory, URLs are fetched but not kept.
    """

    def __init__(
        self,
        cache_dir: Path | None,
        *,
        media_roots: Sequence[Path] | None = None,
        urls: UrlPolicy | None = None,
    ):
        self.cache_dir = cache_dir
        self.media_roots = tuple(media_roots) if media_roots is not None else media.default_media_roots()
        self.urls = urls or UrlPolicy(timeout=IMAGE_FETCH_TIMEOUT_SECONDS, max_bytes=IMAGE_MAX_BYTES)
        self.failed: dict[str, str] = {}
        self.fetched = 0

    @classmethod
    def configured(cls, cache_dir: Path | None) -> ImageLoader:
        """A loader under the deployer's settings: media_roots and allow_private_urls."""
        settings = Settings.load()
        urls = UrlPolicy(settings.allow_private_urls, IMAGE_FETCH_TIMEOUT_SECONDS, IMAGE_MAX_BYTES)
        return cls(cache_dir, media_roots=settings.media_roots, urls=urls)

    def load(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray):
            return _grey(value)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if media.is_url(text):
                return _grey(_decode_image(self._url_bytes(text)))
            if media.is_data_uri(text):
                return _grey(_decode_image(media.parse_data_uri(text).body))
            return _grey(_decode_image(media.media_file(text, self.media_roots).read_bytes()))
        if _missing(value):
            raise ImageUnavailable("no image")
        try:
            return _grey(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise ImageUnavailable(f"a {type(value).__name__} is not an image") from None

    def _url_bytes(self, url: str) -> bytes:
        if url in self.failed:
            raise ImageUnavailable(self.failed[url])
        cached = None
        if self.cache_dir is not None:
            cached = self.cache_dir / hashlib.sha256(url.encode("utf-8")).hexdigest()
            if cached.is_file():
                return cached.read_bytes()
        try:
            body = fetch(url, self.urls)
        except ImageUnavailable as problem:
            self.failed[url] = str(problem)
            raise
        self.fetched += 1
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(body)
            os.replace(partial, cached)
        return body


def _decode_image(body: bytes) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as image:
            image.draft("L", (LOAD_SIDE, LOAD_SIDE))  # JPEGs decode straight at a smaller size
            grey = image.convert("L")
            grey.thumbnail((LOAD_SIDE, LOAD_SIDE))
            return np.asarray(grey, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageUnavailable(f"not a readable image ({error})") from None


def _grey(array: np.ndarray) -> np.ndarray:
    """2-d float32 in 0..1: colour averaged to luminance, scaled by the image's own range, shrunk."""
    try:
        image = np.asarray(array, dtype=np.float32)
    except (TypeError, ValueError):
        raise ImageUnavailable("not a numeric array") from None
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    elif image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2 or image.size == 0:
        raise ImageUnavailable(f"an array of shape {np.shape(array)} is not an image")
    image = np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(image.min()), float(image.max())
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    if max(image.shape) > LOAD_SIDE:
        image = _resized(image, _fit_within(image.shape, LOAD_SIDE))
    return image


def _fit_within(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    scale = side / max(shape[:2])
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def describe(columns: Sequence[Column]) -> str:
    """How the model reads the items, in words: "TF-IDF of review", "pixels of image"."""
    words = {TEXT: "TF-IDF of {}", NUMBER: "{}", IMAGE: "pixels of {}", VECTOR: "values of {}",
             EMBEDDING: "sentence embeddings of {}"}
    numbers_ = [c.title for c in columns if c.kind == NUMBER]
    parts = [words[c.kind].format(c.title) for c in columns if c.kind != NUMBER]
    if numbers_:
        parts.append("numbers " + ", ".join(numbers_) if len(numbers_) > 1 else f"number {numbers_[0]}")
    return "; ".join(parts)

