"""What each export format of labelling.io.formats can hold of a project's final labels, said before a file
is built: the Export page shows a blocked format's button disabled with the reason, and the writers refuse
(InvalidInput) with the same words, so `labelling export` prints the same line. Also the rows the writers
read from the export frame (`labelled`) and the file name an item's image goes by (`file_name`)."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from labelling.errors import InvalidInput
from labelling.io import yolo
from labelling.io.serialisation import is_missing
from labelling.records import Boxes, Project, Spans, Task

__all__ = ["file_name", "labelled", "overlapping", "refusals", "refuse", "yolo_images"]

NAMED_ITEMS = 10
"""Items a refusal names before it says how many more."""


def refusals(project: Project, frame: pd.DataFrame) -> dict[str, str]:
    """{format: why these final labels (the export frame) cannot be written in it}, for each format of the
    project's task they block, naming the items: two images that would share a YOLO label file
    (`yolo`), overlapping spans in IOB/CoNLL (`conll`). Builds no file: cheap next to reading the frame."""
    checks = {"yolo": (Boxes, lambda rows: yolo.clash(yolo_images(rows))), "conll": (Spans, overlapping)}
    kind = {Task.BOXES: Boxes, Task.SPANS: Spans}.get(project.options.task)
    rows = labelled(project, frame, kind) if kind else []
    found = {name: check(rows) for name, (for_kind, check) in checks.items() if for_kind is kind}
    return {name: why for name, why in found.items() if why}


def refuse(why: str | None) -> None:
    """A writer's refusal: InvalidInput saying `why`, if there is one."""
    if why:
        raise InvalidInput(why)


def labelled(project: Project, frame: pd.DataFrame, kind: type) -> list[tuple[int, Any, Any]]:
    """(item id, the shown cell, final label) of each item with a final label of `kind`."""
    if not project.options.task == (Task.BOXES if kind is Boxes else Task.SPANS):
        raise InvalidInput(f"{project.name!r} is a {project.options.task} project: this format is for {kind.__name__.lower()}")
    column = project.options.image_column if kind is Boxes else project.options.text_column
    cells = frame[column] if column and column in frame else frame.get("data", frame["item_id"])
    return [
        (int(item_id), cell, label)
        for item_id, cell, label in zip(frame["item_id"], cells, frame["label"])
        if isinstance(label, kind)
    ]


def file_name(cell: Any, item_id: int) -> str:
    """An item's image as a file of other tools names it: its cell, else `item-<id>`."""
    return cell if isinstance(cell, str) and not is_missing(cell) else f"item-{item_id}"


def yolo_images(rows: list[tuple[int, Any, Boxes]]) -> list[tuple[int, str]]:
    """(item id, the image's name in the YOLO zip) of each labelled item."""
    return [(item_id, yolo.image_name(file_name(cell, item_id), item_id)) for item_id, cell, _ in rows]


def overlapping(rows: list[tuple[int, Any, Spans]]) -> str | None:
    """Why IOB/CoNLL cannot hold these spans (some overlap), naming the items, or None."""
    items = [i for i, _, label in rows if any(b.start < a.end for a, b in itertools.pairwise(label.spans))]
    if not items:
        return None
    more = f" and {len(items) - NAMED_ITEMS:,} more" if len(items) > NAMED_ITEMS else ""
    named = f"item{'s' if len(items) > 1 else ''} {', '.join(map(str, items[:NAMED_ITEMS]))}{more}"
    return f"IOB/CoNLL cannot hold overlapping spans, as in {named}; span JSONL and spaCy JSON can"
