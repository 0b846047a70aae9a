"""People: invite labellers (each gets a secret link), see how much they labelled, revoke a link."""

import streamlit as st

import ui
from labelling import LabellingError, people
from labelling.text import counted

URL_PATH = "people"
DEFAULT_ROLE = "labeller"
NEW_INVITE = "new_invite"

store = ui.store()
ui.page_user(store, admin=True)

st.title("People")


def _invite(name: str, token: str) -> None:
    st.session_state[NEW_INVITE] = (name, ui.invite_link(token, URL_PATH))


with st.form("add-person", clear_on_submit=True, border=True):
    st.markdown("**Invite someone**")
    name = st.text_input("Name", placeholder="e.g. alice", help="Their labels are recorded under this name.")
    role = st.selectbox(
        "Role",
        people.ROLES,
        index=people.ROLES.index(DEFAULT_ROLE),
        help="Admins see every page; reviewers label and review disagreements; labellers only label and see "
        "their own stats.",
    )
    added = st.form_submit_button("Add and make invite link", type="primary", icon=":material/person_add:")
if added:
    try:
        with ui.database_guard():
            person, token = store.people.add(name, role)
    except LabellingError as error:
        st.error(ui.refusal(error))
    else:
        _invite(person.name, token)

invite = st.session_state.get(NEW_INVITE)
if invite:
    with st.container(border=True, key="invite"):
        st.success(
            f"Invite link for **{ui.literal(invite[0])}**: send it to them privately. It is shown only now; "
            "anyone with the link signs in as them.",
            icon=":material/link:",
        )
        st.code(invite[1], language=None, wrap_lines=True)
        st.button("Done", key="invite-done", on_click=lambda: st.session_state.pop(NEW_INVITE, None))


@ui.guarded
def _revoke(name: str) -> None:
    try:
        store.people.revoke(name)
    except LabellingError as error:
        st.session_state["people_error"] = ui.refusal(error)


@ui.guarded
def _set_role(name: str, person_id: int) -> None:
    chosen = st.session_state.pop(f"role-{person_id}")  # the select shows the stored role, saved or not
    try:
        store.people.set_role(name, chosen)
    except LabellingError as error:
        st.session_state["people_error"] = ui.refusal(error)


@ui.guarded
def _new_link(name: str) -> None:
    try:
        _invite(name, store.people.new_token(name))
    except LabellingError as error:
        st.session_state["people_error"] = ui.refusal(error)


if problem := st.session_state.pop("people_error", None):
    st.error(problem)

st.subheader("Everyone")
with ui.database_guard():
    everyone = store.people.all()
    counts = store.people.label_counts()
if not everyone:
    st.caption("Nobody yet. Add a labeller above; you label as **admin**.")
for person in everyone:
    with st.container(border=True, key=f"person-{person.id}"):
        left, middle, right = st.columns([3, 2, 2], vertical_alignment="center")
        status = "link active" if person.active else "link revoked" if person.invited else "no invite link"
        left.markdown(f"**{ui.literal(person.name)}**  \n{person.role} · {status}")
        count = counts.get(person.name, 0)
        middle.markdown(counted(count, 'label'))
        if person.name not in people.RESERVED_NAMES:
            middle.selectbox(
                "Role",
                people.ROLES,
                index=people.ROLES.index(person.role),
                key=f"role-{person.id}",
                on_change=_set_role,
                args=(person.name, person.id),
                label_visibility="collapsed",
            )
        if person.name in people.RESERVED_NAMES:
            right.caption("signs in with the admin password")
        elif person.active:
            right.button(
                "Revoke link",
                key=f"revoke-{person.id}",
                on_click=_revoke,
                args=(person.name,),
                icon=":material/link_off:",
            )
        else:
            right.button(
                "New link", key=f"relink-{person.id}", on_click=_new_link, args=(person.name,), icon=":material/link:"
            )


@ui.guarded
def _set_members(project_id: int) -> None:
    chosen = st.session_state.pop(f"members-{project_id}")  # the select shows the stored members, saved or not
    try:
        store.access.set_members(project_id, chosen)
    except LabellingError as error:
        st.session_state["people_error"] = ui.refusal(error)


st.subheader("Who works on which project")
st.caption(
    "A project nobody is assigned to is open to every labeller. Once you assign people, only they (and admins) "
    "see it and receive its items."
)
with ui.database_guard():
    projects = store.projects()
    members = {project.id: store.access.members(project.id) for project in projects}
assignable = [person.name for person in everyone if person.role != "admin" and person.name not in people.RESERVED_NAMES]
if not projects:
    st.caption("No projects yet.")
for project in projects:
    st.multiselect(
        ui.literal(project.name) + (" (archived)" if project.archived else ""),
        assignable,
        default=[name for name in members[project.id] if name in assignable],
        key=f"members-{project.id}",
        on_change=_set_members,
        args=(project.id,),
        placeholder="Everyone",
    )
