"""Frozen rows that cross the library boundary; pages and scripts never see SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Label = str | tuple[str, ...]
"""A single-label project records a str; a multi-label project a tuple of labels in label-set order."""


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    labels: tuple[str, ...]
    multi_label: bool
    overlap: int
    instructions: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False)
    created_at: float = 0.0


@dataclass(frozen=True)
class Item:
    """An item handed to one labeller: `my_label` is set when it was reopened by undo."""

    id: int
    project_id: int
    data: Any
    lease_expires_at: float | None = None
    my_label: Label | None = None


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
