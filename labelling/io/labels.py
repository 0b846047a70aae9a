"""Label sets and label values: validation, normalisation and their JSON form in the database."""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from labelling import text
from labelling.errors import InvalidInput
from labelling.io import media, shapes
from labelling.records import Boxes, Label, Project, Spans, Task
from labelling.io.serialisation import is_missing

NO_ITEM = object()
"""`normalise(item=NO_ITEM)`: the item is not at hand, so boxes and spans are checked without it."""

MAX_LABEL_LENGTH = 200
MULTI_LABEL_SEPARATOR = "|"
"""How a CSV cell lists several labels for a multi-label project: `cat|dog`."""


def validate_label_set(labels: Iterable[Any], multi_label: bool = False) -> tuple[str, ...]:
    """The label set as clean strings; empty, blank, duplicated or over-long labels are refused, and in a
    multi-label project a label with MULTI_LABEL_SEPARATOR in it (a CSV cell could not tell `a|b` from `a`
    and `b`)."""
    if isinstance(labels, str):
        raise InvalidInput("labels must be a list of label names, not one string")
    names = tuple(text.check_unicode(_as_text(label), "the label") for label in labels)
    if not names:
        raise InvalidInput("the label set is empty: give at least one label")
    blank = [n for n in names if not n.strip()]
    if blank:
        raise InvalidInput("a label name is empty")
    long = [n for n in names if len(n) > MAX_LABEL_LENGTH]
    if long:
        raise InvalidInput(f"label {long[0][:40]!r}… is longer than {MAX_LABEL_LENGTH} characters")
    if multi_label and (split := [n for n in names if MULTI_LABEL_SEPARATOR in n]):
        raise InvalidInput(
            f"label {split[0][:40]!r} has a {MULTI_LABEL_SEPARATOR} in it, which separates the labels of a "
            "multi-label item in CSV files: choose another character"
        )
    seen: set[str] = set()
    dupes = [n for n in names if n in seen or seen.add(n)]
    if dupes:
        raise InvalidInput("duplicated labels in the label set: " + ", ".join(sorted(set(dupes))))
    return names


def normalise(
    project: Project, value: Any, *, item: Any = NO_ITEM, media_roots: Sequence[Path] | None = None
) -> Label | None:
    """A label as the project records it, or None for a missing one; a label outside the set is refused.

    Integers and whole floats count as their text (`3` and `3.0` are label "3"), as CSV readers produce
    them. Multi-label values are a list/tuple/set or `a|b` text, ordered as in the label set.
    Box and span projects take `Boxes`/`Spans` or their JSON dicts (labelling.io.shapes); `item`, the
    item's data, lets them be checked against its image (read under `media_roots`, default: the working
    directory) and its text. Every path that writes a label of an item passes it.
    """
    if value.__class__ is str and value in project.labels and not project.multi_label and project.options.task is Task.CLASSIFY:
        return value  # the common case, a click: one label of the set, as the page sends it
    if is_missing(value):
        return None
    options = project.options
    if options.task is Task.BOXES:
        size = None
        if item is not NO_ITEM:
            size = shapes.image_size(options, item, media.default_media_roots() if media_roots is None else media_roots)
        return shapes.parse_boxes(value, project.labels, size)
    if options.task is Task.SPANS:
        text = None if item is NO_ITEM else shapes.item_text(options, item)
        if item is not NO_ITEM and text is None:
            raise InvalidInput("this item has no text to mark spans in (see the project's text column)")
        return shapes.parse_spans(value, project.labels, text, options.overlapping_spans)
    if project.multi_label:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(MULTI_LABEL_SEPARATOR)] if value.strip() else []
        elif isinstance(value, (list, tuple, set, frozenset)):
            parts = [_as_text(v) for v in value]
        else:
            raise InvalidInput(f"a multi-label project takes a list of labels, not {value!r}")
        unknown = sorted({p for p in parts if p not in project.labels})
        if unknown:
            raise InvalidInput(f"{', '.join(map(repr, unknown))} not in the label set {list(project.labels)}")
        chosen = set(parts)
        return tuple(label for label in project.labels if label in chosen)
    if isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidInput(f"a single-label project takes one label, not {value!r}")
    text = _as_text(value)
    if text not in project.labels:
        raise InvalidInput(f"{text!r} is not in the label set {list(project.labels)}")
    return text


def to_json(label: Label) -> str:
    if isinstance(label, (Boxes, Spans)):
        return json.dumps(shapes.as_dict(label))
    return json.dumps(list(label) if isinstance(label, tuple) else label)


def from_json(text: str) -> Label:
    value = json.loads(text)
    if isinstance(value, dict):
        return shapes.from_dict(value)
    return tuple(value) if isinstance(value, list) else value


def classes(label: Label) -> set[str]:
    """The classes a label uses: itself, its labels, or the classes of its boxes or spans."""
    if isinstance(label, Boxes):
        return {box.label for box in label.boxes}
    if isinstance(label, Spans):
        return {span.label for span in label.spans}
    return set(label) if isinstance(label, tuple) else {label}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, numbers.Real):
        return str(float(value))
    raise InvalidInput(f"a label must be text or a number, not {type(value).__name__}")
