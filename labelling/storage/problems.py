"""Item problems: a labeller's "Report a problem with this item", and the worker's unreadable images.

`Store.problems` hands out one `Problems`. Anyone labelling a project may report; only reviewers and admins
see the list and resolve a problem: exclude the item from the queue, fix its value, delete it, or dismiss
the report. Each method is one short transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from labelling.errors import InvalidInput
from labelling.io import media
from labelling.io.serialisation import decode, encode
from labelling.records import Project
from labelling.storage import projects as project_rows
from labelling.storage.engine import clock, read, write
from labelling.storage.items import batches, require_items
from labelling.storage.queue import lock_labeller
from labelling.storage.review import check_reviewer
from labelling.storage.schema import embeddings, item_problems, items, labellers, tasks
from labelling.text import check_unicode

__all__ = ["EXCLUDED", "MAX_COMMENT", "ItemProblem", "Problems"]

MAX_COMMENT = 500
"""Characters a report's comment may have."""
REPORT, UNREADABLE = "report", "unreadable"
EXCLUDED, FIXED, DISMISSED = "excluded", "fixed", "dismissed"
LISTED = 200
"""Problems listed at most (the oldest first); the count says how many there are."""

@dataclass(frozen=True)
class ItemProblem:
    """One open problem: the item's id and value, `kind` ("report" or "unreadable"), the comment (the
    worker's reason for an unreadable image), who reported it (None: the worker) and when (epoch s)."""

    id: int
    item_id: int
    data: Any
    kind: str
    comment: str
    reporter: str | None
    created_at: float


class Problems:
    """Reports and unreadable items of every project, on one engine."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def report(self, project_id: int, item_id: int, reporter: str, comment: str = "") -> int:
        """File `reporter`'s report on an item (a short comment, may be empty); returns its id."""
        if not isinstance(comment, str):
            raise InvalidInput("a report's comment is text")
        comment = check_unicode(comment.strip(), "the comment")
        if len(comment) > MAX_COMMENT:
            raise InvalidInput(f"a report's comment is at most {MAX_COMMENT} characters (this one has {len(comment)})")
        with write(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            require_items(connection, project, [int(item_id)])
            me = lock_labeller(connection, reporter)
            row = {"project_id": project.id, "item_id": int(item_id), "kind": REPORT, "comment": comment}
            return connection.execute(
                item_problems.insert().values(**row, reporter_id=me.id, created_at=clock()).returning(item_problems.c.id)
            ).scalar_one()

    def record_unreadable(self, project_id: int, reasons: dict[int, str]) -> int:
        """The worker's finding: these items' images cannot be read (item id -> why). An item already listed,
        excluded or dismissed as unreadable is not listed again. Returns how many were added."""
        added = 0
        with write(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            for batch in batches(sorted(int(i) for i in reasons)):
                known = set(
                    connection.execute(
                        select(item_problems.c.item_id).where(
                            item_problems.c.item_id.in_(batch),
                            item_problems.c.kind == UNREADABLE,
                            or_(item_problems.c.resolution.is_(None), item_problems.c.resolution != FIXED),
                        )
                    ).scalars()
                )
                rows = [
                    {"project_id": project.id, "item_id": i, "kind": UNREADABLE, "comment": reasons[i][:MAX_COMMENT]}
                    for i in batch
                    if i not in known
                ]
                if rows:
                    connection.execute(item_problems.insert().values(created_at=clock()), rows)
                    added += len(rows)
        return added

    def open(self, project_id: int, limit: int = LISTED) -> tuple[list[ItemProblem], int]:
        """The project's open problems, oldest first (at most `limit`), and how many there are."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            where = and_(item_problems.c.project_id == project.id, item_problems.c.resolution.is_(None))
            total = connection.execute(select(func.count()).where(where)).scalar_one()
            rows = connection.execute(
                select(
                    item_problems.c.id,
                    item_problems.c.item_id,
                    items.c.data,
                    item_problems.c.kind,
                    item_problems.c.comment,
                    labellers.c.name,
                    item_problems.c.created_at,
                )
                .join(items, items.c.id == item_problems.c.item_id)
                .outerjoin(labellers, labellers.c.id == item_problems.c.reporter_id)
                .where(where)
                .order_by(item_problems.c.id)
                .limit(max(int(limit), 0))
            ).all()
        return [ItemProblem(r[0], r[1], decode(r[2]), *r[3:]) for r in rows], total

    def exclude(self, project_id: int, item_id: int, reviewer: str) -> int:
        """Take an item out of the queue for good: its open tasks go (a labeller holding it is moved on to
        their next item), its labels stay. Returns how many open tasks were removed."""
        with write(self._engine) as connection:
            project, me = self._checked(connection, project_id, item_id, reviewer)
            removed = connection.execute(tasks.delete().where(tasks.c.item_id == int(item_id), ~tasks.c.done)).rowcount
            _resolve(connection, project, int(item_id), EXCLUDED, me)
            return max(removed, 0)

    def fix(
        self, project_id: int, item_id: int, reviewer: str, data: Any, media_roots: Sequence[Path] | None = None
    ) -> None:
        """Replace an item's value (e.g. a corrected image path), checked as an import checks it (an image
        path must lie under `media_roots`, default: the working directory); its open problems are resolved
        as fixed, and its stored embeddings go, so that the worker embeds the new value."""
        stored = encode(data)
        with write(self._engine) as connection:
            project, me = self._checked(connection, project_id, item_id, reviewer)
            if (column := project.options.image_column) is not None:
                image = data.get(column) if isinstance(data, dict) else data
                roots = media.default_media_roots() if media_roots is None else media_roots
                media.check_media_column([image], roots, first_row=1)
            connection.execute(items.update().where(items.c.id == int(item_id)).values(data=stored))
            connection.execute(embeddings.delete().where(embeddings.c.item_id == int(item_id)))
            _resolve(connection, project, int(item_id), FIXED, me)

    def dismiss(self, project_id: int, item_id: int, reviewer: str) -> None:
        """Close an item's open problems without changing it (nothing was wrong)."""
        with write(self._engine) as connection:
            project, me = self._checked(connection, project_id, item_id, reviewer)
            _resolve(connection, project, int(item_id), DISMISSED, me)

    def delete(self, project_id: int, item_id: int, reviewer: str) -> None:
        """Delete an item with its tasks, labels and problems."""
        with write(self._engine) as connection:
            project, _ = self._checked(connection, project_id, item_id, reviewer)
            connection.execute(items.delete().where(items.c.id == int(item_id), items.c.project_id == project.id))

    @staticmethod
    def _checked(connection: Connection, project_id: int, item_id: int, reviewer: str) -> tuple[Project, int]:
        me = check_reviewer(connection, reviewer)
        project = project_rows.load(connection, project_id)
        require_items(connection, project, [int(item_id)])
        return project, me.id


def _resolve(connection: Connection, project: Project, item_id: int, resolution: str, resolver: int) -> None:
    """Close the item's open problems as `resolution`. An exclusion is always on record (overlap.top_up reads
    it), even for an item with no open problem left."""
    updated = connection.execute(
        update(item_problems)
        .where(item_problems.c.item_id == item_id, item_problems.c.resolution.is_(None))
        .values(resolution=resolution, resolver_id=resolver, resolved_at=clock())
    ).rowcount
    if resolution == EXCLUDED and not updated:
        connection.execute(
            item_problems.insert().values(
                project_id=project.id, item_id=item_id, kind=REPORT, comment="", created_at=clock(),
                resolution=EXCLUDED, resolver_id=resolver, resolved_at=clock(),
            )
        )

