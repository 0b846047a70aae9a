"""Label sets and label values: validation, normalisation and their JSON form in the database."""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable
from typing import Any

from labelling import text
from labelling.errors import InvalidInput
from labelling.records import Label, Project
from labelling.io.serialisation import is_missing

MAX_LABEL_LENGTH = 200
MULTI_LABEL_SEPARATOR = "|"
"""How a CSV cell lists several labels for a multi-label project: `cat|dog`."""


def validate_label_set(labels: Iterable[Any]) -> tuple[str, ...]:
    """The label set as clean strings; empty, blank, duplicated or over-long labels are refused."""
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
    seen: set[str] = set()
    dupes = [n for n in names if n in seen or seen.add(n)]
    if dupes:
        raise InvalidInput("duplicated labels in the label set: " + ", ".join(sorted(set(dupes))))
    return names


def normalise(project: Project, value: Any) -> Label | None:
    """A label as the project records it, or None for a missing one; a label outside the set is refused.

    Integers and whole floats count as their text (`3` and `3.0` are label "3"), as CSV readers produce
    them. Multi-label values are a list/tuple/set or `a|b` text, ordered as in the label set.
    """
    if is_missing(value):
        return None
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
    return json.dumps(list(label) if isinstance(label, tuple) else label)


def from_json(text: str) -> Label:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


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
