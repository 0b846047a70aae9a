"""The Label page's "My recent items": the items I labelled last, each with my label and a Reopen button that
brings it back to change its label (the library side is `labelling.storage.history`, `Store.history`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labelling import LabellingError, Project, Store
from labelling.io.serialisation import is_missing
from labelling.records import ProjectSettings
from labelling.storage.history import RECENT
from ui.annotate import summary
from ui.guard import guarded, refusal
from ui.items import literal
from ui.resources import settings

__all__ = ["my_history"]

NOTICE = "history_notice"
OPEN = "my-history"
"""The popover's key: open or not."""
SUMMARY_CHARACTERS = 60
"""Characters of an item's text shown in the list."""


@guarded
def _reopen(store: Store, project_id: int, labeller: str, item_id: int) -> None:
    try:
        store.history.reopen(project_id, labeller, item_id, settings().lease_seconds)
    except LabellingError as error:
        st.session_state[NOTICE] = refusal(error)
        return
    st.session_state[OPEN] = False  # closed: the reopened item is what the labeller wants to see


def _summary(data: Any, options: ProjectSettings) -> str:
    """A line of the item: its text (or shown column's), cut short; an image or array by its kind."""
    value = data
    if isinstance(data, dict):
        column = options.text_column or next(iter(options.table_columns), None)
        value = data.get(column) if column is not None else next(iter(data.values()), "")
    if is_missing(value):  # an empty cell
        value = ""
    if options.image_column is not None or not isinstance(value, (str, int, float)):
        return "an image" if options.image_column is not None else "a table"
    text = " ".join(str(value).split())
    return text if len(text) <= SUMMARY_CHARACTERS else text[: SUMMARY_CHARACTERS - 1] + "…"


def my_history(store: Store, project: Project, labeller: str, limit: int = RECENT) -> None:
    """A "My recent items" popover: my last `limit` labels in the project, newest first, each reopenable
    (as Undo reopens the newest: my label stays until I choose another). Read only while it is open, so a
    click on a label costs no query for it."""
    if notice := st.session_state.pop(NOTICE, None):
        st.warning(notice)
    popover = st.popover("My recent items", icon=":material/history:", key=OPEN, on_change="rerun")
    if not popover.open:
        return
    with popover:
        recent = store.history.recent(project.id, labeller, limit)
        if not recent:
            st.caption("Nothing labelled yet in this project.")
        for done in recent:
            label = summary(done.label) or "none of the labels"
            row = st.container(horizontal=True, vertical_alignment="center", key=f"history-{done.item_id}")
            row.markdown(f"{literal(_summary(done.data, project.options))} → **{literal(label)}**")
            row.button(
                "Reopen",
                key=f"reopen-{done.item_id}",
                icon=":material/edit:",
                on_click=_reopen,
                args=(store, project.id, labeller, done.item_id),
            )
