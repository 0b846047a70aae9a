"""An admin's housekeeping of projects: rename, archive and restore; rename and merge labels.

Labels are renamed where they are used, in one transaction: the project's label set, every annotation (the
current and the superseded ones), reviews, gold items, the latest predictions, random picks, stop-set
predictions and label issues, so exports, final labels, agreement and training see the new name at once.
No label given is lost: each change is a `label_changes` row, and every annotation it rewrote keeps its
label from before in `label_change_rows` (`label_history`). Finished training runs keep the label counts
and scores they had (they describe the past). `Store.manage` hands out one `ProjectAdmin`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Column, Connection, Engine, Table, and_, bindparam, func, insert, literal, select, update

from labelling.errors import InvalidInput
from labelling.io import labels as label_values
from labelling.records import Boxes, Project, Spans, Task
from labelling.storage import projects as project_rows
from labelling.storage.engine import clock, read, write
from labelling.storage.overlap import lock_project
from labelling.storage.schema import (
    annotations,
    gold_items,
    label_change_rows,
    label_changes,
    label_issues,
    predictions,
    projects,
    random_picks,
    reviews,
    stop_predictions,
)

__all__ = ["LabelChange", "ProjectAdmin"]

_LABELLED: tuple[tuple[Table, Column, Column], ...] = (  # (table, its key, a column holding a label as JSON)
    (reviews, reviews.c.id, reviews.c.label),
    (gold_items, gold_items.c.item_id, gold_items.c.label),
    (predictions, predictions.c.item_id, predictions.c.label),
    (random_picks, random_picks.c.item_id, random_picks.c.label),
    (stop_predictions, stop_predictions.c.item_id, stop_predictions.c.label),
    (label_issues, label_issues.c.item_id, label_issues.c.given),
    (label_issues, label_issues.c.item_id, label_issues.c.alternative),
)


@dataclass(frozen=True)
class LabelChange:
    """One rename (`old_label` is now called `new_label`) or merge (`old_label` became `new_label`)."""

    id: int
    kind: str  # rename | merge
    old_label: str
    new_label: str
    changed_by: str
    created_at: float
    annotations: int
    """Annotations it rewrote (their labels before are kept in label_change_rows)."""


class ProjectAdmin:
    """Rename, archive and restore projects; rename and merge labels. Each method is one transaction."""

    def __init__(self, engine: Engine, forget: Callable[[int], object]):
        self._engine = engine
        self._forget = forget
        """Drops the store's cached copy of a project after a change to it."""

    def rename(self, project: int | str, name: str) -> Project:
        """Give the project a new name (unique, as at creation); its id, items and labels stay."""
        name = project_rows.check_name(name)
        return self._update(project, name=name)

    def archive(self, project: int | str) -> Project:
        """Hide the project from labellers and make it read-only until restored: no labels, skips, imports,
        settings, gold or review changes (ProjectArchived). Its data stay; exports and reports still work."""
        return self._update(project, archived_at=clock())

    def restore(self, project: int | str) -> Project:
        """Bring an archived project back, as it was."""
        return self._update(project, archived_at=None)

    def rename_label(self, project: int | str, old: str, new: str, by: str) -> LabelChange:
        """Call the label `old` `new` everywhere it is used (`by`: the admin, recorded with the change)."""
        with write(self._engine) as connection:
            found = lock_project(connection, project)
            if old not in found.labels:
                raise InvalidInput(f"{old!r} is not a label of {found.name!r}")
            if new == old:
                raise InvalidInput(f"the label is called {old!r} already")
            if new in found.labels:
                raise InvalidInput(f"{new!r} is a label already: merge {old!r} into it instead")
            labels = label_values.validate_label_set(
                [new if label == old else label for label in found.labels], found.multi_label
            )
            change = _relabel(connection, found, "rename", old, new, labels, by)
        self._forget(found.id)
        return change

    def merge_labels(self, project: int | str, source: str, target: str, by: str) -> LabelChange:
        """Fold the label `source` into `target`: every use of `source` becomes `target` (a multi-label value
        holding both keeps one) and `source` leaves the label set."""
        with write(self._engine) as connection:
            found = lock_project(connection, project)
            missing = [label for label in (source, target) if label not in found.labels]
            if missing:
                raise InvalidInput(f"{missing[0]!r} is not a label of {found.name!r}")
            if source == target:
                raise InvalidInput("choose two different labels to merge")
            labels = tuple(label for label in found.labels if label != source)
            change = _relabel(connection, found, "merge", source, target, labels, by)
        self._forget(found.id)
        return change

    def label_history(self, project: int | str) -> list[LabelChange]:
        """The project's label renames and merges, oldest first."""
        rewritten = (
            select(func.count())
            .where(label_change_rows.c.change_id == label_changes.c.id)
            .scalar_subquery()
        )
        with read(self._engine) as connection:
            found = project_rows.load(connection, project)
            rows = connection.execute(
                select(label_changes, rewritten.label("rewritten"))
                .where(label_changes.c.project_id == found.id)
                .order_by(label_changes.c.id)
            ).all()
        return [_change(row, row.rewritten) for row in rows]

    def _update(self, project: int | str, **values: object) -> Project:
        with write(self._engine) as connection:
            found = project_rows.load(connection, project)
            if "name" in values and values["name"] != found.name:
                project_rows.check_name_free(connection, str(values["name"]))
            connection.execute(update(projects).where(projects.c.id == found.id).values(values))
            changed = project_rows.load(connection, found.id)
        self._forget(found.id)
        return changed


def _relabel(
    connection: Connection, project: Project, kind: str, old: str, new: str, labels: tuple[str, ...], by: str
) -> LabelChange:
    """Record the change, rewrite every stored use of `old`, then the label set (inside the caller's transaction)."""
    row = connection.execute(
        insert(label_changes)
        .values(project_id=project.id, kind=kind, old_label=old, new_label=new, changed_by=str(by), created_at=clock())
        .returning(*label_changes.c)
    ).one()
    rewritten = _rewrite(connection, project, annotations.c.id, annotations.c.label, old, new, labels, history=row.id)
    for table, key, column in _LABELLED:
        _rewrite(connection, project, key, column, old, new, labels)
    connection.execute(update(projects).where(projects.c.id == project.id).values(labels=project_rows.stored_labels(labels)))
    return _change(row, rewritten)


def _rewrite(
    connection: Connection,
    project: Project,
    key: Column,
    column: Column,
    old: str,
    new: str,
    labels: tuple[str, ...],
    history: int | None = None,
) -> int:
    """Replace `old` by `new` in `column` for the project's rows; how many rows changed. With `history` (a
    change id), each changed row's value before is kept in label_change_rows first."""
    table = column.table
    if not project.multi_label and project.options.task is Task.CLASSIFY:  # one label's JSON: a statement per table
        where = and_(table.c.project_id == project.id, column == label_values.to_json(old))
        if history is not None:
            before = select(literal(history), key, column).where(where)
            connection.execute(insert(label_change_rows).from_select(["change_id", "annotation_id", "previous"], before))
        return connection.execute(update(table).where(where).values({column.name: label_values.to_json(new)})).rowcount
    # Lists of labels, boxes or spans: only rows whose JSON text holds `old` are read (LIKE), then decoded and
    # changed exactly.
    pattern = "%" + json.dumps(old).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = connection.execute(
        select(key, column).where(table.c.project_id == project.id, column.like(pattern, escape="\\"))
    ).all()
    changed = []
    for key_value, text in rows:
        after = label_values.to_json(_renamed(label_values.from_json(text), old, new, labels))
        if after != text:
            changed.append({"row_key": key_value, "row_label": after, "previous": text})
    if changed:
        if history is not None:
            connection.execute(
                insert(label_change_rows),
                [{"change_id": history, "annotation_id": c["row_key"], "previous": c["previous"]} for c in changed],
            )
        connection.execute(
            update(table).where(key == bindparam("row_key")).values({column.name: bindparam("row_label")}),
            [{"row_key": c["row_key"], "row_label": c["row_label"]} for c in changed],
        )
    return len(changed)


def _renamed(value, old: str, new: str, labels: tuple[str, ...]):
    """A stored label value with `old` read as `new`; a multi-label value keeps each label once, in set order;
    boxes and spans keep their places (a span that a merge makes a duplicate of another is kept once)."""
    if isinstance(value, Boxes):
        return replace(value, boxes=tuple(replace(b, label=new) if b.label == old else b for b in value.boxes))
    if isinstance(value, Spans):
        spans = {replace(span, label=new) if span.label == old else span for span in value.spans}
        return Spans(tuple(sorted(spans, key=lambda span: (span.start, span.end, span.label))))
    if isinstance(value, tuple):
        chosen = {new if label == old else label for label in value}
        return tuple(label for label in labels if label in chosen) + tuple(sorted(chosen - set(labels)))
    return new if value == old else value


def _change(row, rewritten: int) -> LabelChange:
    return LabelChange(
        id=row.id,
        kind=row.kind,
        old_label=row.old_label,
        new_label=row.new_label,
        changed_by=row.changed_by,
        created_at=row.created_at,
        annotations=int(rewritten),
    )
