"""Projects: rename, archive, restore or delete a project; rename and merge its labels (admins).

Every change is one call into the library (`store.manage`, `model_files.delete_project`); a delete asks to
be confirmed first. Who works on each project is set on the People page.
"""

import pandas as pd
import streamlit as st

import ui
from labelling import LabellingError
from labelling.learning import model_files

NOTICE = "projects_notice"
CONFIRM_DELETE = "confirm_delete"

store = ui.store()
me = ui.page_user(store, admin=True)
project = ui.project_picker(store)
st.title("Projects")


def _done(message: str, kind: str = "success") -> None:
    st.session_state[NOTICE] = (kind, message)


@ui.guarded
def _change(action, message: str, *args) -> bool:
    """Run a change from a callback; what it did, or why it was refused, is shown above the page. True if done."""
    try:
        action(*args)
    except LabellingError as error:
        _done(ui.refusal(error), "error")
        return False
    _done(message)
    return True


def _rename(project_id: int, name_now: str) -> None:
    """A refused name goes back to the project's own, so the box never shows a name the project does not have."""
    key = f"name-{project_id}"
    name = st.session_state.get(key, "")
    if not _change(store.manage.rename, f"Renamed to **{ui.literal(name)}**.", project_id, name):
        st.session_state[key] = name_now


def _delete(project_id: int, name: str) -> None:
    st.session_state.pop(CONFIRM_DELETE, None)
    _change(model_files.delete_project, f"Deleted **{ui.literal(name)}** and everything of it.", store, project_id)


def _relabel(project_id: int, merge: bool) -> None:
    kind = "merge" if merge else "rename"
    old, new = st.session_state.get(f"{kind}-old"), st.session_state.get(f"{kind}-new", "")
    action = store.manage.merge_labels if merge else store.manage.rename_label
    said = f"Merged **{ui.literal(old)}** into" if merge else f"Renamed **{ui.literal(old)}** to"
    _change(action, f"{said} **{ui.literal(new)}**.", project_id, old, new, me.name)


if notice := st.session_state.pop(NOTICE, None):
    (st.success if notice[0] == "success" else st.error)(notice[1])
if project is None:
    st.info("There is no project yet.")
    st.stop()

st.caption("Archived projects are hidden from labellers and read-only until restored. Who works on a project: People page.")
with ui.database_guard():
    projects = store.projects()
    counts = {p.id: ui.progress(store, p.id) for p in projects}
for each in projects:
    with st.container(border=True, key=f"project-{each.id}"):
        count = counts[each.id]
        state = "archived" if each.archived else "in use"
        st.markdown(
            f"**{ui.literal(each.name)}** · {state} · {count.total:,} items · {count.annotations:,} labels"
        )
        row = st.container(horizontal=True, vertical_alignment="bottom")
        row.text_input("Name", value=each.name, key=f"name-{each.id}", label_visibility="collapsed")
        row.button("Rename", key=f"rename-{each.id}", on_click=_rename, args=(each.id, each.name), icon=":material/edit:")
        if each.archived:
            restore = (store.manage.restore, f"Restored **{ui.literal(each.name)}**.", each.id)
            row.button("Restore", key=f"restore-{each.id}", on_click=_change, args=restore, icon=":material/unarchive:")
        else:
            archive = (store.manage.archive, f"Archived **{ui.literal(each.name)}**.", each.id)
            row.button("Archive", key=f"archive-{each.id}", on_click=_change, args=archive, icon=":material/archive:")
        row.button(
            "Delete…",
            key=f"delete-{each.id}",
            on_click=lambda project_id=each.id: st.session_state.update({CONFIRM_DELETE: project_id}),
            icon=":material/delete:",
        )
        if st.session_state.get(CONFIRM_DELETE) == each.id:
            st.warning(
                f"Delete **{ui.literal(each.name)}** with its {count.total:,} items and {count.annotations:,} labels "
                "for good? This cannot be undone; Archive keeps them.",
                icon=":material/warning:",
            )
            confirm = st.container(horizontal=True)
            confirm.button(
                "Delete for good", key=f"confirm-delete-{each.id}", type="primary", on_click=_delete, args=(each.id, each.name)
            )
            confirm.button("Cancel", key=f"cancel-delete-{each.id}", on_click=lambda: st.session_state.pop(CONFIRM_DELETE, None))

st.subheader(f"Labels of {ui.literal(project.name)}")
st.caption(
    "Every label given, reviewed, gold or predicted is changed at once; each label's value before is kept in the "
    "history. Pick another project in the sidebar."
)
rename, merge = st.columns(2)
with rename.container(border=True):
    st.selectbox("Rename the label", project.labels, key="rename-old")
    st.text_input("to", key="rename-new")
    st.button("Rename label", key="rename-label", on_click=_relabel, args=(project.id, False), disabled=project.archived)
with merge.container(border=True):
    st.selectbox("Merge the label", project.labels, key="merge-old")
    st.selectbox("into", project.labels, index=min(1, len(project.labels) - 1), key="merge-new")
    st.button("Merge labels", key="merge-labels", on_click=_relabel, args=(project.id, True), disabled=project.archived)
with ui.database_guard():
    history = store.manage.label_history(project.id)
if history:
    st.dataframe(
        pd.DataFrame(
            {
                "when": [pd.Timestamp(c.created_at, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M") for c in history],
                "change": [c.kind for c in history],
                "from": [c.old_label for c in history],
                "to": [c.new_label for c in history],
                "labels changed": [c.annotations for c in history],
                "by": [c.changed_by for c in history],
            }
        ),
        hide_index=True,
    )
