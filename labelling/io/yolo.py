"""YOLO datasets in: a zip or a folder of images, `labels/<stem>.txt` files of `class cx cy w h` lines
(relative to the image size; a detector's confidence may follow as a sixth number) and `classes.txt` (or a
`data.yaml` naming the classes), as labelling.io.formats.to_yolo writes them (with the images beside them),
read into images and box labels in pixels; labelling.io.formats.read_yolo makes them items. Out: the names
to_yolo's zip gives images and label files, and the refusal when two images would share one (`data.yaml`:
labelling.io.datayaml)."""

from __future__ import annotations

import base64
import io
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from labelling.errors import ImageUnavailable, InvalidInput
from labelling.io import media, shapes
from labelling.io.datayaml import yaml_names

__all__ = ["Dataset", "clash", "image_name", "label_file", "read_dataset"]

YOLO_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                    ".webp": "image/webp", ".bmp": "image/bmp"}
"""The image files a YOLO zip or folder may hold, by suffix, with the media type of their `data:` URI."""
YOLO_CLASS_FILES = ("classes.txt", "obj.names")
"""The class-name files of a YOLO dataset (one name a line, the line number the class index)."""
YOLO_DATA_FILES = ("data.yaml", "data.yml")
"""Ultralytics' dataset file, whose `names` name the classes when there is no class-name file."""
YOLO_ROUNDING = 6
"""Decimal places of a pixel coordinate read from YOLO: the relative numbers' float error goes, the
coordinates of `to_yolo` come back as they were."""
YOLO_LABEL_FILE_MAX_BYTES = 1024 * 1024
"""A label file's size at most (about 30,000 boxes): a zip's few kilobytes may unpack to gigabytes of lines."""
YOLO_DATA_FILE_MAX_BYTES = 64 * 1024
"""A `data.yaml`'s size at most (thousands of class names): it is read whole, by hand, before anything else."""
YOLO_ZIP_MAX_BYTES = 2 * 1024 * 1024 * 1024
"""What a zip's entries may unpack to in all, checked from its directory before anything is read."""


@dataclass(frozen=True)
class Dataset:
    """A YOLO dataset's classes (by index), its images (a path or a `data:` URI each), each image's box
    label ({"width", "height", "boxes"} in pixels, a box's confidence as its `score`; None for an image with
    no label file) and each image's file name in the dataset."""

    classes: tuple[str, ...]
    images: list[str]
    labels: list[dict[str, Any] | None]
    names: list[str]


def read_dataset(source: bytes | Path, media_roots: Sequence[Path] | None = None) -> Dataset:
    """The images and their boxes of a YOLO dataset: a zip (bytes, or the path of one) or a folder holding the
    images, `<folder>/labels/.../<stem>.txt` label files (`class cx cy w h` a line, relative to the image
    size) and `classes.txt` (or `obj.names`, else `names` in `data.yaml`) naming the classes. Each image is
    an item: from a zip its `data:` URI (so an uploaded zip needs no server files), from a folder its path,
    which must lie under `media_roots` (default: the working directory). An image with no label file is
    imported unlabelled (our export writes one, empty or not, for every labelled image). Boxes become pixels
    of the image's real size, read with Pillow. Everything is checked before anything is returned: a label
    file with no image, a malformed line, an unknown class index, a number outside 0..1 raise InvalidInput
    naming the file and line."""
    from PIL import Image  # only box files need Pillow

    files = _dataset_files(source)
    names = next((files[n] for n in sorted(files) if PurePath(n).name in YOLO_CLASS_FILES), None)
    data = next((files[n] for n in sorted(files) if PurePath(n).name in YOLO_DATA_FILES), None)
    classes = [line.strip() for line in _decoded(names()).splitlines() if line.strip()] if names else None
    classes = yaml_names(_decoded(data())) if classes is None and data else classes
    images: dict[str, str] = {}
    for name in sorted(files):
        if PurePath(name).suffix.lower() in YOLO_IMAGE_TYPES:
            stem = PurePath(name).stem
            if stem in images:
                raise InvalidInput(f"{images[stem]} and {name} have the same name: a label file could be either's")
            images[stem] = name
    notes = {PurePath(n).stem: n for n in sorted(files) if _is_label_file(n)}
    for stem, name in notes.items():
        if stem not in images:
            raise InvalidInput(
                f"{name} has no image named {stem}.* in the dataset: put the images beside the labels (images/ "
                "next to labels/; an export of a project whose images are files or addresses names them without "
                "copying them), or import these labels onto that project's items"
            )
    boxes = {stem: _lines(name, _decoded(files[name]()), classes) for stem, name in notes.items()}
    used = max((index for found in boxes.values() for index, *_ in found), default=-1)
    classes = classes if classes is not None else [str(n) for n in range(used + 1)]
    items, labels = [], []
    for stem, name in images.items():
        body = files[name]()
        try:
            with Image.open(io.BytesIO(body)) as image:
                width, height = shapes.oriented_size(image)  # YOLO tools measure the image as shown
        except (OSError, ValueError, Image.DecompressionBombError):
            raise InvalidInput(f"{name} is not an image Pillow can read") from None
        items.append(_image(source, name, body, media_roots))
        labels.append(None if stem not in boxes else {
            "width": width, "height": height,
            "boxes": [_pixels(index, *box, width, height, classes) for index, *box in boxes[stem]],
        })
    if not items:
        raise InvalidInput("the YOLO dataset holds no images (.png, .jpg, .jpeg, .gif, .webp, .bmp)")
    return Dataset(tuple(classes), items, labels, list(images.values()))


def _dataset_files(source: bytes | Path) -> dict[str, Callable[[], bytes]]:
    """{path inside the zip or folder: a reader of its bytes}, for a zip's bytes, a zip file or a folder."""
    if isinstance(source, Path) and source.is_dir():
        return {p.relative_to(source).as_posix(): p.read_bytes for p in source.rglob("*") if p.is_file()}
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput("a YOLO dataset is a zip or a folder of images, labels/*.txt and classes.txt") from None
    entries = [i for i in archive.infolist() if not i.is_dir()]
    if sum(i.file_size for i in entries) > YOLO_ZIP_MAX_BYTES:
        raise InvalidInput(f"the zip unpacks to more than {YOLO_ZIP_MAX_BYTES // 1024 ** 3} GB: split the dataset")
    return {i.filename: (lambda i=i: _unzipped(archive, i)) for i in entries}


def _unzipped(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    """An entry's bytes; one that unpacks to more than its kind may hold (an image kept in the database as a
    `data:` URI, a label file, a `data.yaml`) is refused before it is read, and one that cannot be unpacked is
    named."""
    most = (
        YOLO_LABEL_FILE_MAX_BYTES if _is_label_file(entry.filename)
        else YOLO_DATA_FILE_MAX_BYTES if PurePath(entry.filename).name in YOLO_DATA_FILES
        else media.DATA_URI_MAX_BYTES
    )
    if entry.file_size > most:
        size = f"{most / 1024 / 1024:g} MB" if most >= 1024 * 1024 else f"{most // 1024} KB"
        raise InvalidInput(f"{entry.filename} is larger than {size}")
    try:
        return archive.read(entry)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, zlib.error) as error:
        raise InvalidInput(f"{entry.filename} cannot be unpacked: {error}") from None


def _is_label_file(name: str) -> bool:
    path = PurePath(name)
    return path.suffix == ".txt" and "labels" in path.parts[:-1] and path.name not in YOLO_CLASS_FILES


def _lines(
    name: str, text: str, classes: list[str] | None
) -> list[tuple[int, float, float, float, float, float | None]]:
    """The boxes of one label file as (class index, cx, cy, w, h, confidence or None), each line checked."""
    found = []
    for n, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{name} line {n}"
        if len(fields) not in (5, 6):
            raise InvalidInput(
                f"{where}: a box is `class x_center y_center width height [confidence]`, not {line[:60]!r}"
            )
        try:
            index, numbers = int(fields[0]), [float(v) for v in fields[1:5]]
            confidence = float(fields[5]) if len(fields) == 6 else None
        except ValueError:
            raise InvalidInput(f"{where}: {line[:60]!r} is not a class index and four or five numbers") from None
        if index < 0 or (classes is not None and index >= len(classes)):
            raise InvalidInput(f"{where}: class {index} is not one of the {len(classes or [])} classes the dataset names")
        cx, cy, w, h = numbers
        if not all(0 <= v <= 1 for v in numbers) or w == 0 or h == 0:
            raise InvalidInput(
                f"{where}: the centre and size must be numbers in 0..1 (size above 0), not {line[:60]!r}"
            )
        if min(cx - w / 2, cy - h / 2) < -1e-9 or max(cx + w / 2, cy + h / 2) > 1 + 1e-9:
            raise InvalidInput(f"{where}: the box reaches outside the image")
        if confidence is not None and not 0 <= confidence <= 1:
            raise InvalidInput(f"{where}: the confidence must be a number in 0..1, not {fields[5][:20]!r}")
        found.append((index, cx, cy, w, h, confidence))
    return found


def _pixels(
    index: int, cx: float, cy: float, w: float, h: float, confidence: float | None,
    width: int, height: int, classes: list[str],
) -> dict:
    """A YOLO box as a box label in pixels, kept inside the image (rounding may not push it out)."""
    x = min(max(round((cx - w / 2) * width, YOLO_ROUNDING), 0.0), width)
    y = min(max(round((cy - h / 2) * height, YOLO_ROUNDING), 0.0), height)
    box = {"x": x, "y": y, "w": min(round(w * width, YOLO_ROUNDING), width - x),
           "h": min(round(h * height, YOLO_ROUNDING), height - y), "label": classes[index]}
    return box if confidence is None else {**box, "score": confidence}


def _image(source: bytes | Path, name: str, body: bytes, media_roots: Sequence[Path] | None) -> str:
    """The item's image: the file's path for a folder (which must lie under `media_roots`), else a `data:` URI."""
    if isinstance(source, Path) and source.is_dir():
        try:
            roots = media.default_media_roots() if media_roots is None else media_roots
            return str(media.media_file(str(source / name), roots))
        except ImageUnavailable as error:
            raise InvalidInput(f"{name}: {error}; move the folder there or ask the deployer to add it") from None
    if len(body) > media.DATA_URI_MAX_BYTES:
        most = media.DATA_URI_MAX_BYTES // 1024 // 1024
        raise InvalidInput(f"{name} is larger than {most} MB, the most an image in a zip may be")
    return f"data:{YOLO_IMAGE_TYPES[PurePath(name).suffix.lower()]};base64,{base64.b64encode(body).decode('ascii')}"


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("a YOLO label or class file is not UTF-8 text") from None


# Out: what labelling.io.formats.to_yolo writes beside the label lines


def image_name(image: str, item_id: int) -> str:
    """An item's image as the zip names it: its own name, or for a `data:` image (whose file name is lost)
    `item-<id>.<type>`, under which to_yolo writes the image itself."""
    if not media.is_data_uri(image):
        return image
    kind = image.lstrip()[5:100].partition(";")[0].partition(",")[0].lower()  # not a copy of the image
    return f"item-{item_id}.{'jpg' if kind == 'image/jpeg' else kind.rpartition('/')[2]}"


def label_file(image: str) -> str:
    """An image's label file in the zip: YOLO pairs the two by the image's name without its suffix (what
    `PurePath(image).stem` says, without building a path: this runs per item whenever the page checks)."""
    name = image.rstrip("/").rpartition("/")[2]
    dot = name.rfind(".")
    return f"labels/{name[:dot] if 0 < dot < len(name) - 1 else name}.txt"


def clash(images: Iterable[tuple[int, str]]) -> str | None:
    """Why a zip cannot hold the label files of these (item id, image name), or None: two would share one,
    the second overwriting the first."""
    named: dict[str, tuple[int, str]] = {}  # label file -> (item id, image) that has it
    for item_id, image in images:
        path = label_file(image)
        if path in named:
            first, other = named[path]
            return (
                f"items {first} ({media.quoted(other)}) and {item_id} ({media.quoted(image)}) would both be "
                f"{path}: YOLO names label files by image name alone; rename one image, or export COCO"
            )
        named[path] = item_id, image
    return None
