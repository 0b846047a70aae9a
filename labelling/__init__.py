"""Multi-user labelling and active learning on a SQL database; scriptable without Streamlit.

    from labelling import Store
    store = Store.connect()            # $DATABASE_URL, else sqlite:///labelling.db
"""

from labelling.errors import (
    DatabaseUnavailable,
    DuplicateLabeller,
    DuplicateProject,
    InvalidInput,
    ItemNotFound,
    LabellerNotFound,
    LabellingError,
    LeaseLost,
    NotAReviewer,
    ProjectNotFound,
    UnsupportedData,
)
from labelling.records import (
    Annotation,
    Box,
    Boxes,
    Item,
    LabellerProgress,
    Progress,
    Project,
    ProjectSettings,
    Span,
    Spans,
    Task,
)
from labelling.storage.store import Store

__all__ = [
    "Annotation",
    "Box",
    "Boxes",
    "DatabaseUnavailable",
    "DuplicateLabeller",
    "DuplicateProject",
    "InvalidInput",
    "Item",
    "ItemNotFound",
    "LabellerNotFound",
    "LabellerProgress",
    "LabellingError",
    "LeaseLost",
    "NotAReviewer",
    "Progress",
    "Project",
    "ProjectNotFound",
    "ProjectSettings",
    "Span",
    "Spans",
    "Store",
    "Task",
    "UnsupportedData",
]
