"""Entry point (`streamlit run streamlit_app.py`): sign the person in, then show the pages their role may use.

Every page keeps one address whoever opens it (`/label`, `/setup`, ...; `/` is Label, or Setup on a first
start): signed out, each address shows the sign-in and, once signed in, the page it names; a page the role
may not use says whom it is for. Only the pages a role may use are in the sidebar and run their script.
The sidebar links are drawn by `ui.auth.sidebar` and Streamlit's own page menu is hidden
(`client.showSidebarNavigation = false`), so that the menu Streamlit builds from the pages/ folder on a
fresh process's first run (its v1 fallback, see `ui.auth.page_user`) never shows.
"""

import streamlit as st

import ui
from labelling import people

st.set_page_config(page_title=ui.PRODUCT, page_icon=":material/label:", layout="centered")

ADMINS = ("admin",)
PAGES = {  # url path: (script, title, icon, roles that may use it)
    "label": ("pages/label.py", "Label", ":material/label:", people.ROLES),
    "progress": ("pages/progress.py", "Progress", ":material/monitoring:", people.ROLES),
    "review": ("pages/review.py", "Review", ":material/rate_review:", people.REVIEW_ROLES),
    "setup": ("pages/setup.py", "Setup", ":material/upload_file:", ADMINS),
    "train": ("pages/train.py", "Train", ":material/model_training:", ADMINS),
    "export": ("pages/export.py", "Export", ":material/download:", ADMINS),
    "people": ("pages/people.py", "People", ":material/group:", ADMINS),
    "projects": ("pages/projects.py", "Projects", ":material/folder_managed:", ADMINS),
}


def refusal(roles: tuple[str, ...]):
    return lambda: ui.not_for_you(roles)


store = ui.store()
user = ui.current_user(store)
ui.keep_session()

if user is None:
    sign_in = [st.Page(ui.sign_in_page, title="Sign in", url_path="", default=True)]
    sign_in += [st.Page(ui.sign_in_page, title="Sign in", url_path=path) for path in [*PAGES, "sign-in"]]
    st.navigation(sign_in, position="hidden").run()
else:
    with ui.database_guard():  # a database outage shows a message and a retry, not a traceback
        if user.is_admin and user.via == "local":
            ui.demo_on_first_start(store)
        # First start (nothing to label yet): Setup is the default page, so "/" opens it and a session on it
        # stays there once a project exists. Otherwise Label is at "/" and at "/label" both.
        first_start = user.is_admin and not store.projects()
        allowed, hidden = [], []
        for path, (script, title, icon, roles) in PAGES.items():
            if user.role in roles:
                default = first_start and path == "setup"
                allowed.append(st.Page(script, title=title, icon=icon, url_path=path, default=default))
            else:
                hidden.append(st.Page(refusal(roles), title=title, url_path=path, visibility="hidden"))
        if not first_start:
            script, title, icon, _ = PAGES["label"]
            hidden.append(st.Page(script, title=title, icon=icon, url_path="", default=True, visibility="hidden"))
        page = st.navigation([*allowed, *hidden], position="hidden")
        ui.sidebar(user, allowed)
        if user.via == "local":
            ui.local_mode_banner()
        ui.mark_routed()
        page.run()
