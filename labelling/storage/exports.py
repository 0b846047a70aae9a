"""The reads behind an export: every item with its votes and final label, and every annotation ever made.
labelling.io.export builds the frames and files from them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, bindparam, select

from labelling.io import export
from labelling.records import Project
from labelling.storage import votes as project_votes
from labelling.storage.schema import annotations, items, labellers

__all__ = ["annotations_frame", "items_frame"]

READ_BATCH = 10_000
"""Item rows fetched from the server at a time while an export reads them."""


def items_frame(connection: Connection, project: Project) -> pd.DataFrame:
    """One row per item (see labelling.io.export.items_frame)."""
    votes = project_votes.current_votes(connection, project.id)
    finals = project_votes.final_labels(connection, project, votes)
    result = connection.execution_options(yield_per=READ_BATCH).execute(
        select(items.c.id, items.c.data).where(items.c.project_id == project.id).order_by(items.c.id)
    )
    return export.items_frame(result, votes, finals)


ANNOTATIONS = (
    select(
        annotations.c.id.label("annotation_id"),
        annotations.c.item_id,
        labellers.c.name.label("labeller"),
        annotations.c.label,
        annotations.c.created_at,
        annotations.c.seconds,
        annotations.c.is_current.label("current"),
        annotations.c.source,
    )
    .join(labellers, labellers.c.id == annotations.c.labeller_id)
    .where(annotations.c.project_id == bindparam("project"))
    .order_by(annotations.c.id)
)


def annotations_frame(connection: Connection, project: Project, labeller: str | None = None) -> pd.DataFrame:
    """One row per annotation ever made (see labelling.io.export.annotations_frame); `labeller`'s only, when
    given (a labeller's own figures need not load everyone's)."""
    query = ANNOTATIONS if labeller is None else ANNOTATIONS.where(labellers.c.name == labeller)
    result = connection.execute(query, {"project": project.id})
    return export.annotations_frame(result.all(), list(result.keys()))
