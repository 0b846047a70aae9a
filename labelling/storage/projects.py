"""The projects table: a project loaded by id or name as a frozen `Project`, and the checks its columns need
before they are written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, or_, select
from sqlalchemy.exc import IntegrityError

from labelling import text
from labelling.errors import DuplicateProject, InvalidInput, ProjectArchived, ProjectNotFound
from labelling.io import labels as label_values
from labelling.records import Project, ProjectSettings, Task
from labelling.storage.engine import clock
from labelling.storage.schema import projects

__all__ = [
    "MAX_PROJECT_NAME",
    "changed_settings",
    "check_instructions",
    "check_name",
    "check_name_free",
    "check_open",
    "check_task_settings",
    "from_row",
    "insert",
    "load",
    "load_open",
    "settings_json",
]

MAX_PROJECT_NAME = 200


def check_name(name: Any) -> str:
    return text.check_name(name, "project", MAX_PROJECT_NAME)


def check_instructions(instructions: Any) -> str:
    return text.check_unicode(str(instructions), "the instructions")


def settings_json(settings: dict[str, Any]) -> str:
    """The settings as stored (ASCII JSON, which would escape a lone surrogate and keep it for later)."""
    text.check_unicode(json.dumps(settings, ensure_ascii=False), "the settings")
    return json.dumps(settings)


def insert(
    connection: Connection,
    name: str,
    labels: Sequence[str],
    multi_label: bool,
    overlap: int,
    instructions: str,
    settings: dict[str, Any] | None,
    task: str | None = None,
) -> int:
    """Check and insert a new project row inside the caller's transaction; its id. `task` (a `Task`; None:
    the settings' "task", else classify) is kept in the settings, with its own settings checked."""
    name = check_name(name)
    label_set = label_values.validate_label_set(labels, multi_label)
    settings = check_task_settings({**(settings or {}), **({"task": task} if task is not None else {})}, multi_label)
    if not isinstance(overlap, (int, np.integer)) or isinstance(overlap, bool) or overlap < 1:
        raise InvalidInput(f"overlap must be a whole number of labellers, at least 1 (got {overlap!r})")
    values = {
        "name": name,
        "labels": stored_labels(label_set),
        "multi_label": bool(multi_label),
        "overlap": int(overlap),
        "instructions": check_instructions(instructions or ""),
        "settings": settings_json(settings),
        "created_at": clock(),
    }
    try:
        return connection.execute(projects.insert().values(values).returning(projects.c.id)).scalar_one()
    except IntegrityError:
        raise DuplicateProject(f"a project named {name!r} exists already") from None


def check_task_settings(settings: dict[str, Any], multi_label: bool) -> dict[str, Any]:
    """The settings with a known task (classify is the default: no key); boxes and spans are single-label,
    overlapping_spans a bool and iou_threshold a number in (0, 1]."""
    task = settings.pop("task", Task.CLASSIFY)
    if task not in tuple(Task):
        raise InvalidInput(f"task must be one of {', '.join(Task)}, not {task!r}")
    if task != Task.CLASSIFY and multi_label:
        raise InvalidInput("a box or span project is not multi-label: each box or span has one class")
    if not isinstance(settings.get("overlapping_spans", False), bool):
        raise InvalidInput("overlapping_spans must be true or false")
    threshold = settings.get("iou_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise InvalidInput(f"iou_threshold must be a number above 0 and at most 1, not {threshold!r}")
    return settings if task == Task.CLASSIFY else {**settings, "task": str(Task(task))}


def changed_settings(project: Project, settings: dict[str, Any]) -> str:
    """A project's new settings as stored, checked: its task cannot change (labels of one task mean nothing
    to another) and the task's own settings must be valid."""
    if ProjectSettings.of(settings).task != project.options.task:
        raise InvalidInput("a project's task cannot change: make a new project to draw boxes or mark spans")
    return settings_json(check_task_settings(dict(settings), project.multi_label))


def check_name_free(connection: Connection, name: str) -> None:
    """DuplicateProject if a project has this name (names are unique)."""
    if connection.execute(select(projects.c.id).where(projects.c.name == name)).first() is not None:
        raise DuplicateProject(f"a project named {name!r} exists already")


def load(connection: Connection, project: int | str) -> Project:
    """A project by id, or by name; a name of digits that no project has is taken as an id, so that every
    command line option takes a project by name or id alike (`--project reviews`, `--project 3`)."""
    if isinstance(project, str):
        if not text.is_name(project, MAX_PROJECT_NAME):  # no such project; and PostgreSQL refuses a NUL in a query
            raise ProjectNotFound(f"no project {project!r}")
        condition = projects.c.name == project
        if project.isascii() and project.isdigit():
            condition = or_(condition, projects.c.id == int(project))
            row = connection.execute(select(projects).where(condition).order_by(projects.c.name != project)).first()
            if row is None:
                raise ProjectNotFound(f"no project named {project!r} and no project with id {project}")
            return from_row(row)
    elif isinstance(project, (int, np.integer)) and not isinstance(project, bool):
        condition = projects.c.id == int(project)
    else:
        raise InvalidInput(f"a project is named by its id or name, not {project!r}")
    row = connection.execute(select(projects).where(condition)).first()
    if row is None:
        raise ProjectNotFound(f"no project {project!r}")
    return from_row(row)


def load_open(connection: Connection, project: int | str) -> Project:
    """`load`, for a change to the project: ProjectArchived for an archived one (read-only until restored)."""
    return check_open(load(connection, project))


def stored_labels(labels: Sequence[str]) -> str:
    """A label set as the project's row keeps it; a label's submit compares the row with it (labelling.storage.queue)."""
    return json.dumps(list(labels))


def from_row(row) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        labels=tuple(json.loads(row.labels)),
        multi_label=bool(row.multi_label),
        overlap=row.overlap,
        instructions=row.instructions,
        settings=json.loads(row.settings),
        created_at=row.created_at,
        archived_at=row.archived_at,
    )


def check_open(project: Project) -> Project:
    """The project, unless it is archived: archived projects are read-only until restored."""
    if project.archived:
        raise ProjectArchived(f"the project {project.name!r} is archived: an admin can restore it on the Projects page")
    return project
