"""Frozen rows that cross the library boundary; pages and scripts never see SQLAlchemy objects."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Task(StrEnum):
    """What a project's labellers do to an item: pick its class(es), draw boxes on its image, or mark spans
    of its text. The project's `labels` are the classes (of the item, of each box, of each span)."""

    CLASSIFY = "classify"
    BOXES = "boxes"
    SPANS = "spans"


@dataclass(frozen=True)
class Box:
    """One box in pixels of the image's natural size: (x, y) its top-left corner, w and h > 0."""

    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass(frozen=True)
class Boxes:
    """A box project's label of one image: its boxes (maybe none) on an image of width x height pixels."""

    width: int
    height: int
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Span:
    """A stretch of the item's text, as character offsets: text[start:end] (end exclusive)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Spans:
    """A span project's label of one text: its spans (maybe none), sorted by (start, end, label)."""

    spans: tuple[Span, ...] = ()


Label = str | tuple[str, ...] | Boxes | Spans
"""A single-label project records a str; a multi-label project a tuple of labels in label-set order; a box
project `Boxes`; a span project `Spans`."""


def label_classes(label: Label) -> tuple[str, ...]:
    """The classes a label gives, once per use: a box or span label's per box or span (the counts per class
    of the Train and Progress pages)."""
    if isinstance(label, Boxes):
        return tuple(box.label for box in label.boxes)
    if isinstance(label, Spans):
        return tuple(span.label for span in label.spans)
    return label if isinstance(label, tuple) else (label,)


@dataclass(frozen=True)
class ProjectSettings:
    """A project's settings, typed: how its items are shown, which columns the model learns from, its gold
    rate and its training form. Stored as JSON (`Project.settings`, which keeps keys this class does not
    name); read through `Project.options`."""

    display: str | None = None
    """"text", "image" or "table"; None: guessed from each item's value."""
    text_column: str | None = None
    image_column: str | None = None
    table_columns: tuple[str, ...] = ()
    feature_columns: tuple[str, ...] = ()
    """The columns the model learns from; empty: the shown ones."""
    label_column: str | None = None
    """The file's column of existing labels: never shown, never learnt from."""
    gold_rate: float = 0.0
    """The share of each labeller's hand-outs that are gold items."""
    training: Mapping[str, Any] = field(default_factory=dict)
    """The Train page's form, read by labelling.learning.training_settings."""
    task: Task = Task.CLASSIFY
    """What labellers do: classify items, draw boxes or mark spans (`Task`); set when the project is made."""
    overlapping_spans: bool = False
    """A span project: may one labeller's spans overlap (nested entities)? Refused when False."""
    iou_threshold: float = 0.5
    """A box project: two labellers' boxes of one class match when their IoU is at least this."""

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> ProjectSettings:
        """The typed view of stored settings; a value of the wrong type reads as unset."""

        def text(key: str) -> str | None:
            value = stored.get(key)
            return value if isinstance(value, str) and value else None

        def names(key: str) -> tuple[str, ...]:
            value = stored.get(key)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, (list, tuple)) else ()

        def number(key: str, default: float) -> float:
            value = stored.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default

        training = stored.get("training")
        task = stored.get("task")
        return cls(
            display=text("display"),
            text_column=text("text_column"),
            image_column=text("image_column"),
            table_columns=names("table_columns"),
            feature_columns=names("feature_columns"),
            label_column=text("label_column"),
            gold_rate=number("gold_rate", 0.0),
            training=dict(training) if isinstance(training, Mapping) else {},
            task=Task(task) if task in tuple(Task) else Task.CLASSIFY,
            overlapping_spans=stored.get("overlapping_spans") is True,
            iou_threshold=number("iou_threshold", 0.5),
        )

    @property
    def shown_columns(self) -> list[str]:
        """The columns labellers see, in order."""
        return [c for c in (self.text_column, self.image_column, *self.table_columns) if c]


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    labels: tuple[str, ...]
    multi_label: bool
    overlap: int
    instructions: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False)
    """As stored (JSON); read it through `options`."""
    created_at: float = 0.0
    archived_at: float | None = None
    """When an admin archived it (hidden from labellers, read-only); None while in use."""

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @functools.cached_property
    def options(self) -> ProjectSettings:
        """The settings, typed (read once per Project: the labelling loop asks on every hand-out)."""
        return ProjectSettings.of(self.settings)


IMPORTED_RUN = 0
"""The `run_id` of predictions imported from a model of your own (no training run of ours made them)."""


@dataclass(frozen=True)
class Prediction:
    """The latest model's suggestion for one item, and how sure it was (0..1); `run_id` is IMPORTED_RUN for
    predictions imported from a model of your own."""

    item_id: int
    label: Label
    probability: float
    run_id: int


@dataclass(frozen=True)
class Item:
    """An item handed to one labeller: `my_label` is set when it was reopened by undo; `suggestion` is the
    latest model's, read with the hand-out (None before any model)."""

    id: int
    project_id: int
    data: Any
    lease_expires_at: float | None = None
    my_label: Label | None = None
    suggestion: Prediction | None = None


@dataclass(frozen=True)
class Annotation:
    id: int
    item_id: int
    labeller: str
    label: Label
    created_at: float
    seconds: float | None


@dataclass(frozen=True)
class LabellerProgress:
    labels: int
    skips: int
    median_seconds: float | None


@dataclass(frozen=True)
class Progress:
    """Counts for one project; `complete` items have as many labellers as the project's overlap."""

    total: int
    complete: int
    in_progress: int
    annotations: int | None  # None when per-labeller figures were not asked for
    per_labeller: dict[str, LabellerProgress]

    @property
    def remaining(self) -> int:
        return self.total - self.complete

    @property
    def fraction(self) -> float:
        return self.complete / self.total if self.total else 0.0
