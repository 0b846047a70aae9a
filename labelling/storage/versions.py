"""Label versions: "Save a version" freezes a project's final labels under a name; versions are listed,
compared and exported. `Store.versions` hands out one `Versions`.

How a version is kept (the trade-off): not as a watermark over the append-only history, and not as a full
copy. Replaying the history to a point in time would need every path that supersedes a label, a review or
a gold mark (undo, send back, gold unmarked, label renames) to record when it did so, and would rerun the
consensus on every read; a full copy costs one row per labelled item per version. Instead each
`version_labels` row holds one item's final label (as labelling.quality.consensus decided it) and is valid
from the version that first had it until the version that changed or dropped it. Saving a version reads
the current final labels and the newest version's rows, closes the rows that changed and writes only the
new ones: unchanged items share their row with every older version. Reading a version is one range
condition, so a version's labels never move once saved.

What a version does not freeze: the items themselves. An item's value edited through a problem fix shows
in every version's export, and a deleted item leaves every version (its rows go with it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from labelling.errors import InvalidInput
from labelling.io import export
from labelling.io import labels as label_values
from labelling.quality import consensus
from labelling.records import Label, Project
from labelling.storage import projects as project_rows
from labelling.storage import votes as project_votes
from labelling.storage.engine import bulk_insert, clock, read, write
from labelling.storage.exports import READ_BATCH
from labelling.storage.items import batches
from labelling.storage.overlap import LOCK_PROJECT
from labelling.storage.review import check_reviewer
from labelling.storage.schema import items, label_versions, labellers, version_labels
from labelling.text import check_name

__all__ = ["MAX_VERSION_NAME", "LabelVersion", "VersionDiff", "Versions"]

MAX_VERSION_NAME = 200
"""Characters a version's name may have."""


@dataclass(frozen=True)
class LabelVersion:
    """A saved version: its id, name, who saved it and when (epoch seconds), and how many items it labels."""

    id: int
    name: str
    created_by: str
    created_at: float
    n_items: int


@dataclass(frozen=True)
class VersionDiff:
    """What changed from `old` to `new` (a version's name, or "current labels"). `added`: items with a final
    label only in `new`; `removed`: only in `old`; `changed`: {item id: (old label, new label)} where the final
    label differs (None for a tie). `counts`: per label (None: ties), items in old, in new, and the change."""

    old: str
    new: str
    added: dict[int, Label | None]
    removed: dict[int, Label | None]
    changed: dict[int, tuple[Label | None, Label | None]]
    counts: pd.DataFrame


CURRENT = "current labels"
"""What `diff` calls the labels as they stand now (version None)."""

_VALID = and_(
    version_labels.c.project_id == bindparam("project"),
    version_labels.c.from_version <= bindparam("version"),
    or_(version_labels.c.until_version.is_(None), version_labels.c.until_version > bindparam("version")),
)
"""The rows that make up one version."""
VERSION_ROWS = (
    select(
        version_labels.c.item_id,
        version_labels.c.label,
        version_labels.c.source,
        version_labels.c.votes,
        version_labels.c.reviewer,
    )
    .where(_VALID)
    .order_by(version_labels.c.item_id)
)
VERSION_ITEMS = (
    select(items.c.id, items.c.data)
    .join(version_labels, version_labels.c.item_id == items.c.id)
    .where(_VALID)
    .order_by(items.c.id)
)
"""The items a version labels, with their values, in id order (its export)."""
NEWEST_ROWS = select(
    version_labels.c.id,
    version_labels.c.item_id,
    version_labels.c.label,
    version_labels.c.source,
    version_labels.c.votes,
    version_labels.c.reviewer,
).where(version_labels.c.project_id == bindparam("project"), version_labels.c.until_version.is_(None))
"""The rows of the project's newest version: the ones a new version may share."""
VERSIONS = (
    select(
        label_versions.c.id,
        label_versions.c.name,
        labellers.c.name,
        label_versions.c.created_at,
        label_versions.c.n_items,
    )
    .join(labellers, labellers.c.id == label_versions.c.created_by)
    .where(label_versions.c.project_id == bindparam("project"))
    .order_by(label_versions.c.id)
)


class Versions:
    """Saved versions of every project's final labels, on one engine; each method is one transaction."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def save(self, project_id: int, name: str, by: str) -> LabelVersion:
        """Freeze the project's final labels now as version `name` (a reviewer or admin, `by`). Writes a row
        only for each item whose final label changed since the newest version (see the module's docstring)."""
        name = check_name(name, "version", MAX_VERSION_NAME)
        with write(self._engine) as connection:
            me = check_reviewer(connection, by)
            project = project_rows.load_open(connection, project_id)
            connection.execute(LOCK_PROJECT, {"project": project.id})  # one save at a time per project
            taken = select(label_versions.c.id).where(
                label_versions.c.project_id == project.id, label_versions.c.name == name
            )
            if connection.execute(taken).first():
                raise InvalidInput(
                    f"project {project.name!r} already has a version named {name!r}: choose another name"
                )
            finals = {i: _stored(final) for i, final in project_votes.final_labels(connection, project).items()}
            version, created_at = connection.execute(
                label_versions.insert()
                .values(project_id=project.id, name=name, created_by=me.id, created_at=clock(), n_items=len(finals))
                .returning(label_versions.c.id, label_versions.c.created_at)
            ).one()
            kept, ended = set(), []
            for row_id, item_id, *stored in connection.execute(NEWEST_ROWS, {"project": project.id}):
                if finals.get(item_id) == tuple(stored):
                    kept.add(item_id)
                else:
                    ended.append(row_id)
            for batch in batches(ended):
                connection.execute(
                    update(version_labels).where(version_labels.c.id.in_(batch)).values(until_version=version)
                )
            bulk_insert(
                connection,
                version_labels.name,
                ["project_id", "item_id", "from_version", "label", "source", "votes", "reviewer"],
                [(project.id, i, version, *stored) for i, stored in finals.items() if i not in kept],
            )
            return LabelVersion(version, name, me.name, created_at, len(finals))

    def all(self, project_id: int) -> list[LabelVersion]:
        """The project's versions, oldest first."""
        with read(self._engine) as connection:
            return _listed(connection, project_rows.load(connection, project_id))

    def find(self, project_id: int, version: str | int) -> LabelVersion:
        """A version of the project by name, else by id (the command line takes either); InvalidInput if none."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            listed = _listed(connection, project)
        for found in listed:
            if found.name == str(version).strip():
                return found
        for found in listed:
            if str(found.id) == str(version).strip():
                return found
        raise InvalidInput(f"project {project.name!r} has no saved version {version!r}")

    def final_labels(self, project_id: int, version: int) -> pd.DataFrame:
        """A version's final labels as `Store.final_labels` gives the current ones: item_id, label (None on a
        tie), source, votes, reviewer."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            finals = _version_finals(connection, project, version)
        return pd.DataFrame(
            [(i, f.label, f.source, f.votes, f.reviewer) for i, f in finals.items()],
            columns=["item_id", "label", "source", "votes", "reviewer"],
        )

    def export(self, project_id: int, version: int) -> pd.DataFrame:
        """One row per item the version labels, as `Store.export` has them but without each labeller's label
        (a version keeps final labels only): the item's columns, item_id, label, tie, label_source,
        reviewed_by, n_labels. The same bytes however the labels move on after it was saved."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            finals = _version_finals(connection, project, version)
            result = connection.execution_options(yield_per=READ_BATCH).execute(
                VERSION_ITEMS, {"project": project.id, "version": version}
            )
            return export.items_frame(result, {}, finals)

    def diff(self, project_id: int, old: int | None, new: int | None = None) -> VersionDiff:
        """What changed between two versions (ids; None: the current labels), item by item and per label."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            names = {version.id: version.name for version in _listed(connection, project)}
            sides = []
            for version in (old, new):
                if version is None:
                    finals = project_votes.final_labels(connection, project)
                    sides.append((CURRENT, {i: f.label for i, f in finals.items()}))
                else:
                    finals = _version_finals(connection, project, version, names)
                    sides.append((names[version], {i: f.label for i, f in finals.items()}))
        (old_name, before), (new_name, after) = sides
        return VersionDiff(
            old_name,
            new_name,
            added={i: after[i] for i in sorted(after.keys() - before.keys())},
            removed={i: before[i] for i in sorted(before.keys() - after.keys())},
            changed={i: (before[i], after[i]) for i in sorted(before.keys() & after.keys()) if before[i] != after[i]},
            counts=_counts(project, before.values(), after.values()),
        )


def _stored(final: consensus.Final) -> tuple[str | None, str | None, int, str | None]:
    """A final label as a version_labels row holds it (label JSON, source, votes, reviewer)."""
    label = None if final.label is None else label_values.to_json(final.label)
    return label, final.source, final.votes, final.reviewer


def _listed(connection: Connection, project: Project) -> list[LabelVersion]:
    return [LabelVersion(*row) for row in connection.execute(VERSIONS, {"project": project.id})]


def _version_finals(
    connection: Connection, project: Project, version: int, names: dict[int, str] | None = None
) -> dict[int, consensus.Final]:
    """{item id: Final} of a saved version of the project; InvalidInput if it has no such version."""
    names = {v.id: v.name for v in _listed(connection, project)} if names is None else names
    if version not in names:
        raise InvalidInput(f"project {project.name!r} has no saved version {version!r}")
    rows = connection.execute(VERSION_ROWS, {"project": project.id, "version": int(version)})
    return {
        item_id: consensus.Final(
            None if label is None else label_values.from_json(label), source, source == consensus.TIE, votes, reviewer
        )
        for item_id, label, source, votes, reviewer in rows
    }


def _counts(project: Project, before: Iterable[Label | None], after: Iterable[Label | None]) -> pd.DataFrame:
    """Items per label (each label of a multi-label, box or span label counted once; None: ties) before and
    after, in label-set order."""

    def count(labels: Iterable[Label | None]) -> Counter:
        found: Counter = Counter()
        for label in labels:
            found.update([None] if label is None else label_values.classes(label))
        return found

    old, new = count(before), count(after)
    order = [*project.labels, *sorted(str(k) for k in (old.keys() | new.keys()) - set(project.labels) - {None})]
    if None in old or None in new:
        order.append(None)
    return pd.DataFrame(
        [(label, old[label], new[label], new[label] - old[label]) for label in order],
        columns=["label", "old", "new", "change"],
    )
