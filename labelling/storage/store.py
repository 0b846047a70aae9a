"""`Store`: the library's one public entry point, for pages, the worker, scripts and notebooks alike.

Each call is one short transaction on the store's engine. Inputs are validated before anything is written.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, select

from labelling.io import labels as label_values
from labelling.errors import InvalidInput
from labelling.people import IMPORT_NAME
from labelling.quality.agreement import Agreement
from labelling.records import Annotation, Item, Label, Progress, Project
from labelling.storage import curation, exports, gold, history, items, queue, reports, review, versions, votes, wakeups
from labelling.storage import projects as project_rows
from labelling.storage.item_labels import ItemLabels, label_of_item
from labelling.storage.embeddings import Embeddings
from labelling.storage.engine import make_engine, migrate, read, retry_once_when_safe, write
from labelling.storage.held import HeldConnections
from labelling.storage.overlap import change_overlap, lock_project
from labelling.storage.people import People
from labelling.storage.access import Access
from labelling.storage.assessment import Assessment
from labelling.storage.model_data import ModelData
from labelling.storage.problems import Problems
from labelling.storage.project_admin import ProjectAdmin
from labelling.storage.runs import Runs, TrainingRun, check_trainable
from labelling.storage.schema import projects

__all__ = ["DEFAULT_LEASE_SECONDS", "Store"]

DEFAULT_LEASE_SECONDS = 600
PROJECT_CACHE_SECONDS = 5.0

T = TypeVar("T")


class Store:
    """Projects, items, the labelling queue and its reports, in one SQL database."""

    def __init__(self, engine: Engine, rng: random.Random | None = None):
        self.engine = engine
        self.rng = rng if rng is not None else random.Random()
        """Draws gold hand-outs; seed it (`random.Random(7)`) for a repeatable stream."""
        self._projects: dict[int, tuple[float, Project]] = {}
        self._labellers: dict[str, queue.Labeller] = {}
        self._notifier = wakeups.Notifier()
        self._held = HeldConnections(engine)  # the labelling calls' connections, kept between calls
        # The repositories, one concern each (docs/architecture.md names what each owns):
        self.people = People(engine)  # labellers, roles and invite tokens
        self.runs = Runs(engine)  # training runs and trainer leases (`labelling.learning` trains through it)
        self.model_data = ModelData(engine)  # what training reads (labelled items, the open queue) and writes
        self.embeddings = Embeddings(engine)  # stored sentence embeddings, and claims splitting their computation
        self.assessment = Assessment(engine)  # how far to trust the model: random picks, stop set, labels to check
        self.problems = Problems(engine)  # labellers' reports and unreadable items; exclude, fix, dismiss, delete
        self.versions = versions.Versions(engine)  # label versions: save, list, compare, export
        self.history = history.History(engine)  # a labeller's recent items, each reopenable
        self.curation = curation.Curation(engine)  # item search, and accepting the majority in bulk
        self.item_labels = ItemLabels(engine)  # box and span labels checked against their item (`media_roots`)
        self.access = Access(engine)  # who works on which project, and the projects a person may label
        # Rename, archive and restore projects; rename and merge labels, with their history.
        self.manage = ProjectAdmin(engine, lambda project_id: self._projects.pop(project_id, None))

    @classmethod
    def connect(cls, url: str | None = None, *, upgrade: bool = True, rng: random.Random | None = None) -> Store:
        """A store on `url`, else $DATABASE_URL, else `sqlite:///labelling.db`; migrates the schema to head."""
        engine = make_engine(url)
        if upgrade:
            migrate(engine)
        return cls(engine, rng)

    @property
    def url(self) -> str:
        """The database's URL with the password hidden: names the database in messages and cache keys."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self._held.close()
        self.engine.dispose()

    # Projects

    def create_project(
        self, name: str, labels: Sequence[str], multi_label: bool = False, overlap: int = 1, instructions: str = "",
        settings: dict[str, Any] | None = None, task: str | None = None,
    ) -> Project:
        """A new, empty project; `overlap` is how many different labellers label each item; `task` is a
        `records.Task`: classify items, draw boxes on images or mark spans of text (`labels`: their classes)."""
        with write(self.engine) as connection:
            project_id = project_rows.insert(connection, name, labels, multi_label, overlap, instructions, settings, task)
        return self.project(project_id)

    def import_project(
        self,
        name: str,
        labels: Sequence[str],
        data: Any,
        item_labels: Any = None,
        *,
        multi_label: bool = False,
        overlap: int = 1,
        instructions: str = "",
        settings: dict[str, Any] | None = None,
        labeller: str = IMPORT_NAME,
        task: str | None = None,
    ) -> tuple[Project, int]:
        """`create_project` and `add_items` in one transaction: nobody sees the project until every item is
        in, and an import that fails or is killed part-way leaves nothing, not an empty project holding the
        name. Returns the project and how many items it has."""
        with write(self.engine) as connection:
            project_id = project_rows.insert(connection, name, labels, multi_label, overlap, instructions, settings, task)
            project = project_rows.load(connection, project_id)
            added = items.add_items(connection, project, data, item_labels, labeller, self.item_labels.media_roots)
        return project, added

    def project(self, project: int | str) -> Project:
        """A project by id or by name."""
        with read(self.engine) as connection:
            return project_rows.load(connection, project)

    def projects(self) -> list[Project]:
        with read(self.engine) as connection:
            return [project_rows.from_row(row) for row in connection.execute(select(projects).order_by(projects.c.id))]

    def update_project(
        self, project_id: int, *, labels: Sequence[str] | None = None, instructions: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Project:
        """Edit the label set (labels already used cannot be removed), instructions or settings."""
        values: dict[str, Any] = {}
        with write(self.engine) as connection:
            project = lock_project(connection, project_id)  # labels given meanwhile are in the set checked here
            if labels is not None:
                label_set = label_values.validate_label_set(labels, project.multi_label)
                removed = set(project.labels) - set(label_set)
                used = reports.labels_in_use(connection, project) & removed
                if used:
                    raise InvalidInput("labels already given to items cannot be removed: " + ", ".join(map(repr, sorted(used))))
                values["labels"] = project_rows.stored_labels(label_set)
            if instructions is not None:
                values["instructions"] = project_rows.check_instructions(instructions)
            if settings is not None:
                values["settings"] = project_rows.changed_settings(project, settings)
            if values:
                connection.execute(projects.update().where(projects.c.id == project.id).values(values))
        return self.project(project.id)

    # Items

    def add_items(self, project_id: int, data: Any, labels: Any = None, *, labeller: str = IMPORT_NAME) -> int:
        """Add items (DataFrame, list of dicts or str, numpy array, or an iterator of those) in one transaction.

        `labels`, one per item (None for none), loads existing labels, recorded as by `labeller`.
        New items are ranked with the best open items so a later retrain does not leave them starved.
        Returns how many items were added.
        """
        with write(self.engine) as connection:
            # With labels, a label change waits for the import, or the import sees its label set.
            project = (lock_project if labels is not None else project_rows.load_open)(connection, project_id)
            return items.add_items(connection, project, data, labels, labeller, self.item_labels.media_roots)

    # The queue

    @retry_once_when_safe
    def next_item(self, project_id: int, labeller: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Item | None:
        """The item `labeller` should label now, leased to them for `lease_seconds`; None when none is left."""
        queue.check_lease(lease_seconds)
        with self._held.write() as connection:
            project = self._project(connection, project_id)
            me = self.access.check(connection, project, queue.lock_labeller(connection, labeller))
            return queue.next_item(connection, project, me, lease_seconds, self._gold(connection, project, me, lease_seconds))

    @retry_once_when_safe
    def submit(self, project_id: int, item_id: int, labeller: str, label: Label | Sequence[str]) -> Annotation:
        """Record a label (a list of labels for a multi-label project); a double submit records one."""
        return self._labelling(project_id, item_id, labeller, label, lambda c, p, me, value: queue.submit(c, p, me, int(item_id), value))

    @retry_once_when_safe
    def submit_and_next(
        self, project_id: int, item_id: int, labeller: str, label: Label | Sequence[str], lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> tuple[Annotation, Item | None]:
        """`submit`, then `next_item`, in one transaction: a click on the Label page is one round of
        statements on one connection. Same guarantees as the two calls; the label is kept only with the claim."""
        queue.check_lease(lease_seconds)
        return self._labelling(project_id, item_id, labeller, label, lambda c, p, me, value: queue.submit_and_next(
            c, p, me, int(item_id), value, lease_seconds, self._gold(c, p, me, lease_seconds)
        ))

    def _labelling(self, project_id: int, item_id: int, labeller: str, label: Any, record: Callable[..., T]) -> T:
        """`record(connection, project, me, label)` in one write transaction, the label checked first; again against
        the project read now if another process changed its label set since (then `record` wrote nothing)."""
        with self._held.write() as connection:
            project, me, value = self._submission(connection, project_id, item_id, labeller, label)
            try:
                done = record(connection, project, me, value)
            except queue.LabelSetChanged:  # the same labeller (`_labeller` caches only committed ids)
                project = self._project(connection, project.id, fresh=True)
                done = record(connection, project, me, label_of_item(connection, project, item_id, label, self.item_labels.media_roots))
            self._notifier.labels_arrived(connection, project.id)  # wakes the training worker (PostgreSQL)
            return done

    def _submission(
        self, connection: Connection, project_id: int, item_id: int, labeller: str, label: Any
    ) -> tuple[Project, queue.Labeller, Label]:
        """The project, the labeller (if allowed to label it) and the label checked against the label set (and
        item), the project re-read if the set was edited since.

        The labeller is not locked here: the submit's statement takes the lock (or lock_labeller on its slow
        path) before my task row, as next_item takes them, and holds it for a hand-out after. Locking my task
        row first would wait for the lock that a next_item in my other tab holds while it waits for that row."""
        project = self._project(connection, project_id)
        try:
            value = label_of_item(connection, project, item_id, label, self.item_labels.media_roots)
        except InvalidInput:  # the label set may have been edited since the project was cached
            project = self._project(connection, project_id, fresh=True)
            value = label_of_item(connection, project, item_id, label, self.item_labels.media_roots)
        if value is None:
            raise InvalidInput("no label given")
        return project, self.access.check(connection, project, self._labeller(connection, labeller)), value

    def _gold(self, connection: Connection, project: Project, me: queue.Labeller, lease: float) -> Callable[[], Item | None] | None:
        """A gold item's hand-out when the project's gold-rate draw hits (offered instead of a claim), else None."""
        rate = gold.gold_rate(project)  # from the cached project: a miss costs no query
        if rate and self.rng.random() < rate:
            return functools.partial(gold.hand_out_gold, connection, project, me, lease, self.rng)
        return None

    @retry_once_when_safe
    def skip(self, project_id: int, item_id: int, labeller: str) -> None:
        """Pass an item on to other labellers."""
        with self._held.write() as connection:
            project = project_rows.load(connection, project_id)
            me = self.access.check(connection, project, queue.lock_labeller(connection, labeller))
            queue.skip(connection, project, me, int(item_id))

    @retry_once_when_safe
    def undo(self, project_id: int, labeller: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Item | None:
        """Reopen my most recent label; the item comes back with `my_label` set. None if nothing to undo."""
        queue.check_lease(lease_seconds)
        with self._held.write() as connection:
            project = project_rows.load(connection, project_id)
            me = self.access.check(connection, project, queue.lock_labeller(connection, labeller))
            return queue.undo(connection, project, me, lease_seconds)

    def set_priorities(self, project_id: int, item_ids: Sequence[int], scores: Sequence[float]) -> int:
        """Reorder the queue: a higher score is labelled sooner. Returns the number of items given."""
        ids, values = queue.priority_arrays(item_ids, scores)
        project = self.project(project_id)
        if not len(ids):
            return 0
        with self.engine.connect() as connection:
            return queue.set_priorities(connection, project, ids, values)

    def _project(self, connection: Connection, project_id: int, *, fresh: bool = False) -> Project:
        """The project, read at most every PROJECT_CACHE_SECONDS: the labelling loop need not re-read it."""
        cached = self._projects.get(project_id) if isinstance(project_id, int) else None
        if cached is None or fresh or time.monotonic() - cached[0] > PROJECT_CACHE_SECONDS:
            project = project_rows.load(connection, project_id)
            cached = (time.monotonic(), project)
            self._projects[project.id] = cached
        return cached[1]

    def _labeller(self, connection: Connection, name: str) -> queue.Labeller:
        """The labeller's id, cached once it is known to be committed (a rolled-back creation is not)."""
        if name not in self._labellers:
            found = queue.find_labeller(connection, name)
            if found is None:
                return queue.lock_labeller(connection, name)
            self._labellers[name] = found
        return self._labellers[name]

    # Reports

    @retry_once_when_safe
    def progress(self, project_id: int, *, per_labeller: bool = True) -> Progress:
        """Counts of items; per_labeller=False leaves out each labeller's figures (the cheap part for a bar)."""
        with read(self.engine) as connection:
            return reports.progress(connection, project_rows.load(connection, project_id), per_labeller=per_labeller)

    def annotations(self, project_id: int, *, labeller: str | None = None) -> pd.DataFrame:
        """One row per current label: item, labeller, label, time (UTC) and seconds spent; only `labeller`'s
        when given (a labeller's own stats need not load everyone's)."""
        with read(self.engine) as connection:
            return exports.annotations_frame(connection, project_rows.load(connection, project_id), labeller)

    def export(self, project_id: int) -> pd.DataFrame:
        """One row per item: its original data, the final label, and each labeller's label."""
        with read(self.engine) as connection:
            return exports.items_frame(connection, project_rows.load(connection, project_id))

    def delete_project(self, project_id: int) -> None:
        """Delete a project and every row of it, in every table (ON DELETE CASCADE); its saved models go with
        `labelling.learning.model_files.delete_project`, which the Projects page and the CLI call."""
        with write(self.engine) as connection:
            project = project_rows.load(connection, project_id)
            connection.execute(projects.delete().where(projects.c.id == project.id))
        self._projects.pop(project.id, None)  # SQLite may give the id to the next project

    # Active learning: `labelling.learning.training` fits and `labelling.learning.worker` schedules; these file and read runs

    def request_training(self, project_id: int) -> TrainingRun:
        """File a "Retrain now" request for the worker; a request already waiting is returned instead.
        A box project is refused (NotTrainable): models are trained for classification and span projects."""
        check_trainable(project := project_rows.check_open(self.project(project_id)))
        return self.runs.request(project.id)

    def training_runs(self, project_id: int) -> list[TrainingRun]:
        """Every training run of a project, oldest first (queued, running, finished and failed)."""
        return self.runs.all(self.project(project_id).id)

    # Quality control: overlap changes, gold items, agreement, review (labelling.storage.overlap, .gold, .votes, .review)

    @retry_once_when_safe
    def set_overlap(self, project_id: int, overlap: int) -> Project:
        """Change labellers per item mid-project without breaking anyone's stream (see labelling.storage.overlap)."""
        with write(self.engine) as connection:
            change_overlap(connection, project_rows.load_open(connection, project_id), overlap)
        return self._forget(project_id)

    def set_gold_rate(self, project_id: int, rate: float) -> Project:
        """The share (0..1) of each labeller's hand-outs that are gold items, e.g. 0.05; 0 stops them."""
        rate = gold.check_gold_rate(rate)
        with write(self.engine) as connection:
            project = project_rows.load_open(connection, project_id)
            settings = {**project.settings, gold.GOLD_RATE_SETTING: rate}
            connection.execute(
                projects.update().where(projects.c.id == project.id).values(settings=json.dumps(settings))
            )
        return self._forget(project_id)

    def set_gold(self, project_id: int, item_ids: Sequence[int], labels: Sequence[Any]) -> int:
        """Mark items as gold with their known labels (one per item); returns how many. They leave the shared
        queue and reach every labeller, unannounced, at the gold rate; their known label is final."""
        with write(self.engine) as connection:
            project = project_rows.load_open(connection, project_id)
            return gold.mark_gold(connection, project, item_ids, list(labels), self.item_labels.media_roots)

    def unset_gold(self, project_id: int, item_ids: Sequence[int]) -> int:
        """Make gold items ordinary items again (back in the queue); returns how many were gold."""
        with write(self.engine) as connection:
            return gold.unmark_gold(connection, project_rows.load_open(connection, project_id), item_ids)

    def gold(self, project_id: int) -> pd.DataFrame:
        """The gold items: columns item_id and label (the known label)."""
        with read(self.engine) as connection:
            found = votes.gold_labels(connection, project_rows.load(connection, project_id).id)
        return pd.DataFrame({"item_id": list(found), "label": list(found.values())}, columns=["item_id", "label"])

    def final_labels(self, project_id: int) -> pd.DataFrame:
        """One row per item with a label: item_id, label (None on a tie), source (review, gold, majority or
        tie), votes (current labels), reviewer. What export and training take as each item's label."""
        with read(self.engine) as connection:
            return votes.final_labels_frame(connection, project_rows.load(connection, project_id))

    def agreement(self, project_id: int) -> Agreement:
        """Kappa per pair of labellers, alpha overall and per label, and per-labeller statistics."""
        with read(self.engine) as connection:
            return votes.agreement(connection, project_rows.load(connection, project_id))

    def labeller_stats(self, project_id: int) -> pd.DataFrame:
        """Per labeller: labels, median seconds, skips and skip rate, agreement with the final labels and
        accuracy on gold items, each with the items it rests on (columns: labelling.quality.agreement.STATS_COLUMNS)."""
        return self.agreement(project_id).labellers

    def review_items(self, project_id: int, **filters: Any) -> tuple[list[review.ReviewItem], int]:
        """Items whose labellers disagree, least agreement first, and how many there are (review.review_items)."""
        with read(self.engine) as connection:
            return review.review_items(connection, project_rows.load(connection, project_id), **filters)

    @retry_once_when_safe
    def adjudicate(self, project_id: int, item_id: int, reviewer: str, label: Any) -> Label:
        """A reviewer sets an item's final label: it wins in `export` and `final_labels`, recorded as a review."""
        with write(self.engine) as connection:
            project = project_rows.load_open(connection, project_id)
            return review.adjudicate(connection, project, item_id, reviewer, label, self.item_labels.media_roots)

    @retry_once_when_safe
    def send_back(self, project_id: int, item_id: int, reviewer: str) -> int:
        """A reviewer sends an item back for new labels: its labels are superseded (kept in the history) and
        its tasks reopen. Returns how many labels were superseded."""
        with write(self.engine) as connection:
            return review.send_back(connection, project_rows.load_open(connection, project_id), item_id, reviewer)

    def _forget(self, project_id: int) -> Project:
        """Drop the cached project after a change to it, and return it fresh."""
        project = self.project(project_id)
        self._projects.pop(project.id, None)
        return project
