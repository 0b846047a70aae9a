"""Predictions from a model trained elsewhere (a GPU detector, a tagger, any classifier) drive the labelling:
they are stored as the items' suggestions (the Label page shows them as an editable starting point) and can
order the queue, least confident first or by a score of your own, with the same random share
(`shuffle_prop`) as the built-in strategies (labelling.learning.acquisition.priorities).

The file is a CSV or JSONL file keyed by item id (labelling.io.predictions), or an annotation file of another
tool that scores its boxes or spans (COCO, YOLO, span JSONL: SCORED_FORMATS) about items already in the project, found among them by image or
file name, or text (labelling.io.matching), its boxes' or spans' scores making each item's confidence. The
labels are checked against their items and written in one transaction by `store.item_labels.write_predictions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelling.errors import InvalidInput
from labelling.io import formats
from labelling.io.matching import read_annotations
from labelling.io.predictions import read_predictions, scored_confidence
from labelling.learning import acquisition
from labelling.records import Project
from labelling.storage.store import Store

__all__ = ["ORDERS", "SCORED_FORMATS", "Imported", "import_predictions"]

SCORED_FORMATS = ("coco", "yolo", "spans-jsonl")
"""The annotation formats that can be predictions: they carry a score per box or span (spaCy and CoNLL have
none, so all they could say is "nothing found", confidence 1.0)."""

ORDERS = ("confidence", "score", "none")
"""How imported predictions order the queue: least confident first, by the file's score column (higher
sooner), or not at all."""


@dataclass(frozen=True)
class Imported:
    """What an import did: predictions stored, and open items placed in the queue by them."""

    predictions: int
    ordered: int


def import_predictions(
    store: Store,
    project_id: int | str,
    source: bytes | str | Path,
    *,
    format: str = "csv",
    order: str = "confidence",
    score_column: str | None = None,
    shuffle_prop: float | None = None,
    seed: int | None = None,
    media_roots: Sequence[Path] | None = None,
) -> Imported:
    """Import a model's predictions and reorder the queue. `format`: "csv" or "jsonl" (labelling.io.predictions
    describes them), or an annotation format of SCORED_FORMATS whose every box or span has a score (a YOLO
    dataset may be a folder, its images under `media_roots`).

    `order`: "confidence" puts the open items of the file least confident first; "score" by the file's
    `score_column`, higher first; "none" leaves the queue alone. Open items the file does not name go after
    those it does. `shuffle_prop` (default: the project's training setting) is the share of queue places
    given at random; `seed` makes that draw repeatable. A training run of ours later replaces both the
    suggestions and the order (classification and span projects)."""
    if order not in ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if (order == "score") != (score_column is not None):
        raise InvalidInput("order='score' and a score_column go together: name the column to order by")
    # scikit-learn (through the models training_settings knows): loaded on use, so the command line, whose
    # parser reads ORDERS, starts without it.
    from labelling.learning.training_settings import training_settings

    project = store.project(project_id)
    share = training_settings(project).shuffle_prop if shuffle_prop is None else float(shuffle_prop)
    if not 0.0 <= share <= 1.0:
        raise InvalidInput(f"shuffle_prop is a fraction between 0 and 1, not {share!r}")
    if format in formats.IMPORTS:
        if format not in SCORED_FORMATS:
            raise InvalidInput(
                f"a {format} file has no scores, so it cannot be predictions: use {', '.join(SCORED_FORMATS)}, "
                "or import it as labels"
            )
        if score_column is not None:
            raise InvalidInput(f"a {format} file has no score column: order by confidence (its scores) or not at all")
        item_ids, labels, confidences = _from_annotation_file(store, project, source, format, media_roots)
        scores = None
    else:
        found = read_predictions(source, format, project.labels, score_column)
        item_ids, labels, confidences, scores = found.item_ids, found.labels, found.confidences, found.scores
    stored = store.item_labels.write_predictions(project.id, item_ids, labels, confidences)
    if order == "none":
        return Imported(stored, 0)
    if order == "confidence":
        scores = [1.0 - c for c in confidences]
    open_ids = store.model_data.open_item_ids(project.id)
    is_open = set(open_ids)
    ranked = [(i, s) for i, s in zip(item_ids, scores) if i in is_open]
    places = acquisition.priorities([s for _, s in ranked], share, np.random.default_rng(seed))
    given = dict(zip((i for i, _ in ranked), places.tolist()))
    store.set_priorities(project.id, open_ids, [given.get(i, 0.0) for i in open_ids])
    return Imported(stored, len(ranked))


def _from_annotation_file(
    store: Store, project: Project, source: bytes | str | Path, format: str, media_roots: Sequence[Path] | None
) -> tuple[list[int], list[Any], list[float]]:
    """The items an annotation file names, their labels and confidences (the mean score of their boxes or
    spans); a YOLO image with no label file is left without a prediction."""
    parsed = read_annotations(source, format, project, media_roots)
    found = [(i, label) for i, label in zip(store.item_labels.match(project.id, parsed), parsed.labels) if label is not None]
    confidences = []
    for item_id, label in found:
        try:
            confidences.append(scored_confidence(label))
        except InvalidInput as error:
            raise InvalidInput(f"the prediction for item {item_id}: {error}") from None
    return [i for i, _ in found], [label for _, label in found], confidences
