"""Finding 11 of issue 15 (library part): a NUL in a project or labeller name was an unhandled database
error on PostgreSQL; control characters in names are refused with a clear InvalidInput, and so is a name
that is not valid Unicode (finding 10). And `.env`, where docs/hosting.md keeps both passwords, is ignored
by git."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelling import InvalidInput, ProjectNotFound

BAD_NAMES = ["with\x00nul", "bell\x07", "new\nline", "esc\x1b[31mred", "del\x7f", "c1\x85inside", "lone\ud800"]
REFUSED = "control character|not valid Unicode"


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_a_project_name_with_a_control_character_or_surrogate_is_refused(store, name):
    with pytest.raises(InvalidInput, match=REFUSED):
        store.create_project(name, ["a", "b"])
    assert store.projects() == []


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_a_labeller_name_with_a_control_character_or_surrogate_is_refused(store, name):
    project = store.create_project("p", ["a", "b"])
    store.add_items(project.id, ["x"])
    with pytest.raises(InvalidInput, match=REFUSED):
        store.next_item(project.id, name)
    with pytest.raises(InvalidInput, match=REFUSED):
        store.people.add(name)
    assert store.people.all() == [] and store.progress(project.id).in_progress == 0


def test_a_project_looked_up_by_a_name_with_nul_is_not_found(store):
    with pytest.raises(ProjectNotFound, match="no project 'with.x00nul'"):
        store.project("with\x00nul")


def test_dotenv_is_ignored_by_git():
    ignored = Path(__file__).resolve().parents[2].joinpath(".gitignore").read_text().splitlines()
    assert ".env" in [line.strip() for line in ignored]
