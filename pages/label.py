"""Label: my current item, one button per label (keys 1-9), skip and undo.

Every state change happens in a button callback, and the item and its buttons sit in a fragment, so a
click reruns only that fragment: one `submit_and_next` transaction, nothing project-wide.
"""

import streamlit as st

import ui
from ui import annotate
from labelling import DatabaseUnavailable, LabellingError, LeaseLost, Project, ProjectNotFound

NOTICE = "label_notice"
DONE_HERE = "labelled_this_session"
HANDED_OUT = "item_handed_out"
COUNTS = "label_progress_counts"
PICKS = "label_picks"

store = ui.store()
me = ui.page_user(store)
project = ui.project_picker(store)


def _act(action, *args):
    """Run a queue call from a callback; a refusal becomes a notice shown above the next item."""
    try:
        if not ui.still_signed_in(store):
            return None
        return action(*args)
    except DatabaseUnavailable:  # the fragment then shows the database message and a retry button
        st.session_state[NOTICE] = ("warning", ui.CLICK_NOT_SAVED)
    except LeaseLost as error:
        st.session_state[NOTICE] = ("warning", f"{error}. Here is your next item.")
    except LabellingError as error:
        st.session_state[NOTICE] = ("warning", str(error))
    return None


def _label(project_id: int, item_id: int, labeller: str, label, relabel: bool = False) -> None:
    """Record the label and take the next item in one call; the fragment shows that item without asking again.
    A re-label (an item labelled before, back through Undo) is not counted again as labelled by me."""
    done = _act(store.submit_and_next, project_id, item_id, labeller, label, ui.settings().lease_seconds)
    if done is not None:
        if not relabel:
            counted = st.session_state.setdefault(DONE_HERE, {})
            counted[project_id] = counted.get(project_id, 0) + 1
        st.session_state[HANDED_OUT] = (project_id, labeller, done[1])


def _undo(project_id: int, labeller: str) -> None:
    if _act(store.undo, project_id, labeller, ui.settings().lease_seconds) is None and NOTICE not in st.session_state:
        st.session_state[NOTICE] = ("info", "Nothing to undo yet.")


def _toggle(item_id: int, index: int) -> None:
    """Tick or untick a label of a multi-label item (its button or its key, 1-9)."""
    held, picked = st.session_state.get(PICKS, (None, frozenset()))
    if held == item_id:  # a click from a run that showed an item since gone does nothing
        st.session_state[PICKS] = (item_id, picked ^ {index})


def _submit_picked(project: Project, item_id: int, labeller: str, relabel: bool) -> None:
    held, picked = st.session_state.get(PICKS, (None, frozenset()))
    if held == item_id:
        _label(project.id, item_id, labeller, [label for i, label in enumerate(project.labels) if i in picked], relabel)
        st.session_state.pop(PICKS, None)


def _submit_drawn(project_id: int, item_id: int, labeller: str, key: str, start, relabel: bool) -> None:
    _label(project_id, item_id, labeller, annotate.edited(key, start), relabel)


@st.fragment
def labelling(project: Project, labeller: str) -> None:
    with ui.database_guard():
        try:
            now = store.project(project.id)
        except ProjectNotFound:
            now = None
        except DatabaseUnavailable:  # the item's own read then shows that, under the click's notice
            now = project
        if now != project:  # renamed labels, overlap, archived or deleted meanwhile: the whole page reads it again
            gone = "deleted" if now is None else "archived" if now.archived and not project.archived else None
            if gone:  # said instead of the refusal of the click that found it out ("no item 11 in project ...")
                st.session_state[NOTICE] = ("warning", f"The project {project.name!r} was {gone} by an admin.")
            st.rerun()
        _labelling(project, labeller)


def _labelling(project: Project, labeller: str) -> None:
    if not ui.still_signed_in(store):
        st.rerun()
    # The bar is drawn at once from this session's last counts, and again once the item is on screen: the
    # counts are cached a few seconds, and reading them afresh (a second or so at 1M items) must not hold
    # the next item back.
    bar = st.empty()
    last = st.session_state.get(COUNTS)
    if last is not None and last[0] == project.id:
        _progress_bar(bar, project, last[1], last[2])
    _current_item(project, labeller)
    ui.my_history(store, project, labeller)
    counts = ui.progress(store, project.id, per_labeller=False)
    if last is None or last[0] != project.id or last[1] != counts:  # counts read afresh: mine are in them
        last = (project.id, counts, _done_here(project.id))
        st.session_state[COUNTS] = last
    _progress_bar(bar, project, counts, last[2])
    if not ui.still_signed_in(store, renew=True):  # after the item is drawn: no click waits for it
        st.rerun()


def _held_by_others(held: int) -> None:
    """Items others hold may still come back (a labeller who left lets go when the lease runs out): say so,
    with a button to look again, rather than a final goodbye."""
    if not held:
        return
    seconds = ui.settings().lease_seconds
    hold = f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"
    st.info(
        f"{held:,} item{'s are' if held != 1 else ' is'} with other labellers right now. "
        f"Any left unfinished come back here within {hold}.",
        icon=":material/hourglass_top:",
    )
    st.button("Check again", key="check-again", icon=":material/refresh:")


def _done_here(project_id: int) -> int:
    """The items I labelled in this project in this session (the bar is a project's: others do not count)."""
    return st.session_state.get(DONE_HERE, {}).get(project_id, 0)


def _progress_bar(bar, project: Project, counts, mine_then: int) -> None:
    """The shared counts are cached a few seconds: my own labels since they were read are added at once (each
    completes an item when one label per item is asked for)."""
    mine = _done_here(project.id)
    complete = min(counts.total, counts.complete + (mine - mine_then if project.overlap == 1 else 0))
    bar.progress(
        complete / counts.total if counts.total else 0.0,
        text=f"{complete:,} of {counts.total:,} items done · {mine:,} labelled by you in this session",
    )


def _current_item(project: Project, labeller: str) -> None:
    """The notice, my item, the model's suggestion, and the buttons (inside the fragment)."""
    notice = st.session_state.pop(NOTICE, None)
    said = st.empty()
    if notice:
        (said.info if notice[0] == "info" else said.warning)(notice[1])
    handed_out = st.session_state.pop(HANDED_OUT, None)
    try:
        if handed_out is not None and handed_out[:2] == (project.id, labeller):
            item = handed_out[2]
        else:
            item = store.next_item(project.id, labeller, ui.settings().lease_seconds)
    except LabellingError as error:  # in the notice's place: the click's refusal would say the same again
        said.error(ui.refusal(error))
        return
    if item is None:
        # Counted afresh, not from the 5-second cache: the bar drawn next reads these, and the items held now
        # are all others' (I hold nothing when nothing is left for me).
        counts = ui.progress(store, project.id, per_labeller=False, fresh=True)
        st.success("Nothing left for you in this project. Thank you!", icon=":material/task_alt:")
        _held_by_others(counts.in_progress)
        st.button("Undo my last label", key="undo", on_click=_undo, args=(project.id, labeller))
        return

    drawing = annotate.is_annotation(project.options)
    start = annotate.starting_value(item) if drawing else None
    editor = annotate.editor_key(item.id, start) if drawing else None
    # Boxes and spans are edited in a form: edits stay in the browser, and Submit sends the value with the click.
    form = st.form("drawn", border=False) if drawing else st.container()
    with form.container(border=True, key="item"):
        if drawing:
            start = annotate.draw(project.options, project.labels, item.data, editor, start)
        else:
            ui.show_item(item.data, project.options)
    suggestion = item.suggestion
    if suggestion is not None:
        guess = annotate.summary(suggestion.label)
        form.caption(
            (f"The model suggests **{ui.literal(guess)}** " if guess else "The model suggests no label ")
            + f"({suggestion.probability:.0%} sure)",
            help="From the latest training run (Train page); label what you see.",
        )
    mine = item.my_label
    if mine is not None:
        shown = annotate.summary(mine)
        form.info(
            (f"You labelled this **{ui.literal(shown)}**. " if shown else "You ticked none of the labels for this. ")
            + ("Edit it and Submit" if drawing else "Choose again") + " to change it, or Skip to keep it.",
            icon=":material/undo:",
        )

    keys = ui.label_shortcuts(project.labels)
    if drawing:
        form.form_submit_button(
            "Submit",
            key="submit",
            type="primary",
            shortcut="Enter",
            on_click=_submit_drawn,
            args=(project.id, item.id, labeller, editor, start, mine is not None),
        )
        buttons = st.container(horizontal=True, key="actions")
    elif project.multi_label:
        # Toggle buttons, not checkboxes: a focused checkbox (an <input>) swallows every shortcut key, so 1-9 and
        # Enter would stop working after a tick with the mouse; a focused button does not.
        if st.session_state.get(PICKS, (None,))[0] != item.id:
            ticked = frozenset(i for i, label in enumerate(project.labels) if label in (mine or ()))
            st.session_state[PICKS] = (item.id, ticked)
        picked = st.session_state[PICKS][1]
        boxes = st.container(horizontal=True, key="picks")
        for i, (label, key) in enumerate(zip(project.labels, keys)):
            boxes.button(
                ui.literal(label),
                key=f"pick-{i}",
                shortcut=key,
                icon=":material/check_box:" if i in picked else ":material/check_box_outline_blank:",
                type="primary" if i in picked else "secondary",
                on_click=_toggle,
                args=(item.id, i),
            )
        buttons = st.container(horizontal=True, key="actions")
        buttons.button(
            "Submit",
            key="submit",
            type="primary",
            shortcut="Enter",
            on_click=_submit_picked,
            args=(project, item.id, labeller, mine is not None),
        )
    else:
        buttons = st.container(horizontal=True, key="labels")
        for i, (label, key) in enumerate(zip(project.labels, keys)):
            buttons.button(
                ui.literal(label),
                key=f"label-{i}",
                shortcut=key,
                type="primary" if label == mine else "secondary",
                on_click=_label,
                args=(project.id, item.id, labeller, label, mine is not None),
            )
        buttons = st.container(horizontal=True, key="actions")
    skip = (store.skip, project.id, item.id, labeller)
    buttons.button("Skip", key="skip", shortcut="S", icon=":material/skip_next:", on_click=_act, args=skip)
    undo = (project.id, labeller)
    buttons.button("Undo", key="undo", shortcut="U", icon=":material/undo:", on_click=_undo, args=undo)
    if drawing:  # the editor lists its own keys (classes, delete) above the item
        st.caption("Keys: **Enter** submit · **S** skip · **U** undo")
    else:
        ui.keyboard_help(project.labels, project.multi_label)
    ui.report_problem(store, project.id, item.id, labeller)


if project is None:
    st.title("Label")
    if me.is_admin:
        st.info("There is no project yet.")
        st.page_link("pages/setup.py", label="Create one on the Setup page", icon=":material/upload_file:")
    else:
        st.info("There is nothing to label yet. Come back when your admin has set up a project, or added you to one.")
    st.stop()

st.title(project.name)
if project.instructions.strip():
    with st.expander("Instructions", icon=":material/help:"):
        st.markdown(project.instructions)
labelling(project, me.name)
