"""Projects from annotation files other tools write (COCO or YOLO for boxes; span JSONL, spaCy, CoNLL for
spans), more items with their labels for a project, or labels for the items a project has already (a
detector's output for images imported from a CSV): the file's labels are recorded as imported labels,
checked against each item (inside the image, inside the text, known classes) in one transaction, so a bad
file writes nothing. `labelling import FILE --format coco` and scripts share it; a file's boxes or spans as
predictions go through labelling.learning.imported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePath

from labelling.errors import InvalidInput
from labelling.io import formats
from labelling.io.matching import read_annotations
from labelling.records import Project
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
    onto_existing: bool = False,
    labels: Sequence[str] | None = None,
    overlap: int = 1,
    media_roots: Sequence[Path] | None = None,
) -> tuple[Project, int]:
    """Items and their labels from an annotation file in `format` (one of FORMATS). With `create`, a new
    project named `project` (classes: `labels`, else the file's in order of use; it shows the `image` or
    `text` column); else the items are added to the existing project, which must be of the file's task; or,
    `onto_existing`, the file's labels go to the project's items it names (labelling.io.matching: by image
    or file name, or text), each item's label then one of its labels. A YOLO dataset may be a folder (its
    Path), whose images must lie under `media_roots`. Returns the project and how many items were added or
    labelled (a YOLO image with no label file gets none)."""
    if create and onto_existing:
        raise InvalidInput("create makes a new project, onto_existing labels the items of one: not both")
    if create:
        parsed = read_annotations(source, format, media_roots=media_roots)
        task = parsed.settings["task"]
        return store.import_project(
            str(project), list(labels or parsed.classes), parsed.items, parsed.labels,
            overlap=overlap, settings=parsed.settings, task=task,
        )
    existing = store.project(project)
    parsed = read_annotations(source, format, existing, media_roots)
    if onto_existing:
        found = [(i, label) for i, label in zip(store.item_labels.match(existing.id, parsed), parsed.labels) if label is not None]
        return existing, store.item_labels.write_labels(existing.id, [i for i, _ in found], [v for _, v in found])
    return existing, store.add_items(existing.id, parsed.items, parsed.labels)
