"""Entry point (`streamlit run streamlit_app.py`): sign the person in, then show only the pages their role may use.

Pages a role may not use are left out of the navigation, so their URLs do not exist for that session.
The sidebar links are drawn by `ui.auth.sidebar` and Streamlit's own page menu is hidden
(`client.showSidebarNavigation = false`), so that the menu Streamlit builds from the pages/ folder on a
fresh process's first run (its v1 fallback, see `ui.auth.page_user`) never shows.
"""

import streamlit as st

import ui
from labelling import people

st.set_page_config(page_title="Labelling", page_icon=":material/label:", layout="centered")

store = ui.store()
user = ui.current_user(store)

if user is None:
    st.navigation([st.Page(ui.sign_in_page, title="Sign in", url_path="sign-in")], position="hidden").run()
else:
    with ui.database_guard():  # a database outage shows a message and a retry, not a traceback
        label = st.Page("pages/label.py", title="Label", icon=":material/label:", url_path="label")
        progress = st.Page("pages/progress.py", title="Progress", icon=":material/monitoring:", url_path="progress")
        review = st.Page("pages/review.py", title="Review", icon=":material/rate_review:", url_path="review")
        if user.is_admin:
            if user.via == "local":
                ui.demo_on_first_start(store)
            first_start = not store.projects()  # nothing to label yet: open on Setup, with its demo projects
            pages = [
                label,
                progress,
                review,
                st.Page(
                    "pages/setup.py",
                    title="Setup",
                    icon=":material/upload_file:",
                    url_path="setup",
                    default=first_start,
                ),
                st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
                st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="export"),
                st.Page("pages/people.py", title="People", icon=":material/group:", url_path="people"),
            ]
        elif user.role in people.REVIEW_ROLES:
            pages = [label, progress, review]
        else:
            pages = [label, progress]
        page = st.navigation(pages, position="hidden")
        ui.sidebar(user, pages)
        if user.via == "local":
            ui.local_mode_banner()
        ui.mark_routed()
        page.run()
