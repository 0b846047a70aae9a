"""The declared schema (SQLAlchemy Core). Alembic migrations must produce exactly this; a test checks it.

Times are seconds since the epoch (double precision) read from the database's clock, so that leases
expire by one clock however many app servers and workers there are.

The queue is a table of *tasks*: one row per item and per labeller slot (a project with overlap k has k
tasks per item). A labeller claims a task, never an item, so overlap needs no counting under locks: the
claim only has to lock one row, and an expired lease sits in that same row for the next claimer.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Double, ForeignKey, Index, Integer, LargeBinary, MetaData, String
from sqlalchemy import Table, Text, text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids for a million-item queue.
BigId = BigInteger().with_variant(Integer(), "sqlite")

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("labels", Text, nullable=False),  # JSON list of label names, in display order
    Column("multi_label", Boolean, nullable=False, server_default=text("false")),
    Column("overlap", Integer, nullable=False, server_default=text("1")),
    Column("instructions", Text, nullable=False, server_default=""),
    Column("settings", Text, nullable=False, server_default="{}"),  # JSON: display and model columns
    Column("created_at", Double, nullable=False),
    Column("archived_at", Double, nullable=True),  # revision 0007: archived (hidden, read-only) since
)

labellers = Table(
    "labellers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False, server_default="labeller"),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("revoked_at", Double, nullable=True),
    Column("created_at", Double, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("data", Text, nullable=False),  # labelling.io.serialisation encoding
    Column("created_at", Double, nullable=False),
    Index(None, "project_id", "id"),
)


def _item_row_columns() -> list[Column]:
    """The columns that open a row about one item of a project (a task, a label, a skip, a review): its own
    id, and the project and item it belongs to. New Column objects on each call: a Column has one table."""
    return [
        Column("id", BigId, primary_key=True),
        Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    ]


def _unique_where(name: str, *columns: Column, postgresql: str, sqlite: str | None = None) -> Index:
    """A unique index over the rows a predicate keeps, the predicate written per dialect exactly as the
    queries' conditions render (`sqlite` only where it differs from `postgresql`)."""
    return Index(
        name,
        *columns,
        unique=True,
        postgresql_where=text(postgresql),
        sqlite_where=text(postgresql if sqlite is None else sqlite),
    )


tasks = Table(
    "tasks",
    metadata,
    *_item_row_columns(),
    Column("priority", Double, nullable=False, server_default=text("0")),
    Column("started", Boolean, nullable=False, server_default=text("false")),  # item has >= 1 label
    Column("done", Boolean, nullable=False, server_default=text("false")),
    Column("labeller_id", ForeignKey("labellers.id"), nullable=True),  # holder, or who completed it
    Column("leased_at", Double, nullable=True),
    Column("lease_expires_at", Double, nullable=True),
)
# Partial-index predicates are written per dialect exactly as SQLAlchemy renders the queries' conditions
# (SQLite has no boolean type: `NOT done` is `done = 0` there), or the planners would not use them.
# The claim walks this index from the top: partly labelled items first, then priority, then insertion.
# item_id rides along so the claim's "not mine already" probe and the open-items count skip the heap.
Index(
    "ix_tasks_claim",
    tasks.c.project_id,
    tasks.c.started.desc(),
    tasks.c.priority.desc(),
    tasks.c.id,
    tasks.c.item_id,
    postgresql_where=text("NOT done"),
    sqlite_where=text("done = 0"),
)
# Finds a labeller's live lease, and counts a project's, without scanning: only leased tasks are in it.
Index(
    "ix_tasks_lease",
    tasks.c.project_id,
    tasks.c.labeller_id,
    postgresql_where=text("lease_expires_at IS NOT NULL"),
    sqlite_where=text("lease_expires_at IS NOT NULL"),
)

# A labeller holds or has done at most one task per item: nobody can label the same item twice (open tasks'
# NULL labeller ids never collide). It is also the tasks' item_id index, and over every task on purpose
# (revision 0009): as big as the queue, the planner never reads it whole for one labeller's id.
Index("uq_tasks_labeller_item", tasks.c.item_id, tasks.c.labeller_id, unique=True)


annotations = Table(
    "annotations",
    metadata,
    *_item_row_columns(),
    Column("labeller_id", ForeignKey("labellers.id"), nullable=False),
    Column("label", Text, nullable=False),  # JSON: a str, or a list for multi-label projects
    Column("created_at", Double, nullable=False),
    Column("seconds", Double, nullable=True),  # time from hand-out to label; None for imported labels
    Column("is_current", Boolean, nullable=False, server_default=text("true")),  # False once superseded
    Column("source", String(20), nullable=False, server_default="label"),  # label | import
    Index(None, "project_id", "labeller_id", "id"),
    Index(None, "project_id", "created_at"),
    Index(None, "item_id"),  # revision 0007: deleting an item (its project) finds its labels without a scan
)
# Append-only history, but one current label per labeller and item: a double submit cannot add a second.
_unique_where(
    "uq_annotations_current",
    annotations.c.item_id,
    annotations.c.labeller_id,
    postgresql="is_current",
    sqlite="is_current = 1",
)

skips = Table(
    "skips",
    metadata,
    *_item_row_columns(),
    Column("labeller_id", ForeignKey("labellers.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("seconds", Double, nullable=True),
    Index(None, "item_id", "labeller_id"),
    Index(None, "project_id", "labeller_id"),
)

# Active learning (revision 0002). A run is filed `queued` (Retrain now) or made `running` by a worker,
# and ends `finished` or `failed`; its figures are JSON text so that any database can hold them.
training_runs = Table(
    "training_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(20), nullable=False, server_default="queued"),  # queued|running|finished|failed
    Column("trigger", String(20), nullable=False, server_default="request"),  # request|labels|schedule|script
    Column("requested_at", Double, nullable=False),
    Column("started_at", Double, nullable=True),
    Column("finished_at", Double, nullable=True),
    Column("progress", Double, nullable=False, server_default=text("0")),  # 0..1 while running
    Column("n_labels", Integer, nullable=True),  # labelled items the model learnt from
    Column("strategy", String(40), nullable=True),
    Column("model", Text, nullable=True),  # a description of the estimator
    Column("scores", Text, nullable=True),  # JSON: cv accuracy, macro-F1, per-class recall, confusion matrix
    Column("label_counts", Text, nullable=True),  # JSON: label -> labelled items
    Column("duration", Double, nullable=True),  # seconds from start to finish
    Column("note", Text, nullable=True),  # why the order was kept (cold start), images that were skipped
    Column("error", Text, nullable=True),  # a failed run's message
    # How far to trust the model (revision 0005; labelling.learning.assessment): accuracy on items the queue
    # chose at random, held out of fold, and (progressive) the suggestions they had when handed out, each
    # with a Wilson interval and its count; the calibration error after and before temperature scaling;
    # Cohen's kappa between this run's and the previous run's predictions on the stop set.
    Column("honest_accuracy", Double, nullable=True),
    Column("honest_low", Double, nullable=True),
    Column("honest_high", Double, nullable=True),
    Column("honest_n", Integer, nullable=True),
    Column("progressive_accuracy", Double, nullable=True),
    Column("progressive_low", Double, nullable=True),
    Column("progressive_high", Double, nullable=True),
    Column("progressive_n", Integer, nullable=True),
    Column("ece", Double, nullable=True),
    Column("ece_uncalibrated", Double, nullable=True),
    Column("temperature", Double, nullable=True),
    Column("stability_kappa", Double, nullable=True),
    Index(None, "project_id", "id"),
)
# At most one waiting request per project: pressing Retrain now twice files one run.
_unique_where("uq_training_runs_queued", training_runs.c.project_id, postgresql="status = 'queued'")

# One training per project at a time, across processes and replicas; a dead worker's lease expires.
trainer_leases = Table(
    "trainer_leases",
    metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Double, nullable=False),
)

# The latest model's suggestion per open item, replaced in bulk by each run.
predictions = Table(
    "predictions",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("label", Text, nullable=False),  # JSON, as annotations.label
    Column("probability", Double, nullable=False),
    Column("run_id", Integer, nullable=False),
    # The item's queue place came from the run's random share (revision 0005): its label will test the model.
    Column("random_pick", Boolean, nullable=False, server_default=text("false")),
    Index(None, "project_id", "item_id"),
)

# Quality control (revision 0003). A gold item has a known label: it leaves the shared queue and is handed
# to every labeller at the project's gold rate (settings["gold_rate"]) to measure their accuracy.
gold_items = Table(
    "gold_items",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("label", Text, nullable=False),  # JSON, as annotations.label: the known truth
    Column("created_at", Double, nullable=False),
    Index(None, "project_id", "item_id"),
)

# What reviewers did: `adjudicate` sets an item's final label (the current one wins over the majority),
# `requeue` sent the item back for new labels. Append-only; a later action makes earlier ones not current.
reviews = Table(
    "reviews",
    metadata,
    *_item_row_columns(),
    Column("reviewer_id", ForeignKey("labellers.id"), nullable=False),
    Column("action", String(20), nullable=False),  # adjudicate | requeue
    Column("label", Text, nullable=True),  # JSON final label for adjudicate, None for requeue
    Column("is_current", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Double, nullable=False),
    Index(None, "project_id", "item_id"),
    Index(None, "item_id"),  # revision 0007: as annotations'
)
# At most one final label per item.
_unique_where("uq_reviews_current", reviews.c.item_id, postgresql="is_current", sqlite="is_current = 1")

# Sentence embeddings (revision 0004). One row per item, text column (`feature`; "" for an item that is
# itself the text) and model. A worker claims the row first (vector NULL, `holder` until `expires_at`), then
# fills in the vector, float32 bytes: computed once, read by every run. A dead worker's claims expire and
# are taken again; a row with a vector is never claimed again.
embeddings = Table(
    "embeddings",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("feature", String(200), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("dim", Integer, nullable=True),
    Column("vector", LargeBinary, nullable=True),  # dim float32 values, little-endian; NULL while claimed
    Column("holder", Text, nullable=True),  # the claiming worker, until the vector is stored
    Column("expires_at", Double, nullable=True),
    Index(None, "project_id", "feature", "model"),
)

# The honest score (revision 0005). Labelled items whose queue place was random (the cold-start order, or
# a run's random share), kept with the suggestion they had when handed out (None before any model).
random_picks = Table(
    "random_picks",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", Integer, nullable=True),  # the run whose order placed it; None for the cold-start order
    Column("label", Text, nullable=True),  # JSON suggestion at hand-out, as predictions.label
    Column("probability", Double, nullable=True),
    Index(None, "project_id", "item_id"),
)

# When to stop: the latest trained run's predictions on the project's stop set (a fixed sample of items);
# the next run compares its own with them.
stop_predictions = Table(
    "stop_predictions",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("label", Text, nullable=False),  # JSON, as predictions.label
    Index(None, "project_id", "item_id"),
)

# Likely label errors found by the latest trained run (confident learning), likeliest first.
label_issues = Table(
    "label_issues",
    metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("rank", Integer, nullable=False),  # 0 = the likeliest error
    Column("given", Text, nullable=False),  # JSON: the label the item has
    Column("alternative", Text, nullable=False),  # JSON: the label the model is confident of instead
    Column("given_probability", Double, nullable=False),
    Column("alternative_probability", Double, nullable=False),
    Index(None, "project_id", "rank"),
)

# Item problems (revision 0006): a labeller's report ("the image does not load") or the worker's finding
# that an item's image cannot be read. Listed for reviewers and admins until resolved: `excluded` (its open
# tasks left the queue, and no overlap change brings them back), `fixed` (its value was edited), or
# `dismissed`; a deleted item takes its problems with it.
item_problems = Table(
    "item_problems",
    metadata,
    *_item_row_columns(),
    Column("kind", String(20), nullable=False),  # report | unreadable
    Column("comment", Text, nullable=False, server_default=""),
    Column("reporter_id", ForeignKey("labellers.id"), nullable=True),  # None: the worker
    Column("created_at", Double, nullable=False),
    Column("resolution", String(20), nullable=True),  # excluded | fixed | dismissed; None: open
    Column("resolver_id", ForeignKey("labellers.id"), nullable=True),
    Column("resolved_at", Double, nullable=True),
    Index(None, "project_id", "item_id"),
    Index(None, "item_id"),
)

# Label versions (revision 0007), "the labels as of Friday": a version_labels row is valid from the version that
# first had it until the one that changed or dropped it (exclusive; NULL: the newest): a save writes only changes.
label_versions = Table(
    "label_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_by", ForeignKey("labellers.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("n_items", Integer, nullable=False),  # items with a final label (or a tie) in the version
    Index(None, "project_id", "name", unique=True),
)

version_labels = Table(
    "version_labels",
    metadata,
    *_item_row_columns(),
    Column("label", Text, nullable=True),  # JSON, as annotations.label; NULL on a tie
    Column("source", String(20), nullable=False),  # labelling.quality.consensus.SOURCES
    Column("votes", Integer, nullable=False),
    Column("reviewer", String(200), nullable=True),
    Column("from_version", ForeignKey("label_versions.id", ondelete="CASCADE"), nullable=False),
    Column("until_version", Integer, nullable=True),
    Index(None, "project_id", "until_version"),
    Index(None, "item_id"),
    Index(None, "from_version"),
)

# Who works on a project (revision 0008); a project with no members is open to every labeller.
project_members = Table(
    "project_members",
    metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("labeller_id", ForeignKey("labellers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", Double, nullable=False),
    Index(None, "labeller_id"),
)

# Label renames and merges (revision 0008): labels are rewritten where used; each annotation's label before the
# change is kept (`label_change_rows`), so no label given is lost (`Store.manage.label_history`).
label_changes = Table(
    "label_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # rename | merge
    Column("old_label", Text, nullable=False),
    Column("new_label", Text, nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("created_at", Double, nullable=False),
    Index(None, "project_id", "id"),
)

label_change_rows = Table(
    "label_change_rows",
    metadata,
    Column("change_id", ForeignKey("label_changes.id", ondelete="CASCADE"), primary_key=True),
    Column("annotation_id", ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True),
    Column("previous", Text, nullable=False),  # JSON, as annotations.label, before the change
    Index(None, "annotation_id"),
)
