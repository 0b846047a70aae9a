"""Drawing boxes on an image and marking spans in a text: two small components in Streamlit's own
components API (`st.components.v2.component`, inline HTML/CSS/JS read from the files beside this one, no
build step, no package).

The browser sends exactly the JSON form of `labelling.records.Boxes` / `Spans` (docs in boxes.js and
spans.js); the server validates it (`labelling.io.labels.normalise`) when it is submitted. An editor starts
from a given value (the labeller's own earlier label, else the model's suggestion, else empty) and keeps
the labeller's edits in the browser until the item changes.

Tried first: streamlit-drawable-canvas 0.9.3 (unmaintained; its background image breaks on Streamlit
>= 1.41, andfanilo/streamlit-drawable-canvas#156/#157), streamlit-image-annotation and the NER span
components on PyPI (React builds for the v1 API, last released 2023-2025, none tested on 1.67); a
component of our own is a few hundred lines of plain JS and needs no build step.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import streamlit as st

from labelling.errors import ImageUnavailable, InvalidInput
from labelling.io import shapes
from labelling.records import Boxes, Item, Label, Project, ProjectSettings, Spans, Task
from ui.items import cannot_show, image_source

__all__ = [
    "LAYER_COLOURS",
    "TASKS",
    "as_json",
    "draw",
    "edited",
    "editor_key",
    "is_annotation",
    "starting_value",
    "summary",
    "versions",
]

LAYER_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
"""One colour per labeller when their versions are drawn one over another (Review page)."""

TASKS = {Task.CLASSIFY: "Classify whole items", Task.BOXES: "Draw boxes on images", Task.SPANS: "Mark spans in text"}
"""The task types the Setup page offers, with its words; boxes show items as images, spans as text."""

_HERE = Path(__file__).parent
_CSS = (_HERE / "annotate.css").read_text(encoding="utf-8")
_COMMON_JS = (_HERE / "common.js").read_text(encoding="utf-8")
_COMPONENTS = {
    task: st.components.v2.component(
        f"labelling_{task}",
        html="",
        css=_CSS,
        js=_COMMON_JS + (_HERE / f"{task}.js").read_text(encoding="utf-8"),
        isolate_styles=False,  # a text selection inside a shadow root is not seen by window.getSelection
    )
    for task in (Task.BOXES, Task.SPANS)
}
_EMPTY = {Task.BOXES: {"width": 0, "height": 0, "boxes": []}, Task.SPANS: {"spans": []}}


def is_annotation(options: ProjectSettings) -> bool:
    """Whether a project with these settings labels boxes or spans (drawn here) rather than whole items
    (label buttons)."""
    return options.task in _COMPONENTS


def starting_value(item: Item) -> dict | None:
    """Where the editor starts: my own earlier label (back through Undo), else the model's or an imported
    prediction (an editable starting point), else None (empty)."""
    return as_json(item.my_label if item.my_label is not None else (item.suggestion.label if item.suggestion else None))


def as_json(label: Label | None) -> dict | None:
    """Boxes or Spans as the JSON dict the components take and send; None for anything else."""
    return shapes.as_dict(label) if isinstance(label, (Boxes, Spans)) else None


def summary(label: Label | None) -> str:
    """A label in a few words: a class, classes joined, "2 boxes: cat, dog", "no spans"."""
    if isinstance(label, (Boxes, Spans)):
        parts, one, many = (label.boxes, "box", "boxes") if isinstance(label, Boxes) else (label.spans, "span", "spans")
        if not parts:
            return f"no {many}"
        return f"{len(parts)} {one if len(parts) == 1 else many}: " + ", ".join(sorted({p.label for p in parts}))
    return ", ".join(label) if isinstance(label, tuple) else ("" if label is None else str(label))


def editor_key(item_id: int, start: dict | None) -> str:
    """The editor's widget key: one per item and starting value, so an item back through Undo starts afresh
    from the label given before, not from edits left in the browser."""
    digest = hashlib.sha1(json.dumps(start, sort_keys=True).encode()).hexdigest()[:10]
    return f"annotate-{item_id}-{digest}"


def draw(options: ProjectSettings, classes: tuple[str, ...], data: Any, key: str, start: dict | None) -> dict | None:
    """The editor for the project's task (its `options`, its `classes` for keys 1-9) over the item's image or
    text, starting from `start` (a Boxes or Spans JSON dict, or None for empty). Returns the value it starts
    from (empty boxes carry the image's size when the server can read it), what `edited` falls back on; None,
    with a notice quoting the value, when the item's image cannot be shown (Skip or report it)."""
    return _mount(options, classes, data, key, start, None)


def versions(project: Project, data: Any, key: str, labels: dict[str, dict]) -> None:
    """Several labellers' versions (name -> Boxes/Spans JSON dict) drawn read-only one over another, one
    colour per name, with a legend (a notice instead when the item cannot be shown)."""
    layers = [
        {"name": name, "colour": LAYER_COLOURS[i % len(LAYER_COLOURS)], "value": value}
        for i, (name, value) in enumerate(labels.items())
    ]
    _mount(project.options, project.labels, data, key, None, layers)


def edited(key: str, start: dict | None) -> dict | None:
    """The value the labeller has made in the editor `key`: the component's latest state, else `start`, the
    value `draw` said it started from (nothing edited)."""
    result = st.session_state.get(key)
    value = result.get("value") if result is not None else None
    return value if value is not None else start


def _mount(
    options: ProjectSettings, classes: tuple[str, ...], data: Any, key: str, start: dict | None, layers: list | None
) -> dict | None:
    task = options.task
    value = dict(start or _EMPTY[task])
    payload: dict[str, Any] = {"labels": list(classes), "token": key, "readonly": layers is not None}
    if layers is not None:
        payload["layers"] = layers
    if task is Task.BOXES:
        cell = data.get(options.image_column) if isinstance(data, dict) else data
        try:
            src, size = image_source(cell)
        except (ImageUnavailable, InvalidInput) as problem:
            cannot_show(f"The image cannot be shown: {problem}", cell)
            return None
        if size is not None and not value.get("width"):
            value["width"], value["height"] = size
        payload["src"] = src
    else:
        payload["text"] = shapes.item_text(options, data) or ""
        payload["overlapping"] = options.overlapping_spans
    payload["value"] = value
    _COMPONENTS[task](key=key, data=payload)
    return value
