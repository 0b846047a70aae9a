"""Item problems on the pages: the Label page's "Report a problem with this item", and the list of reported
and unreadable items that reviewers and admins resolve (exclude from the queue, fix the value, dismiss,
delete) on the Review page. The library side is `labelling.storage.problems` (`Store.problems`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from labelling import LabellingError, Project, Store
from labelling.errors import InvalidInput
from labelling.storage.problems import MAX_COMMENT, ItemProblem
from ui.guard import database_guard, guarded, refusal
from ui.items import literal, show_item
from ui.resources import settings

__all__ = ["problem_list", "report_problem"]

REPORTED = "problem_reported"
RESOLVED = "problem_notice"
KINDS = {"report": "Reported", "unreadable": "Image unreadable (found by the worker)"}


@guarded
def _report(store: Store, project_id: int, item_id: int, labeller: str) -> None:
    comment = st.session_state.get(f"problem-comment-{item_id}", "")
    try:
        store.problems.report(project_id, item_id, labeller, comment)
    except LabellingError as error:
        st.session_state[REPORTED] = ("warning", refusal(error))
        return
    st.session_state[REPORTED] = ("success", "Thank you: the problem was reported to your admin.")
    st.session_state[f"problem-{item_id}"] = False  # closed: the thanks shows above it


def report_problem(store: Store, project_id: int, item_id: int, labeller: str) -> None:
    """A "Report a problem with this item" popover: a short comment and a Send button. Reporting does not
    move the labeller on: they still label or Skip the item. Its inside is drawn only while it is open (a
    popover per item, so each item's starts closed): every click on a label redraws the Label page's item,
    and two widgets fewer there are two messages fewer to the browser before the next click counts."""
    notice = st.session_state.pop(REPORTED, None)
    if notice:
        (st.success if notice[0] == "success" else st.warning)(notice[1])
    popover = st.popover(
        "Report a problem with this item", icon=":material/flag:", key=f"problem-{item_id}", on_change="rerun"
    )
    if not popover.open:
        return
    with popover:
        st.text_input(
            "What is wrong? (optional)",
            key=f"problem-comment-{item_id}",
            max_chars=MAX_COMMENT,
            placeholder="e.g. the image does not load",
        )
        st.button(
            "Send report",
            key=f"problem-send-{item_id}",
            on_click=_report,
            args=(store, project_id, item_id, labeller),
        )


@guarded
def _resolve(store: Store, project: Project, problem: ItemProblem, action: str, reviewer: str) -> None:
    item = problem.item_id
    try:
        if action == "fix":
            store.problems.fix(project.id, item, reviewer, _fixed_value(project, problem), settings().media_roots)
        else:
            getattr(store.problems, action)(project.id, item, reviewer)
    except LabellingError as error:
        st.session_state[RESOLVED] = ("error", f"Item {item}: {refusal(error)}")
        return
    done = {"exclude": "taken out of the queue", "fix": "fixed", "dismiss": "dismissed", "delete": "deleted"}
    st.session_state[RESOLVED] = ("success", f"Item {item}: {done[action]}.")


def _fixed_value(project: Project, problem: ItemProblem) -> Any:
    """The item's value with the shown column replaced by what the reviewer typed (`Problems.fix` checks it)."""
    typed = st.session_state.get(f"problem-value-{problem.id}", "").strip()
    if not typed:
        raise InvalidInput("type the corrected value first")
    column = project.options.image_column or project.options.text_column
    if isinstance(problem.data, dict) and column:
        return {**problem.data, column: typed}
    return typed


def problem_list(store: Store, project: Project, reviewer: str) -> None:
    """Reported and unreadable items of the project, each with its value and the ways to resolve it."""
    with database_guard():
        problems, total = store.problems.open(project.id)
    st.subheader(f"Problems reported ({total:,})")
    if notice := st.session_state.pop(RESOLVED, None):
        (st.success if notice[0] == "success" else st.error)(notice[1])
    if not problems:
        st.caption("No open problem: labellers' reports and images the worker could not read appear here.")
        return
    for problem in problems:
        with st.container(border=True, key=f"problem-{problem.id}"):
            who = f"by {literal(problem.reporter)}" if problem.reporter else ""
            st.caption(f"Item {problem.item_id} · {KINDS.get(problem.kind, problem.kind)} {who}")
            if problem.comment:
                st.markdown(f"> {literal(problem.comment)}")
            show_item(problem.data, project.options)
            st.text_input("Corrected value (e.g. the image's path or URL)", key=f"problem-value-{problem.id}")
            row = st.container(horizontal=True)
            for action, words, icon in (
                ("fix", "Save the corrected value", ":material/edit:"),
                ("exclude", "Exclude from the queue", ":material/block:"),
                ("dismiss", "Nothing wrong", ":material/done:"),
            ):
                _action_button(row, store, project, problem, reviewer, action, words, icon)
            with row.popover("Delete the item", icon=":material/delete:"):
                st.caption("Deletes the item with its labels; this cannot be undone.")
                _action_button(st, store, project, problem, reviewer, "delete", "Delete it", ":material/delete:")


def _action_button(
    place: Any, store: Store, project: Project, problem: ItemProblem, reviewer: str, action: str, words: str, icon: str
) -> None:
    place.button(
        words,
        key=f"problem-{action}-{problem.id}",
        icon=icon,
        on_click=_resolve,
        args=(store, project, problem, action, reviewer),
    )
