"""The Setup page's files from other tools: a box or span project made from an annotation file (COCO, a YOLO
zip, span JSONL, spaCy, CoNLL: labelling.setup.annotation_files), or that file's boxes or spans attached to
the items of the chosen project it names, as labels or as predictions; and a model's predictions imported
into a project to suggest labels and order its queue (labelling.learning.imported). `finished(message, project_id)` is the
page's own: it starts its forms afresh and says what happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from labelling import LabellingError, Project, Store
from labelling.io import formats
from labelling.io.predictions import format_of
from labelling.learning.imported import ORDERS, SCORED_FORMATS, import_predictions
from labelling.records import Task
from labelling.setup import annotation_files, csv_import
from labelling.storage.overlap import MAX_OVERLAP
from labelling.text import counted
from ui.guard import refusal
from ui.items import literal
from ui.uploads import check_upload_size

__all__ = ["annotation_file_upload", "predictions_upload"]

Finished = Callable[[str, int | None], None]
PARSED = "upload_annotations_parsed"
PREDICTION_TYPES = ["csv", "jsonl", "ndjson"]
ANNOTATION_TYPES = ["json", "zip", "jsonl", "ndjson", "conll", "iob", "txt"]
ANNOTATION_FORMATS = {
    "coco": "COCO JSON (boxes)",
    "yolo": "YOLO zip: images, labels/*.txt, classes.txt or data.yaml (boxes)",
    "spans-jsonl": "Span JSONL (spans)",
    "spacy": "spaCy training data (spans)",
    "conll": "IOB/CoNLL (spans)",
}
"""The words for labelling.setup.annotation_files.FORMATS here."""
ORDER_WORDS = {
    "confidence": "Least confident first",
    "score": "By a score column of the file (higher first)",
    "none": "Keep the queue's order",
}
"""The words for labelling.learning.imported.ORDERS here."""
USES = {
    "new": "Make a new project of its items",
    "labels": "Label the items of {} it names (imported labels)",
    "predictions": "Suggest labels for the items of {} it names (predictions; ordering the queue)",
}
"""What an annotation file is for, with the chosen project (the file's items found by image or file name, or text)."""


def _uploaded_bytes(label: str, types: list[str], key: str, help: str):
    """An uploaded file and its bytes, or (None, None) when none is uploaded or it is over the size limit
    (the reason shown)."""
    uploaded = st.file_uploader(label, type=types, key=key, help=help)
    if uploaded is None:
        return None, None
    try:
        check_upload_size(uploaded.size)
    except LabellingError as error:
        st.error(f"Cannot use {literal(uploaded.name)}: {literal(error)}", icon=":material/error:")
        return None, None
    return uploaded, uploaded.getvalue()


def _parsed(uploaded, data: bytes, format: str):
    """The file read as `format` (labelling.io.formats), once per file and format: (Parsed, None), or
    (None, the reason it cannot be read)."""
    choice = (uploaded.file_id, format)
    memo = st.session_state.get(PARSED)
    if memo is None or memo[0] != choice:
        try:
            memo = (choice, formats.IMPORTS[format](data), None)
        except LabellingError as error:
            memo = (choice, None, str(error))
        st.session_state[PARSED] = memo
    return memo[1], memo[2]


def annotation_file_upload(store: Store, project: Project | None, round_: int, finished: Finished) -> None:
    """The Setup page's "from an annotation file": the file, its format (guessed), its classes, a name; Create
    makes a box or span project (the file's task) with its items and their labels, or nothing. With a
    project chosen, the file may instead label or suggest labels for the items of it that it names."""
    uploaded, data = _uploaded_bytes(
        "Annotation file: COCO JSON or a YOLO zip (boxes), or span JSONL, spaCy JSON, IOB/CoNLL (spans)",
        ANNOTATION_TYPES,
        f"annotation-file-{round_}",
        f"Up to {st.get_option('server.maxUploadSize'):,} MB. Its items and their labels are imported, all or none.",
    )
    if uploaded is None:
        return
    k = f"{round_}"
    fmt = st.selectbox(
        "Format",
        list(ANNOTATION_FORMATS),
        index=list(ANNOTATION_FORMATS).index(annotation_files.guess_format(uploaded.name, data)),
        format_func=ANNOTATION_FORMATS.get,
        key=f"annotation-format-{k}",
    )
    parsed, problem = _parsed(uploaded, data, fmt)
    if problem:
        st.error(f"Cannot read {literal(uploaded.name)} as {ANNOTATION_FORMATS[fmt]}: {literal(problem)}", icon=":material/error:")
        return
    use = "new"
    if project is not None:
        uses = [u for u in USES if u != "predictions" or fmt in SCORED_FORMATS]  # spaCy, CoNLL: no scores
        use = st.radio(
            "Use the file to", uses, format_func=lambda u: USES[u].format(f"**{literal(project.name)}**"),
            key=f"annotation-use-{k}",
        )
    if use != "new":
        _attach(store, project, data, fmt, use, k, finished)
        return
    task = parsed.settings["task"]
    st.caption(
        f"{len(parsed.items):,} items to {'draw boxes on' if task == Task.BOXES else 'mark spans in'}, "
        f"with their labels; {len(parsed.classes):,} class{'es' if len(parsed.classes) != 1 else ''}."
    )
    name = st.text_input("Project name", value=Path(uploaded.name).stem, key=f"annotation-name-{k}")
    labels_text = st.text_area(
        f"Classes of the {task}, one per line",
        value="\n".join(parsed.classes),
        key=f"annotation-labels-{k}-{fmt}",
        help="Starts from the file's classes, in the order it uses them; add any it does not use yet.",
    )
    overlap = st.number_input(
        "Labellers per item", min_value=1, max_value=MAX_OVERLAP, value=1, step=1, key=f"annotation-overlap-{k}"
    )
    if st.button("Create project", type="primary", key=f"annotation-create-{k}", icon=":material/rocket_launch:"):
        try:
            made, added = annotation_files.import_annotations(
                store, data, fmt, project=name, create=True,
                labels=csv_import.parse_label_set(labels_text), overlap=int(overlap),
            )
        except LabellingError as error:
            st.error(f"Nothing was created: {literal(refusal(error))}", icon=":material/error:")
        else:
            finished(f"Created **{literal(made.name)}** ({task}) with {counted(added, 'item')} and their labels.", made.id)


def _attach(store: Store, project: Project, data: bytes, fmt: str, use: str, k: str, finished: Finished) -> None:
    """Attach the file's boxes or spans to the project's items it names: as imported labels, or as predictions
    ordering the queue as chosen. All of them, or nothing with the reason."""
    st.caption(
        "Each image is found among the items by its path, else its file name; each text by its text "
        "(IOB/CoNLL gives words joined by single spaces: a text with line breaks or double spaces is not found). "
        + ("Every box or span needs its score (COCO `score`, YOLO's sixth number); their mean is the item's "
           "confidence." if use == "predictions" else "The labels count as the `import` labeller's.")
    )
    order = "none"
    if use == "predictions":
        order = st.radio("Order of the queue", ["confidence", "none"], format_func=ORDER_WORDS.get, key=f"annotation-order-{k}")
    if st.button("Attach", type="primary", key=f"annotation-attach-{k}", icon=":material/attach_file:"):
        try:
            if use == "labels":
                _, done = annotation_files.import_annotations(store, data, fmt, project=project.id, onto_existing=True)
            else:
                done = import_predictions(store, project.id, data, format=fmt, order=order).predictions
        except LabellingError as error:
            st.error(f"Nothing was attached: {literal(refusal(error))}", icon=":material/error:")
        else:
            what = "labels" if use == "labels" else "predictions"
            finished(f"Attached {what} to {counted(done, 'item')} of **{literal(project.name)}**.", project.id)


def predictions_upload(store: Store, project: Project, round_: int, finished: Finished) -> None:
    """The Setup page's "Import predictions": a model's predictions as the items' suggestions, ordering the
    queue as chosen (labelling.learning.imported.ORDERS), all of them or none."""
    st.caption(
        f"Predictions of a model of your own for the items of **{literal(project.name)}**: a CSV or JSONL file "
        "with an `item_id` column (the ids of the Export file) and either `label` and `confidence` (0..1; box "
        "and span labels as JSON, whose boxes or spans may carry a `score`) or a probability column per class. "
        "They become the items' suggestions on the Label page and can order the queue."
    )
    uploaded, data = _uploaded_bytes(
        "Predictions file (CSV or JSONL)",
        PREDICTION_TYPES,
        f"predictions-{round_}",
        f"Up to {st.get_option('server.maxUploadSize'):,} MB. All its predictions are imported, or none.",
    )
    if uploaded is None:
        return
    k = f"{round_}"
    order = st.radio("Order of the queue", ORDERS, format_func=ORDER_WORDS.get, key=f"predictions-order-{k}")
    score_column = (
        st.text_input("Score column", key=f"predictions-score-{k}", help="A column of the file: higher comes sooner.")
        or None  # left empty: the library asks for the column
        if order == "score"
        else None
    )
    if st.button("Import predictions", type="primary", key=f"predictions-import-{k}", icon=":material/upload:"):
        try:
            done = import_predictions(
                store, project.id, data, format=format_of(uploaded.name), order=order, score_column=score_column
            )
        except LabellingError as error:
            st.error(f"Nothing was imported: {literal(refusal(error))}", icon=":material/error:")
        else:
            finished(
                f"Imported {counted(done.predictions, 'prediction')} into "
                f"**{literal(project.name)}**; "
                + (
                    f"the queue was reordered: {counted(done.ordered, 'open item')} by them."
                    if order != "none"
                    else "the queue's order is unchanged."
                ),
                project.id,
            )
