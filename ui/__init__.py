"""The Streamlit side shared by the pages, one concern per module; nothing in `labelling/` imports it.

    resources  the settings, the cached store, the embedded worker, the gc freeze, the warm-up at server start
    guard      the database-outage message and retry (catches `labelling.DatabaseUnavailable`)
    auth       who is signed in (invite token, admin password, local mode), sign-in and sign-out
    projects   the sidebar's project picker, a page's project heading, the first start's demo project, and
               select boxes handing the keys back to the page
    items      showing an item (text, image, table) or why it cannot be, markdown escaping, label shortcuts and
               the line listing the keys
    annotate   the box and span editors (Label, Setup, Review): `from ui import annotate`
    problems   "Report a problem with this item", and the reviewers' list of reported and unreadable items
    history    the Label page's "My recent items", each reopenable
    files      the Setup page's files of other tools: an annotation file (a project, or labels or predictions of its items), a model's predictions
    figures    the cached progress counts, annotations and agreement figures, and the Export page's check of files
    charts     charts drawn from Vega-Lite specs of our own (the Train page's learning curve)
    uploads    the upload limit, and which sessions may upload at all (the gate `server.py` puts in front)

Pages use the names below (`ui.store()`, `ui.page_user(...)`); the CSV setup steps themselves are
`labelling.setup.csv_import`, shared with the command line.
"""

from ui.auth import (
    PRODUCT,
    User,
    current_user,
    invite_link,
    keep_session,
    local_mode_banner,
    mark_routed,
    not_for_you,
    page_user,
    sidebar,
    sign_in_page,
    still_signed_in,
)
from ui.charts import learning_curve
from ui.figures import STATS_TTL_SECONDS, agreement, annotations, export_refusals, progress, refresh_figures
from ui.guard import CLICK_NOT_SAVED, DATABASE_DOWN, database_guard, guarded, refusal
from ui.files import annotation_file_upload, predictions_upload
from ui.history import my_history
from ui.items import image_array, keyboard_help, label_shortcuts, literal, show_item
from ui.problems import problem_list, report_problem
from ui.projects import demo_on_first_start, page_project, project_picker, select_project
from ui.resources import settings, store
from ui.uploads import check_upload_size

__all__ = [
    "CLICK_NOT_SAVED",
    "DATABASE_DOWN",
    "PRODUCT",
    "STATS_TTL_SECONDS",
    "User",
    "agreement",
    "annotation_file_upload",
    "annotations",
    "check_upload_size",
    "current_user",
    "database_guard",
    "demo_on_first_start",
    "export_refusals",
    "guarded",
    "image_array",
    "invite_link",
    "keep_session",
    "keyboard_help",
    "label_shortcuts",
    "learning_curve",
    "literal",
    "local_mode_banner",
    "mark_routed",
    "my_history",
    "not_for_you",
    "page_project",
    "page_user",
    "predictions_upload",
    "problem_list",
    "progress",
    "project_picker",
    "refresh_figures",
    "refusal",
    "report_problem",
    "select_project",
    "settings",
    "show_item",
    "sidebar",
    "sign_in_page",
    "still_signed_in",
    "store",
]
