"""Which project a session works on: the sidebar's picker, and the demo project of a first start."""

from __future__ import annotations

import time

import streamlit as st

from labelling import DuplicateProject, Project, Store
from labelling.setup import demo
from labelling.storage.engine import DEFAULT_URL
from ui.auth import signed_in
from ui.guard import database_guard
from ui.resources import settings

__all__ = ["demo_on_first_start", "hand_keys_back", "page_project", "project_picker", "select_project"]

_PROJECT = "project_id"
_PROJECT_PICKER = "project_picker"
_KEYS_BACK = "keys_back"

_BLUR = """<script>/* asked at %d */ (() => {
    const box = document.activeElement;
    if (box && box.tagName === "INPUT") box.blur();
})();</script>"""
"""After a choice a select box keeps the keyboard's focus, and Streamlit's shortcuts ignore keys typed into an
input: `s` would type into the project picker instead of skipping. Blurring it hands the keys back to the page.
The time of asking makes each script new, so the browser runs it again."""


def project_picker(store: Store) -> Project | None:
    """The project this session works on, chosen in the sidebar when there are several."""
    user = signed_in()
    with database_guard():  # a labeller's: the projects they are on (labelling.storage.access); an admin's: all
        projects = store.projects() if user is None or user.is_admin else store.access.projects_for(user.name)
    if not projects:
        return None
    by_id = {p.id: p for p in projects}
    chosen = st.session_state.get(_PROJECT)
    if chosen not in by_id:
        chosen = projects[-1].id
        st.session_state[_PROJECT] = chosen
        st.session_state.pop(_PROJECT_PICKER, None)
    if len(projects) > 1:
        ids = list(by_id)
        st.sidebar.selectbox(
            "Project",
            ids,
            index=ids.index(chosen),
            format_func=lambda i: by_id[i].name + (" (archived)" if by_id[i].archived else ""),
            key=_PROJECT_PICKER,
            on_change=_picked,
        )
        chosen = st.session_state.get(_PROJECT_PICKER, chosen)
    if asked := st.session_state.pop(_KEYS_BACK, 0):  # drawn on every page, which all call this first
        st.sidebar.html(_BLUR % asked, unsafe_allow_javascript=True)
    return by_id[chosen]


def page_project(store: Store, title: str) -> Project:
    """The page's title over the project picked in the sidebar; with no project yet, says so and stops."""
    project = project_picker(store)
    st.title(title)
    if project is None:
        st.info("There is no project yet.")
        st.stop()
    st.caption(project.name)
    return project


def _picked() -> None:
    st.session_state[_PROJECT] = st.session_state[_PROJECT_PICKER]
    hand_keys_back()


def hand_keys_back() -> None:
    """A select box's `on_change`: on the next run it lets go of the keyboard, so the page's shortcut keys work
    again (the sidebar's project picker, the Review page's filters)."""
    st.session_state[_KEYS_BACK] = time.time_ns()


def select_project(project_id: int) -> None:
    """Work on this project from the next run on (Setup, after making or changing one)."""
    st.session_state[_PROJECT] = project_id
    st.session_state.pop(_PROJECT_PICKER, None)


def demo_on_first_start(store: Store) -> None:
    """Nothing configured (no database URL anywhere, so the embedded SQLite file) and no project yet: make
    the product-reviews demo, so that a first `streamlit run` has something to label at once."""
    if settings().database_url != DEFAULT_URL or store.projects():
        return
    try:
        demo.create_reviews_demo(store)
    except DuplicateProject:  # another session of this first start made it a moment ago
        pass
