"""Which project a session works on: the sidebar's picker, and the demo project of a first start."""

from __future__ import annotations

import streamlit as st

from labelling import DuplicateProject, Project, Store
from labelling.setup import demo
from labelling.storage.engine import DEFAULT_URL
from ui.auth import signed_in
from ui.guard import database_guard
from ui.resources import settings

__all__ = ["demo_on_first_start", "page_project", "project_picker", "select_project"]

_PROJECT = "project_id"
_PROJECT_PICKER = "project_picker"

_KEYS_BACK = """<script>(() => {
    if (window.labellingKeysBack) return;  // once per page load: the listeners outlive reruns and page changes
    window.labellingKeysBack = true;
    const letGo = () => setTimeout(() => {
        const box = document.activeElement;
        if (box?.tagName === "INPUT" && box.closest("[data-testid='stSelectbox']")) box.blur();
    }, 50);
    document.addEventListener("click", (event) => event.target.closest?.("[role='option']") && letGo(), true);
    document.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && document.querySelector("[role='listbox']")) letGo();
    }, true);
})();</script>"""
"""After a choice a select box keeps the keyboard's focus, and Streamlit's shortcuts ignore keys typed into an
input: `s` would type into the project picker instead of skipping. This lets go of the focus whenever an
option of a select box is chosen, with the mouse or Enter, in the browser: choosing the option already chosen
starts no rerun, so a script sent from a callback would never come. Multiselects keep it, to pick more."""


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
    if len(projects) > 1:
        # A project chosen elsewhere (select_project, a first start) is set on the widget itself: a picker
        # left to its default would keep showing what the browser last sent.
        if st.session_state.get(_PROJECT_PICKER) != chosen:
            st.session_state[_PROJECT_PICKER] = chosen
        # Its default is the chosen project too: a browser that draws the picker afresh (seen after a rerun
        # that a fragment asked for) shows its default, and sent the first project with the next click.
        options = list(by_id)
        st.sidebar.selectbox(
            "Project",
            options,
            index=options.index(chosen),
            format_func=lambda i: by_id[i].name + (" (archived)" if by_id[i].archived else ""),
            key=_PROJECT_PICKER,
            on_change=_picked,
        )
    st.sidebar.html(_KEYS_BACK, unsafe_allow_javascript=True)  # on every page: each calls this first
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


def select_project(project_id: int) -> None:
    """Work on this project from the next run on (Setup, after making or changing one)."""
    st.session_state[_PROJECT] = project_id


def demo_on_first_start(store: Store) -> None:
    """Nothing configured (no database URL anywhere, so the embedded SQLite file) and no project yet: make
    the product-reviews demo, so that a first `streamlit run` has something to label at once."""
    if settings().database_url != DEFAULT_URL or store.projects():
        return
    try:
        demo.create_reviews_demo(store)
    except DuplicateProject:  # another session of this first start made it a moment ago
        pass
