"""The few exceptions the library raises; each message names the problem so a page can show it as is."""

from __future__ import annotations


class LabellingError(Exception):
    """Base class: anything the library refuses, with a message fit for the person who asked."""


class InvalidInput(LabellingError, ValueError):
    """The input was rejected before anything was written (empty data, bad labels, bad shapes)."""


class UnsupportedData(InvalidInput, TypeError):
    """An item's value has a type the store cannot keep exactly."""


class DuplicateProject(LabellingError):
    """A project with this name exists already; project names are unique."""


class ProjectNotFound(LabellingError, LookupError):
    """No project with this id or name."""


class ItemNotFound(LabellingError, LookupError):
    """No item with this id in this project."""


class LeaseLost(LabellingError):
    """The item was handed to another labeller after my lease expired; my label was not recorded."""


class DatabaseUnavailable(LabellingError, ConnectionError):
    """The database did not answer (refused, lost or restarting); nothing of this call was written. Try again."""

    def __init__(self, message: str = "", *, retry_safe: bool = False):
        super().__init__(message)
        self.retry_safe = retry_safe
        """Nothing of the transaction took effect, for sure: its connection was found dead before it began
        on the server, or the server rolled it back whole (a deadlock or serialization failure). It may be
        run again."""


class SchemaNotUpgradable(LabellingError):
    """The database's schema cannot be brought up to date (e.g. a newer version of the app migrated it)."""


class NotAReviewer(LabellingError, PermissionError):
    """Only reviewers and admins may set final labels or send items back to the queue."""


class NotOnProject(LabellingError, PermissionError):
    """The labeller is not assigned to this project (an admin assigns people to projects on the People page)."""


class ProjectArchived(LabellingError):
    """The project is archived: read-only until an admin restores it."""


class DuplicateLabeller(LabellingError):
    """Someone with this name exists already; names are unique because labels are recorded by name."""


class LabellerNotFound(LabellingError, LookupError):
    """Nobody with this name."""


class NotTrainable(InvalidInput):
    """Models are trained for classification and span projects; a box project is labelled without one (its
    queue can follow predictions imported from a model of your own)."""


class TrainingBusy(LabellingError):
    """Another process is training this project now (it holds the project's trainer lease)."""


class TrainingInterrupted(LabellingError):
    """This run lost its trainer lease (it stalled past its expiry and another run took over); it wrote nothing."""


class ModelUnavailable(LabellingError):
    """A model named in a project's settings or on the worker's command line cannot be made here: not
    registered, its factory's module or name not found, or the factory raised."""


class ImageUnavailable(Exception):
    """An image could not be read (unreachable URL, missing file, not an image)."""


class DatabaseAway(Exception):
    """The database cannot be reached (or its SQLite file is missing); the worker waits and retries."""
