"""Box and span labels in the formats other tools use, out and in: COCO JSON and YOLO text files for boxes;
JSONL with character offsets, spaCy-style (text, {"entities": [(start, end, label)]}) and IOB/CoNLL
(whitespace tokens, one per line) for spans.

Out: from the export frame (`Store.export`: the item's columns and its final label), items with no final
label left out. In: a file becomes items and their labels (`Parsed`), checked for its shape here and
label by label where they are written (labelling.io.labels.normalise, against each item): the Store adds
them in one transaction, so a bad file writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from labelling.errors import ImageUnavailable, InvalidInput
from labelling.io import datayaml, media, shapes, writable, yolo
from labelling.records import Boxes, Project, Spans, Task

__all__ = [
    "EXPORTS",
    "IMPORTS",
    "Parsed",
    "exports_for",
    "read_coco",
    "read_conll",
    "read_spacy",
    "read_span_jsonl",
    "read_yolo",
    "to_coco",
    "to_conll",
    "to_spacy",
    "to_span_jsonl",
    "to_yolo",
]

IMAGE_COLUMN = "image"
TEXT_COLUMN = "text"
"""The columns a project made from a COCO or span file shows."""
_TOKEN = re.compile(r"\S+")
_ITEM_ID_LINE = re.compile(r"#\s*item_id\s*=\s*(\d+)")


@dataclass(frozen=True)
class Parsed:
    """What a file holds: the classes (in the file's order), one item value and one label per item, and
    the settings a project made from it takes (what it shows, its task). To find each entry among a
    project's items (labelling.io.matching), `keys` are what the file calls it (an image's file name, a
    text) and `ids` the item id the file gives it, if any (a COCO image id, span JSONL's `item_id`, a CoNLL
    `# item_id = N` line: our exports write them)."""

    classes: tuple[str, ...]
    items: list[Any]
    labels: list[Any]
    settings: dict[str, Any] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    ids: list[int | None] = field(default_factory=list)


# Boxes


def to_coco(project: Project, frame: pd.DataFrame) -> bytes:
    """COCO JSON: images (id: the item id, file_name: the image cell), categories 1..n in label-set order,
    annotations with bbox [x, y, w, h] in pixels and their area."""
    categories = {name: n for n, name in enumerate(project.labels, start=1)}
    images, found = [], []
    for item_id, cell, label in writable.labelled(project, frame, Boxes):
        images.append({"id": item_id, "file_name": writable.file_name(cell, item_id), "width": label.width, "height": label.height})
        for box in label.boxes:
            found.append(
                {
                    "id": len(found) + 1,
                    "image_id": item_id,
                    "category_id": categories[box.label],
                    "bbox": [box.x, box.y, box.w, box.h],
                    "area": box.w * box.h,
                    "iscrowd": 0,
                }
            )
    document = {
        "images": images,
        "annotations": found,
        "categories": [{"id": n, "name": name} for name, n in categories.items()],
    }
    return json.dumps(document, indent=1).encode("utf-8")


def to_yolo(project: Project, frame: pd.DataFrame) -> bytes:
    """A zip of YOLO label files: `classes.txt` (one class a line, its line number the class index),
    `data.yaml` for Ultralytics (labelling.io.datayaml) and per image `labels/<image name>.txt` with a
    line `class x_center y_center width height` per box, relative to the image size (0..1). An image held as
    a `data:` URI (as a YOLO zip's are imported) goes into `images/` as `item-<id>.<type>`, so that zip
    trains and imports as it is; one named by a path or URL is not copied. Refused (InvalidInput) as
    labelling.io.writable.refusals says: two images of one name."""
    labelled = writable.labelled(project, frame, Boxes)
    images = writable.yolo_images(labelled)
    writable.refuse(yolo.clash(images))
    index = {name: n for n, name in enumerate(project.labels)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("classes.txt", "".join(f"{name}\n" for name in project.labels))
        archive.writestr("data.yaml", datayaml.data_yaml(project.labels))
        for (item_id, cell, label), (_, image) in zip(labelled, images, strict=True):
            lines = [
                f"{index[b.label]} {(b.x + b.w / 2) / label.width!r} {(b.y + b.h / 2) / label.height!r} "
                f"{b.w / label.width!r} {b.h / label.height!r}\n"
                for b in label.boxes
            ]
            archive.writestr(yolo.label_file(image), "".join(lines))
            if image != cell:
                with contextlib.suppress(ImageUnavailable):  # not an image to copy: its label file is enough
                    archive.writestr(f"images/{image}", media.parse_data_uri(cell).body, zipfile.ZIP_STORED)
    return buffer.getvalue()


def read_coco(source: bytes | str | Mapping[str, Any], image_column: str | None = IMAGE_COLUMN) -> Parsed:
    """Items (an image each, by its file_name, under `image_column`) and their boxes from a COCO file;
    every image of the file is an item, one with no annotations an image with nothing to box.
    An annotation's `score` (a detector's) is kept on its box. Refuses (InvalidInput, naming the entry) a
    file that is not COCO: missing lists or keys, an annotation of an unknown image or category, a bbox
    that is not four numbers."""
    document = _json(source, "COCO")
    if not isinstance(document, Mapping) or not all(
        isinstance(document.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise InvalidInput('a COCO file is a JSON object with "images", "annotations" and "categories" lists')
    categories = {}
    for n, category in enumerate(document["categories"], start=1):
        _keys(category, ("id", "name"), f"category {n}")
        categories[category["id"]] = str(category["name"])
    images = {}
    for n, image in enumerate(document["images"], start=1):
        _keys(image, ("id", "file_name", "width", "height"), f"image {n}")
        if image["id"] in images:
            raise InvalidInput(f"image {n}: the id {image['id']!r} is used twice")
        images[image["id"]] = {"width": image["width"], "height": image["height"], "boxes": []}
    for n, note in enumerate(document["annotations"], start=1):
        _keys(note, ("image_id", "category_id", "bbox"), f"annotation {n}")
        if note["image_id"] not in images:
            raise InvalidInput(f"annotation {n} is of image {note['image_id']!r}, which the file does not list")
        if note["category_id"] not in categories:
            raise InvalidInput(f"annotation {n} has category {note['category_id']!r}, which the file does not list")
        bbox = note["bbox"]
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise InvalidInput(f"annotation {n}: bbox must be [x, y, width, height], not {bbox!r}")
        box = dict(zip("xywh", bbox), label=categories[note["category_id"]])
        if "score" in note:
            box["score"] = note["score"]
        images[note["image_id"]]["boxes"].append(box)
    files = [image["file_name"] for image in document["images"]]
    return Parsed(
        tuple(dict.fromkeys(categories.values())),
        [_item(image_column, name) for name in files],
        list(images.values()),
        {"display": "image", "image_column": image_column, "task": str(Task.BOXES)},
        [str(name) for name in files],
        [_whole_id(image["id"]) for image in document["images"]],
    )


def read_yolo(
    source: bytes | Path, image_column: str | None = IMAGE_COLUMN, media_roots: Sequence[Path] | None = None
) -> Parsed:
    """Items (an image each, under `image_column`) and their boxes from a YOLO dataset, a zip or a folder
    (labelling.io.yolo.read_dataset says what it holds and what is refused)."""
    dataset = yolo.read_dataset(source, media_roots)
    settings = {"display": "image", "image_column": image_column, "task": str(Task.BOXES)}
    items = [_item(image_column, image) for image in dataset.images]
    keys = [PurePath(name).name for name in dataset.names]  # the zip's folders are its own layout, not the items'
    return Parsed(dataset.classes, items, dataset.labels, settings, keys, [None] * len(items))


# Spans


def to_span_jsonl(project: Project, frame: pd.DataFrame) -> bytes:
    """One JSON object a line: item_id, text and spans [{"start", "end", "label"}] (character offsets, end
    exclusive)."""
    lines = [
        json.dumps({"item_id": item_id, "text": text, "spans": shapes.as_dict(label)["spans"]}, ensure_ascii=False)
        for item_id, text, label in writable.labelled(project, frame, Spans)
    ]
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def to_spacy(project: Project, frame: pd.DataFrame) -> bytes:
    """spaCy's training-data form as JSON: [[text, {"entities": [[start, end, label], ...]}], ...]."""
    data = [
        [text, {"entities": [[s.start, s.end, s.label] for s in label.spans]}]
        for _, text, label in writable.labelled(project, frame, Spans)
    ]
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def to_conll(project: Project, frame: pd.DataFrame) -> bytes:
    """IOB2 in CoNLL form: per item a `# item_id = N` line, then `token<TAB>tag` per token (B-X where a span
    of class X starts, I-X inside it, O outside), then a blank line. Tokens are split at whitespace and at
    every span's edge, so each span is exactly its tokens: `London.` with the span on `London` is written
    `London` then `.` (CoNLL keeps no spacing, so a reader puts a space between them). Refused
    (InvalidInput) as labelling.io.writable.refusals says: overlapping spans, which IOB cannot write."""
    labelled = writable.labelled(project, frame, Spans)
    writable.refuse(writable.overlapping(labelled))
    out = []
    for item_id, text, label in labelled:
        spans = list(label.spans)
        edges = sorted({edge for span in spans for edge in (span.start, span.end)})
        out.append(f"# item_id = {item_id}\n")
        before = 0  # where the previous token ended
        for word in _TOKEN.finditer(text):
            cuts = [word.start(), *(e for e in edges if word.start() < e < word.end()), word.end()]
            for start, end in itertools.pairwise(cuts):
                tag, inside = "O", [s for s in spans if s.start < end and start < s.end]
                if inside:
                    tag = ("B-" if before <= inside[0].start else "I-") + inside[0].label
                out.append(f"{text[start:end]}\t{tag}\n")
                before = end
        out.append("\n")
    return "".join(out).encode("utf-8")


def read_span_jsonl(source: bytes | str, text_column: str | None = TEXT_COLUMN) -> Parsed:
    """Items and spans from JSONL: each line an object with "text" and its spans under "spans" (objects
    with start, end, label, and a model's `score` if it has one), "entities" or "label" (doccano: [start,
    end, label] lists); `item_id` if given (our export writes it)."""
    texts, labels, ids = [], [], []
    for n, line in enumerate(_lines(source), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise InvalidInput(f"line {n} is not JSON") from None
        if not isinstance(entry, Mapping) or not isinstance(entry.get("text"), str):
            raise InvalidInput(f'line {n}: each line is an object with a "text" string and its spans')
        found = next((entry[k] for k in ("spans", "entities", "label") if k in entry), [])
        texts.append(entry["text"])
        labels.append({"spans": found} if isinstance(found, list) else found)
        ids.append(_whole_id(entry.get("item_id")))
    return _span_file(texts, labels, text_column, ids)


def read_spacy(source: bytes | str, text_column: str | None = TEXT_COLUMN) -> Parsed:
    """Items and spans from spaCy's training-data JSON: [[text, {"entities": [[start, end, label]]}], ...]."""
    data = _json(source, "spaCy")
    if not isinstance(data, list) or not all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], Mapping) for e in data
    ):
        raise InvalidInput('spaCy training data is a list of [text, {"entities": [[start, end, label], ...]}]')
    labels = [{"spans": e[1].get("entities", [])} for e in data]
    return _span_file([e[0] for e in data], labels, text_column, [None] * len(data))


def read_conll(source: bytes | str, text_column: str | None = TEXT_COLUMN) -> Parsed:
    """Items and spans from IOB/CoNLL: `token ... tag` lines (the first field the token, the last its IOB
    or IOB2 tag), a blank line between texts, `#` comment lines skipped. Each text is its tokens joined by
    one space; a span covers its tokens. A `# item_id = N` line (our export's) gives the next text's item id."""
    texts, labels, ids = [], [], []
    tokens: list[tuple[str, str]] = []
    given: int | None = None  # the item id of the text being read

    def flush() -> None:
        nonlocal given
        if tokens:
            text, spans, at = "", [], 0
            for token, tag in tokens:
                start = at + (1 if text else 0)
                text, at = (f"{text} {token}" if text else token), start + len(token)
                if tag == "O":
                    continue
                kind, _, name = tag.partition("-")
                if kind not in ("B", "I") or not name:
                    raise InvalidInput(f"{tag!r} is not an IOB tag (O, B-class or I-class)")
                if kind == "I" and spans and spans[-1][2] == name and spans[-1][1] == start - 1:
                    spans[-1][1] = at
                else:
                    spans.append([start, at, name])
            texts.append(text)
            labels.append({"spans": spans})
            ids.append(given)
            tokens.clear()
            given = None

    for n, line in enumerate(_lines(source), start=1):
        fields = line.split()
        if not fields:
            flush()
        elif line.startswith("#") and "\t" not in line:
            if (found := _ITEM_ID_LINE.fullmatch(line.strip())) and not tokens:
                given = int(found.group(1))
        else:
            if len(fields) < 2:
                raise InvalidInput(f"line {n}: a CoNLL line is a token and its tag, not {line[:40]!r}")
            tokens.append((fields[0], fields[-1]))
    flush()
    return _span_file(texts, labels, text_column, ids)


# Shared


EXPORTS: dict[str, tuple[Task, Callable[[Project, pd.DataFrame], bytes], str]] = {
    "coco": (Task.BOXES, to_coco, "json"),
    "yolo": (Task.BOXES, to_yolo, "zip"),
    "spans-jsonl": (Task.SPANS, to_span_jsonl, "jsonl"),
    "spacy": (Task.SPANS, to_spacy, "json"),
    "conll": (Task.SPANS, to_conll, "conll"),
}
"""Export formats by name: the task they are for, the writer and the file extension."""
IMPORTS: dict[str, Callable[..., Parsed]] = {
    "coco": read_coco,
    "yolo": read_yolo,
    "spans-jsonl": read_span_jsonl,
    "spacy": read_spacy,
    "conll": read_conll,
}
"""Import formats by name: the reader (source, column) -> Parsed (yolo also takes a folder's Path and
`media_roots`)."""


def exports_for(task: Task) -> list[str]:
    """The names of the EXPORTS written for a project of `task` (none for classification, whose labels the
    CSV/JSONL/Parquet tables already hold): the Export page offers exactly these."""
    return [name for name, (for_task, _, _) in EXPORTS.items() if for_task == task]


def _span_file(texts: list[str], labels: list[Any], text_column: str | None, ids: list[int | None]) -> Parsed:
    """The file's items and labels; its classes in order of first use (a malformed span is left for the
    label's own check to refuse)."""
    classes: dict[str, None] = {}
    for label in labels:
        for span in label.get("spans") or [] if isinstance(label, Mapping) else []:
            name = span.get("label") if isinstance(span, Mapping) else span[2] if isinstance(span, (list, tuple)) and len(span) == 3 else None
            if isinstance(name, str):
                classes.setdefault(name)
    settings = {"display": "text", "text_column": text_column, "task": str(Task.SPANS)}
    return Parsed(tuple(classes), [_item(text_column, t) for t in texts], labels, settings, list(texts), ids)


def _item(column: str | None, value: Any) -> Any:
    return {column: value} if column else value


def _whole_id(value: Any) -> int | None:
    """An item id a file gives, if it is a whole number (anything else cannot be one of ours)."""
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _keys(entry: Any, keys: Sequence[str], what: str) -> None:
    if not isinstance(entry, Mapping) or any(k not in entry for k in keys):
        raise InvalidInput(f"{what} must be an object with {', '.join(keys)}")


def _text(source: bytes | str) -> str:
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("the file is not UTF-8 text") from None
    return source


def _lines(source: bytes | str) -> list[str]:
    """A text file's lines, split at "\\n" only ("\\r" before it dropped): str.splitlines also splits at
    U+2028, U+2029 and U+0085, which a text may hold and our JSONL leaves unescaped (ensure_ascii=False)."""
    return [line.removesuffix("\r") for line in _text(source).split("\n")]


def _json(source: bytes | str | Any, what: str) -> Any:
    if not isinstance(source, (bytes, str)):
        return source
    try:
        return json.loads(_text(source))
    except ValueError:
        raise InvalidInput(f"the {what} file is not JSON") from None
