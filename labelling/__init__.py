"""Multi-user labelling and active learning on a SQL database; scriptable without Streamlit.

    from labelling import Store
    store = Store.connect()            # $DATABASE_URL, else sqlite:///labelling.db
"""

from labelling.errors import (
    DatabaseUnavailable,
    DuplicateProject,
    InvalidInput,
    ItemNotFound,
    LabellingError,
    LeaseLost,
    ProjectNotFound,
    UnsupportedData,
)
from labelling.records import Annotation, Item, LabellerProgress, Progress, Project
from labelling.storage.store import Store

__all__ = [
    "Annotation",
    "DatabaseUnavailable",
    "DuplicateProject",
    "InvalidInput",
    "Item",
    "ItemNotFound",
    "LabellerProgress",
    "LabellingError",
    "LeaseLost",
    "Progress",
    "Project",
    "ProjectNotFound",
    "Store",
    "UnsupportedData",
]
