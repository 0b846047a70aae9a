"""Project-wide counts for the progress bar and the Progress page (never computed per click)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, bindparam, func, select

from labelling import labels as label_values
from labelling.queries import IN_PROGRESS, OPEN_ITEMS
from labelling.records import LabellerProgress, Progress, Project
from labelling.schema import annotations, items, labellers, skips, tasks

TOP_OPEN_PRIORITY = select(func.max(tasks.c.priority)).where(
    tasks.c.project_id == bindparam("project"), ~tasks.c.done
)
"""New items join at the top of the current order (they have never been scored, so nothing is known of them)."""


def progress(connection: Connection, project: Project) -> Progress:
    total = connection.execute(select(func.count()).where(items.c.project_id == project.id)).scalar_one()
    complete = total - connection.execute(OPEN_ITEMS, {"project": project.id}).scalar_one()
    in_progress = connection.execute(IN_PROGRESS, {"project": project.id}).scalar_one()
    labelled = pd.DataFrame(
        connection.execute(
            select(labellers.c.name, annotations.c.seconds)
            .join(labellers, labellers.c.id == annotations.c.labeller_id)
            .where(annotations.c.project_id == project.id, annotations.c.is_current, annotations.c.source == "label")
        ).all(),
        columns=["labeller", "seconds"],
    )
    skipped = dict(
        connection.execute(
            select(labellers.c.name, func.count())
            .join(labellers, labellers.c.id == skips.c.labeller_id)
            .where(skips.c.project_id == project.id)
            .group_by(labellers.c.name)
        ).all()
    )
    n_annotations = connection.execute(
        select(func.count()).where(annotations.c.project_id == project.id, annotations.c.is_current)
    ).scalar_one()
    per_labeller = {}
    grouped = labelled.groupby("labeller")["seconds"]
    counts, medians = grouped.size(), grouped.median()
    for name in sorted(set(counts.index) | set(skipped)):
        median = medians.get(name)
        per_labeller[name] = LabellerProgress(
            labels=int(counts.get(name, 0)),
            skips=int(skipped.get(name, 0)),
            median_seconds=None if median is None or pd.isna(median) else float(median),
        )
    return Progress(int(total), int(complete), int(in_progress), int(n_annotations), per_labeller)


def labels_in_use(connection: Connection, project: Project) -> set[str]:
    """Every label some current annotation of the project carries."""
    used: set[str] = set()
    result = connection.execute(
        select(annotations.c.label)
        .distinct()
        .where(annotations.c.project_id == project.id, annotations.c.is_current)
    )
    for (text,) in result:
        value = label_values.from_json(text)
        used.update(value if isinstance(value, tuple) else [value])
    return used
