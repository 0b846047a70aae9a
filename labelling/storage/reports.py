"""Project-wide counts for the progress bar and the Progress page (never computed per click)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, bindparam, func, select

from labelling.io import labels as label_values
from labelling.storage.statements import IN_PROGRESS, OPEN_ITEMS
from labelling.records import LabellerProgress, Progress, Project
from labelling.storage.schema import annotations, items, labellers, skips, tasks

MEDIAN_WINDOW = 1_000
"""A labeller's median seconds per item is taken over their latest this-many labels: their current pace,
read from an index instead of every label they ever made."""

_OPEN_TASKS = select(func.count()).where(tasks.c.project_id == bindparam("project"), ~tasks.c.done)


def progress(connection: Connection, project: Project, *, per_labeller: bool = True) -> Progress:
    """Item counts; with per_labeller, also each labeller's labels, skips and median seconds."""
    total = connection.execute(select(func.count()).where(items.c.project_id == project.id)).scalar_one()
    # With overlap 1 every item has one task, so counting open tasks counts open items, from the index alone.
    open_items = connection.execute(OPEN_ITEMS if project.overlap > 1 else _OPEN_TASKS, {"project": project.id})
    complete = total - open_items.scalar_one()
    in_progress = connection.execute(IN_PROGRESS, {"project": project.id}).scalar_one()
    if not per_labeller:
        return Progress(total, complete, in_progress, None, {})
    mine = (annotations.c.project_id == project.id, annotations.c.is_current, annotations.c.source == "label")
    labelled = dict(
        connection.execute(select(annotations.c.labeller_id, func.count()).where(*mine).group_by(annotations.c.labeller_id)).all()
    )
    skipped = dict(
        connection.execute(
            select(skips.c.labeller_id, func.count()).where(skips.c.project_id == project.id).group_by(skips.c.labeller_id)
        ).all()
    )
    n_annotations = connection.execute(
        select(func.count()).where(annotations.c.project_id == project.id, annotations.c.is_current)
    ).scalar_one()
    ids = set(labelled) | set(skipped)
    names = dict(connection.execute(select(labellers.c.id, labellers.c.name).where(labellers.c.id.in_(ids))).all())
    figures = {}
    for labeller_id in sorted(ids, key=names.get):
        recent = connection.execute(
            select(annotations.c.seconds)
            .where(*mine, annotations.c.labeller_id == labeller_id, annotations.c.seconds.is_not(None))
            .order_by(annotations.c.id.desc())
            .limit(MEDIAN_WINDOW)
        ).scalars().all()
        figures[names[labeller_id]] = LabellerProgress(
            labels=labelled.get(labeller_id, 0),
            skips=skipped.get(labeller_id, 0),
            median_seconds=float(np.median(recent)) if recent else None,
        )
    return Progress(total, complete, in_progress, n_annotations, figures)


def labels_in_use(connection: Connection, project: Project) -> set[str]:
    """Every label some current annotation of the project carries."""
    used: set[str] = set()
    result = connection.execute(
        select(annotations.c.label)
        .distinct()
        .where(annotations.c.project_id == project.id, annotations.c.is_current)
    )
    for (text,) in result:
        used.update(label_values.classes(label_values.from_json(text)))
    return used
