"""Labels read as votes: every current label, adjudication and gold label of a project, from which
labelling.quality decides final labels (consensus) and measures agreement (agreement)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, bindparam, func, select

from labelling.io import labels as label_values
from labelling.quality import agreement as measures
from labelling.quality import consensus
from labelling.records import Label, Project
from labelling.storage.schema import annotations, gold_items, labellers, reviews, skips

__all__ = ["adjudicated", "agreement", "current_votes", "final_labels", "gold_labels"]

CURRENT_VOTES = (
    select(annotations.c.item_id, labellers.c.name, annotations.c.label)
    .join(labellers, labellers.c.id == annotations.c.labeller_id)
    .where(annotations.c.project_id == bindparam("project"), annotations.c.is_current)
    .order_by(annotations.c.id)
)
"""Every current label of a project with its labeller's name (labels and imported labels)."""

CURRENT_REVIEWS = (
    select(reviews.c.item_id, reviews.c.label, labellers.c.name)
    .join(labellers, labellers.c.id == reviews.c.reviewer_id)
    .where(reviews.c.project_id == bindparam("project"), reviews.c.is_current)
)
"""The adjudicated final labels and who set them."""

GOLD_LABELS = select(gold_items.c.item_id, gold_items.c.label).where(gold_items.c.project_id == bindparam("project"))

PEOPLES_VOTES = (
    select(annotations.c.item_id, labellers.c.name, annotations.c.label, annotations.c.seconds)
    .join(labellers, labellers.c.id == annotations.c.labeller_id)
    .where(
        annotations.c.project_id == bindparam("project"),
        annotations.c.is_current,
        annotations.c.source == "label",
    )
    .order_by(annotations.c.item_id, annotations.c.id)
)
"""Current labels given by people (imported ones left out), with the seconds each took."""

SKIPS = (
    select(labellers.c.name, func.count())
    .join(labellers, labellers.c.id == skips.c.labeller_id)
    .where(skips.c.project_id == bindparam("project"))
    .group_by(labellers.c.name)
)


def current_votes(connection: Connection, project_id: int) -> dict[int, dict[str, Label]]:
    """{item id: {labeller name: current label}} for items with at least one current label."""
    votes: dict[int, dict[str, Label]] = {}
    for item_id, name, label in connection.execute(CURRENT_VOTES, {"project": project_id}):
        votes.setdefault(item_id, {})[name] = label_values.from_json(label)
    return votes


def adjudicated(connection: Connection, project_id: int) -> dict[int, tuple[Label, str]]:
    """{item id: (final label, reviewer name)} for adjudicated items."""
    rows = connection.execute(CURRENT_REVIEWS, {"project": project_id})
    return {i: (label_values.from_json(v), name) for i, v, name in rows}


def gold_labels(connection: Connection, project_id: int) -> dict[int, Label]:
    """{item id: known label} for the gold items."""
    return {i: label_values.from_json(v) for i, v in connection.execute(GOLD_LABELS, {"project": project_id})}


def final_labels(
    connection: Connection, project: Project, votes: dict[int, dict[str, Label]] | None = None
) -> dict[int, consensus.Final]:
    """{item id: Final} as consensus.final_labels decides it (a box project's merge at its own IoU threshold).
    Pass `votes` (from `current_votes`) when the caller has read them already."""
    votes = current_votes(connection, project.id) if votes is None else votes
    return consensus.final_labels(
        votes,
        adjudicated(connection, project.id),
        gold_labels(connection, project.id),
        iou_threshold=project.options.iou_threshold,
    )


def agreement(connection: Connection, project: Project) -> measures.Agreement:
    """The project's agreement report (labelling.quality.agreement.report) from one read of its labels."""
    params = {"project": project.id}
    rows = [
        (item_id, name, label_values.from_json(label), seconds)
        for item_id, name, label, seconds in connection.execute(PEOPLES_VOTES, params)
    ]
    skipped = {name: int(count) for name, count in connection.execute(SKIPS, params)}
    finals = final_labels(connection, project)
    return measures.report(project, rows, skipped, finals, gold_labels(connection, project.id))


def final_labels_frame(connection: Connection, project: Project) -> pd.DataFrame:
    """`final_labels` as a frame: item_id, label, source, votes, reviewer (Store.final_labels)."""
    finals = final_labels(connection, project)
    return pd.DataFrame(
        [(i, f.label, f.source, f.votes, f.reviewer) for i, f in finals.items()],
        columns=["item_id", "label", "source", "votes", "reviewer"],
    )
