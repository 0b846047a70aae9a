"""Who works on which project: an admin assigns labellers and reviewers to projects; a labeller sees, and is
handed items of, only the projects they are on.

The rule, one place: a project with no members is open to every labeller (the state of every project made
before assignments existed, so nothing changes on upgrade); once anyone is assigned, only its members and
admins may label it. Archived projects are hidden from everyone but admins. `Store.access` hands out one
`Access`; its `check` is what the queue calls (`Store.next_item`, `submit`, `skip`, `undo`) inside its transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, delete, exists, insert, literal, or_, select

from labelling.errors import InvalidInput, NotOnProject
from labelling.people import ADMIN_NAME, IMPORT_NAME, check_name
from labelling.records import Project
from labelling.storage import projects as project_rows
from labelling.storage.engine import clock, read, write
from labelling.storage.queue import Labeller
from labelling.storage.schema import labellers, project_members, projects

__all__ = ["ACCESS_CACHE_SECONDS", "Access", "require_member"]

ACCESS_CACHE_SECONDS = 5.0
"""How long a labeller found allowed on a project is not asked again (as long as the store keeps a project)."""
_now = time.monotonic  # the cache's clock (a test moves it on)


def _is_admin(labeller_id):
    return exists().where(labellers.c.id == labeller_id, or_(labellers.c.role == "admin", labellers.c.name == ADMIN_NAME))


def _may_label(project_id, labeller_id):
    """True where the project is open to everyone, the labeller is on it, or the labeller is an admin."""
    members = project_members.c
    return or_(
        ~exists().where(members.project_id == project_id),
        exists().where(members.project_id == project_id, members.labeller_id == labeller_id),
        _is_admin(labeller_id),
    )


def require_member(connection: Connection, project: Project, me: Labeller) -> Labeller:
    """`me`, if they may work on `project` (on it, or it is open to all, or they are an admin); else
    NotOnProject. Asked of the database each time: for the reviewers' actions, which are not the click path."""
    if not connection.execute(select(_may_label(project.id, me.id))).scalar():
        raise NotOnProject(f"{me.name} is not on the project {project.name!r}: an admin can add them on the People page")
    return me


class Access:
    """Project members (`project_members`), on one engine; each method is one short transaction."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._allowed: dict[tuple[int, float, int], float] = {}
        """(project id, its creation time, labeller id) -> when the labeller was last found allowed."""

    def check(self, connection: Connection, project: Project, me: Labeller) -> Labeller:
        """`me`, if they may label `project` now: it is not archived and they are on it (or it is open to
        all, or they are an admin); else ProjectArchived or NotOnProject, before anything is written.

        Inside the caller's transaction. A yes is kept ACCESS_CACHE_SECONDS, so the labelling loop asks the
        database once per labeller and project in that time, not on every click; a change of members made
        by this store is seen at once, one made by another process within that time."""
        project_rows.check_open(project)
        key = (project.id, project.created_at, me.id)
        allowed_at = self._allowed.get(key)
        if allowed_at is not None and _now() - allowed_at < ACCESS_CACHE_SECONDS:
            return me
        require_member(connection, project, me)
        self._allowed[key] = _now()
        return me

    def members(self, project: int | str) -> list[str]:
        """The names of the people assigned to the project, by name; empty: open to every labeller."""
        with read(self._engine) as connection:
            found = project_rows.load(connection, project)
            return list(
                connection.execute(
                    select(labellers.c.name)
                    .join(project_members, project_members.c.labeller_id == labellers.c.id)
                    .where(project_members.c.project_id == found.id)
                    .order_by(labellers.c.name)
                ).scalars()
            )

    def set_members(self, project: int | str, names: Sequence[str]) -> list[str]:
        """Make exactly `names` the project's members (none: open to every labeller again); returns them.
        Everyone named must exist (invited on the People page); admins see every project and are not assigned."""
        wanted = sorted({check_name(name) for name in names})
        if ADMIN_NAME in wanted or IMPORT_NAME in wanted:
            raise InvalidInput(f"{ADMIN_NAME!r} and {IMPORT_NAME!r} are not assigned to projects: admins see them all")
        with write(self._engine) as connection:
            found = project_rows.load(connection, project)
            ids = dict(connection.execute(select(labellers.c.name, labellers.c.id).where(labellers.c.name.in_(wanted))).all())
            unknown = [name for name in wanted if name not in ids]
            if unknown:
                raise InvalidInput(f"nobody named {', '.join(map(repr, unknown))}: invite them on the People page first")
            connection.execute(delete(project_members).where(project_members.c.project_id == found.id))
            self._allowed.clear()
            chosen = select(literal(found.id), labellers.c.id, clock()).where(labellers.c.name.in_(wanted))
            connection.execute(insert(project_members).from_select(["project_id", "labeller_id", "created_at"], chosen))
        return wanted

    def assign(self, project: int | str, names: Sequence[str]) -> list[str]:
        """Add people to the project's members (the command line's `project assign`); returns all members."""
        return self.set_members(project, [*self.members(project), *names])

    def unassign(self, project: int | str, names: Sequence[str]) -> list[str]:
        """Take people off the project (once nobody is left it is open to every labeller again); all members."""
        leaving = {check_name(name) for name in names}
        return self.set_members(project, [name for name in self.members(project) if name not in leaving])

    def projects_for(self, name: str) -> list[Project]:
        """The projects `name` may label, oldest first: every project for an admin (archived ones included),
        else those not archived that are open to all or have them as a member."""
        name = check_name(name)
        with read(self._engine) as connection:
            me = select(labellers.c.id).where(labellers.c.name == name).scalar_subquery()
            query = select(projects).order_by(projects.c.id)
            if name != ADMIN_NAME:
                query = query.where(projects.c.archived_at.is_(None), _may_label(projects.c.id, me))
            return [project_rows.from_row(row) for row in connection.execute(query)]
