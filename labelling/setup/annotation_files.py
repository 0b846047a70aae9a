"""Projects from annotation files other tools write (COCO for boxes; span JSONL, spaCy, CoNLL for spans), and
more items with their labels for a project: the file's labels are recorded as imported labels, checked
against each item (inside the image, inside the text, known classes) in one transaction, so a bad file
writes nothing. `labelling import FILE --format coco` and scripts share it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path, PurePath

from labelling.errors import InvalidInput
from labelling.io import formats
from labelling.records import Project, Task
from labelling.storage.store import Store

__all__ = ["FORMATS", "guess_format", "import_annotations"]

FORMATS = tuple(formats.IMPORTS)
_BY_SUFFIX = {".zip": "yolo", ".jsonl": "spans-jsonl", ".ndjson": "spans-jsonl", ".conll": "conll", ".iob": "conll", ".txt": "conll"}


def guess_format(file_name: str, data: bytes) -> str:
    """The format (one of FORMATS) a file most likely is, from its name and, for .json, its first character:
    a COCO file is a JSON object, spaCy training data a list. The Setup page offers it as the default."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    return "spacy" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[" else "coco"


def import_annotations(
    store: Store,
    source: bytes | str | Path,
    format: str,
    *,
    project: str | int,
    create: bool = False,
    labels: Sequence[str] | None = None,
    overlap: int = 1,
    media_roots: Sequence[Path] | None = None,
) -> tuple[Project, int]:
    """Items and their labels from an annotation file in `format` (one of FORMATS). With `create`, a new
    project named `project` (classes: `labels`, else the file's in order of use; it shows the `image` or
    `text` column); else the items are added to the existing project, which must be of the file's task.
    A YOLO dataset may be a folder (its Path), whose images must lie under `media_roots`.
    Returns the project and how many items were added."""
    if format not in formats.IMPORTS:
        raise InvalidInput(f"unknown annotation format {format!r}: one of {', '.join(FORMATS)}")
    read = formats.IMPORTS[format]
    if format == "yolo":  # the one format whose items may be files of the server
        read = functools.partial(read, media_roots=media_roots)
    if create:
        parsed = read(source)
        task = parsed.settings["task"]
        return store.import_project(
            str(project), list(labels or parsed.classes), parsed.items, parsed.labels,
            overlap=overlap, settings=parsed.settings, task=task,
        )
    existing = store.project(project)
    task = existing.options.task
    parsed = read(source, existing.options.image_column if task is Task.BOXES else existing.options.text_column)
    if parsed.settings["task"] != task:
        raise InvalidInput(f"{existing.name!r} is a {task} project; a {format} file holds {parsed.settings['task']}")
    return existing, store.add_items(existing.id, parsed.items, parsed.labels)
