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
    NotOnProject,
    ProjectArchived,
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
    "NotOnProject",
    "Progress",
    "Project",
    "ProjectArchived",
    "ProjectNotFound",
    "ProjectSettings",
    "Span",
    "Spans",
    "Store",
    "Task",
    "UnsupportedData",
]
