"""The database guard: while the database is away, a message and a retry button instead of a traceback.

The storage layer raises `DatabaseUnavailable` for a refused or lost connection; only that is caught here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from labelling import DatabaseUnavailable, LabellingError

__all__ = [
    "CLICK_NOT_SAVED",
    "DATABASE_DOWN",
    "database_down",
    "database_guard",
    "guarded",
    "refusal",
    "show_lost_click",
]

DATABASE_DOWN = (
    "The database is not reachable right now (it may be restarting). Nothing saved is lost: "
    "try again in a moment."
)
CLICK_NOT_SAVED = (
    "The database did not answer, so your last click may not have been saved. "
    "If the same item comes back, choose again."
)

_CLICK_FAILED = "database_click_failed"


def database_down() -> None:
    """The message shown instead of a traceback, with a button that runs the page (or fragment) again."""
    st.error(DATABASE_DOWN, icon=":material/cloud_off:")
    st.button("Try again", key="database-retry", type="primary", icon=":material/refresh:")


@contextmanager
def database_guard() -> Iterator[None]:
    """Around store calls in a page or fragment: an unreachable database ends this run with the message.

    The router runs every page inside one, and the pages still guard their own store calls: on a fresh
    process's first runs Streamlit runs a page file without the router (see `ui.auth.page_user`), and a
    fragment's own reruns run only the fragment.
    """
    try:
        yield
    except DatabaseUnavailable:
        database_down()
        st.stop()


def guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    """For `on_click`/`on_change` callbacks: an unreachable database leaves a notice for the run that
    follows (`show_lost_click` shows it; a callback cannot draw on the page) instead of a traceback."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DatabaseUnavailable:
            st.session_state[_CLICK_FAILED] = True
            return None

    return run


def refusal(error: LabellingError) -> str:
    """The message of a refused call, for a page to show; an unreachable database is no refusal (it is a
    `LabellingError` too), so it goes on, to the guard."""
    if isinstance(error, DatabaseUnavailable):
        raise error
    return str(error)


def show_lost_click() -> None:
    """The notice a guarded callback left when the database did not answer its click."""
    if st.session_state.pop(_CLICK_FAILED, False):
        st.warning(CLICK_NOT_SAVED, icon=":material/cloud_off:")
