"""Setup: a demo project in one click, a project from a CSV file or from another tool's annotation file (COCO,
span JSONL, spaCy, CoNLL), more rows later, a model's predictions to order the queue, labels and
instructions."""

from pathlib import Path

import streamlit as st

import ui
from ui import annotate
from labelling import DuplicateProject, LabellingError
from labelling.setup import csv_import, guesses
from labelling.io.ingest import read_csv
from labelling.io.gold import gold_rows
from labelling.storage.gold import gold_rate
from labelling.records import ProjectSettings, Task
from labelling.storage.overlap import MAX_OVERLAP
from labelling.setup.demo import DEMOS, create_demo
from labelling.text import counted

NOTICE = "setup_notice"
ROUND = "upload_round"
PREVIEW = "upload_preview"
LABELS_FOUND = "upload_labels_found"
CSV_TYPES = ["csv", "tsv", "txt"]
MAX_GOLD_PERCENT = 50
NO_COLUMN = "(none)"  # the choice for 'no column of existing labels' (a docstring here would be drawn)

store = ui.store()
ui.page_user(store, admin=True)
project = ui.project_picker(store)
round_ = st.session_state.setdefault(ROUND, 0)


def finished(message: str, project_id: int | None = None) -> None:
    """Start the forms afresh (a new key empties the uploader) and say what happened."""
    if project_id is not None:
        ui.select_project(project_id)
    st.session_state[ROUND] = round_ + 1
    st.session_state[NOTICE] = message
    st.rerun()


def demos() -> None:
    row = st.container(horizontal=True)
    for key, (title, _) in DEMOS.items():
        if row.button(title, key=f"demo-{key}", icon=":material/add_circle:"):
            with st.spinner("Creating the demo project…"):
                try:
                    made = create_demo(store, key)
                except DuplicateProject:
                    st.error("That demo project exists already: pick it in the sidebar.")
                    return
            finished(f"Created **{ui.literal(made.name)}**. Open the Label page to start labelling.", made.id)


def uploaded_csv(label: str, key: str):
    """The uploaded file and its first rows, or (None, None) with the reason shown."""
    limit = st.get_option("server.maxUploadSize")
    uploaded = st.file_uploader(label, type=CSV_TYPES, key=key, help=f"Up to {limit:,} MB; , ; tab or | separated.")
    if uploaded is None:
        return None, None
    # Reading a file is checked line by line: once per upload, not on every rerun of this page.
    memo = st.session_state.get(f"{PREVIEW}-{key}")
    if memo is None or memo[0] != uploaded.file_id:
        try:
            ui.check_upload_size(uploaded.size)
            memo = (uploaded.file_id, csv_import.preview_csv(uploaded), None)
        except LabellingError as error:
            memo = (uploaded.file_id, None, str(error))
        st.session_state[f"{PREVIEW}-{key}"] = memo
    _, frame, problem = memo
    if problem:
        st.error(f"Cannot use {ui.literal(uploaded.name)}: {ui.literal(problem)}", icon=":material/error:")
        return None, None
    return uploaded, frame


def labels_found(uploaded, column: str, multi: bool) -> list[str]:
    """Every label the file's label column uses, read from the whole file once per file and choice of column:
    a label first met past the preview would otherwise be refused on Create."""
    choice = (uploaded.file_id, column, multi)
    memo = st.session_state.get(LABELS_FOUND)
    if memo is None or memo[0] != choice:
        memo = (choice, csv_import.labels_in_file(uploaded, column, multi))
        st.session_state[LABELS_FOUND] = memo
    return memo[1]


class Importing:
    """A progress bar, and the `on_rows` that moves it as rows stream into the database. It follows the file
    as it is read; the rows read last are still being written when it is full, and the import counts only
    once all are in (one transaction), so it says so rather than "imported". `read`: rows read so far."""

    def __init__(self, uploaded):
        self.uploaded, self.read = uploaded, 0
        self.bar = st.progress(0.0, text="Importing…")

    def __call__(self, done: int) -> None:
        self.read = done
        part = min(self.uploaded.tell() / max(self.uploaded.size, 1), 1.0)
        self.bar.progress(part, text=f"{done:,} rows read" if part < 1.0 else f"All {done:,} rows read, saving them…")


def new_project() -> None:
    uploaded, frame = uploaded_csv("CSV file (one row per item, a header line naming the columns)", f"new-csv-{round_}")
    if uploaded is None:
        return
    columns = [str(c) for c in frame.columns]
    st.caption(f"First rows of {ui.literal(uploaded.name)}: {len(columns)} columns")
    st.dataframe(frame.head(10), hide_index=True)
    if hint := csv_import.one_column_hint(columns):
        st.warning(hint)

    k = f"{round_}"
    name = st.text_input("Project name", value=Path(uploaded.name).stem, key=f"name-{k}")
    # Defaults from the data: the labels' column is never shown or learnt from, measurements make a table.
    label_guess = guesses.guess_label_column(frame)
    task = st.radio("Task", list(annotate.TASKS), format_func=annotate.TASKS.get, horizontal=True, key=f"task-{k}")
    fixed_display = {Task.BOXES: "image", Task.SPANS: "text"}.get(task)
    display = fixed_display or st.radio(
        "Show each item as",
        list(csv_import.DISPLAYS),
        index=list(csv_import.DISPLAYS).index(
            guesses.guess_display(frame[csv_import.columns_to_show(columns, label_guess)])
        ),
        format_func=csv_import.DISPLAYS.get,
        horizontal=True,
        key=f"display-{k}",
    )
    choice = st.selectbox(
        "Column of existing labels (optional)",
        [NO_COLUMN, *columns],
        index=0 if label_guess is None else columns.index(label_guess) + 1,
        key=f"label-column-{k}",
        help="Rows with a value there are imported as already labelled; empty cells are left to label. "
        "It is never shown to labellers nor learnt from.",
    )
    label_column = None if choice == NO_COLUMN else choice
    others = csv_import.columns_to_show(columns, label_column)
    guess = guesses.guess_column(frame[others], display)
    text_column = image_column = None
    table_columns: list[str] = []
    if display == "text":
        text_column = st.selectbox("Text column", others, index=others.index(guess), key=f"text-{k}")
        shown = [text_column]
    elif display == "image":
        image_column = st.selectbox(
            "Image column (URLs or file paths)", others, index=others.index(guess), key=f"image-{k}"
        )
        shown = [image_column]
    else:
        table_columns = st.multiselect(
            "Columns to show", others, default=guesses.default_table_columns(frame[others]), key=f"table-{k}"
        )
        shown = table_columns
    features = st.multiselect(
        "Columns the model learns from", others, default=shown, key=f"features-{k}-{display}-{label_column}"
    )
    overlapping = task is Task.SPANS and st.toggle("Allow overlapping spans", key=f"overlapping-{k}")
    multi = fixed_display is None and st.toggle("Items can have several labels (multi-label)", key=f"multi-{k}")
    starting = labels_found(uploaded, label_column, multi) if label_column and fixed_display is None else []
    labels_text = st.text_area(
        "Labels, one per line" if fixed_display is None else f"Classes of the {task}, one per line",
        value="\n".join(starting),
        key=f"labels-{k}-{label_column}-{multi}",
        help="Starts from every value in the label column, in the order the file first uses them; the order "
        "here is the order of the buttons.",
    )
    overlap = st.number_input("Labellers per item", min_value=1, max_value=20, value=1, step=1, key=f"overlap-{k}")
    instructions = st.text_area("Instructions for labellers (markdown)", key=f"instructions-{k}")
    labels = csv_import.parse_label_set(labels_text)
    if fixed_display is None and (warning := csv_import.label_set_warning(labels, multi)):  # boxes, spans: one class is fine
        st.warning(f"With {ui.literal(warning)}.", icon=":material/warning:")
    try:
        settings = csv_import.build_settings(
            columns,
            display,
            text_column=text_column,
            image_column=image_column,
            table_columns=table_columns,
            feature_columns=features,
            label_column=label_column,
            task=task,
            overlapping_spans=overlapping,
        )
    except LabellingError as error:
        settings, problem = None, error
    preview(frame, settings, labels, multi)

    if st.button("Create project", type="primary", key=f"create-{k}", icon=":material/rocket_launch:"):
        try:
            if settings is None:
                raise problem
            made, added = csv_import.import_csv(
                store,
                uploaded,
                name=name,
                labels=labels,
                settings=settings,
                multi_label=multi,
                overlap=int(overlap),
                instructions=instructions,
                on_rows=(progress := Importing(uploaded)),
                media_roots=ui.settings().media_roots,
            )
        except LabellingError as error:
            st.error(f"Nothing was created: {ui.literal(ui.refusal(error))}", icon=":material/error:")
        else:
            left_out = csv_import.left_out(progress.read, added)
            finished(f"Created **{ui.literal(made.name)}** with {counted(added, 'item')}{left_out}.", made.id)


def preview(frame, settings: dict | None, labels: list[str], multi: bool) -> None:
    """The first row as the Label page will show it (the same `ui.show_item`), with its label buttons."""
    st.markdown("**What a labeller will see** (the first row)")
    with st.container(border=True, key="preview"):
        if settings is None:
            st.caption("Choose the columns to show to see the first item here.")
            return
        options, first = ProjectSettings.of(settings), csv_import.preview_item(frame, settings["label_column"])
        if annotate.is_annotation(options):
            annotate.draw(options, tuple(labels), first, "preview-annotate", None)
            return
        ui.show_item(first, options)
        row = st.container(horizontal=True)
        for i, label in enumerate(labels):
            if multi:
                row.checkbox(ui.literal(label), key=f"preview-pick-{i}", disabled=True)
            else:
                row.button(ui.literal(label), key=f"preview-label-{i}", disabled=True)
        if not labels:
            st.caption("No labels yet: type them above.")


def add_rows(project) -> None:
    needed = csv_import.required_columns(project.settings)
    st.caption(
        f"Adds rows to **{ui.literal(project.name)}**. The file needs the columns "
        + (", ".join(f"`{c}`" for c in needed) or "of the first file")
        + "; all its rows are added, or none."
    )
    uploaded, frame = uploaded_csv("CSV file with more rows", f"append-csv-{round_}")
    if uploaded is None:
        return
    try:
        csv_import.check_columns([str(c) for c in frame.columns], project.settings)
    except LabellingError as error:
        st.error(f"Cannot add {ui.literal(uploaded.name)}: {ui.literal(error)}", icon=":material/error:")
        return
    st.dataframe(frame.head(5), hide_index=True)
    if st.button(f"Add the rows of {ui.literal(uploaded.name)}", type="primary", key=f"append-{round_}"):
        try:
            progress = Importing(uploaded)
            added = csv_import.append_csv(store, project, uploaded, on_rows=progress, media_roots=ui.settings().media_roots)
        except LabellingError as error:
            st.error(f"Nothing was added: {ui.literal(ui.refusal(error))}", icon=":material/error:")
        else:
            left_out = csv_import.left_out(progress.read, added)
            finished(f"Added {counted(added, 'item')}{left_out} to **{ui.literal(project.name)}**.", project.id)


def edit(project) -> None:
    settings = project.settings
    st.caption(
        f"Items shown as {settings.get('display', 'text')} · "
        f"{'several labels' if project.multi_label else 'one label'} per item · "
        f"{counted(project.overlap, 'labeller')} per item"
    )
    with st.form(f"edit-{project.id}"):
        labels_text = st.text_area("Labels, one per line", value="\n".join(project.labels))
        instructions = st.text_area("Instructions for labellers (markdown)", value=project.instructions, height=200)
        saved = st.form_submit_button("Save changes", type="primary")
    if saved:
        try:
            store.update_project(project.id, labels=csv_import.parse_label_set(labels_text), instructions=instructions)
        except LabellingError as error:
            st.error(f"Not saved: {ui.literal(ui.refusal(error))}", icon=":material/error:")
        else:
            finished(f"Saved **{ui.literal(project.name)}**.")



def quality(project) -> None:
    with st.form(f"overlap-{project.id}"):
        overlap = st.number_input(
            "Labellers per item", min_value=1, max_value=MAX_OVERLAP, value=project.overlap, step=1
        )
        st.caption(
            "Raising it reopens finished items for more labellers; lowering it closes items that already have "
            "enough labels. Nobody loses the item they are labelling."
        )
        changed = st.form_submit_button("Change labellers per item")
    if changed:
        try:
            store.set_overlap(project.id, int(overlap))
        except LabellingError as error:
            st.error(f"Not changed: {ui.refusal(error)}", icon=":material/error:")
        else:
            finished(f"**{ui.literal(project.name)}** now has {counted(int(overlap), 'labeller')} per item.")

    st.markdown("**Gold items**")
    gold = store.gold(project.id)
    st.caption(
        f"{counted(len(gold), 'gold item')}. Gold items have a known label; they are mixed "
        "into every labeller's items at the rate below, unannounced, and the Progress page shows each labeller's "
        "accuracy on them."
    )
    with st.form(f"gold-rate-{project.id}"):
        rate = st.slider(
            "Share of each labeller's items that are gold",
            min_value=0,
            max_value=MAX_GOLD_PERCENT,
            value=round(gold_rate(project) * 100),
            format="%d%%",
        )
        saved = st.form_submit_button("Save gold rate")
    if saved:
        store.set_gold_rate(project.id, rate / 100)
        finished(f"Gold rate of **{ui.literal(project.name)}** set to {rate}%.")

    uploaded, frame = uploaded_csv(
        "CSV of gold items: an item_id column (as in the Export file) and a column of known labels",
        f"gold-csv-{round_}",
    )
    if uploaded is None:
        return
    columns = [str(c) for c in frame.columns]
    left, right = st.columns(2)
    id_column = left.selectbox(
        "Item id column", columns, index=columns.index("item_id") if "item_id" in columns else 0, key=f"gold-id-{round_}"
    )
    guess = next((c for c in columns if "gold" in c.lower()), columns[-1])
    label_column = right.selectbox(
        "Known label column", columns, index=columns.index(guess), key=f"gold-label-{round_}",
        help="Rows with an empty cell here are left out.",
    )
    if st.button("Mark as gold", type="primary", key=f"gold-{round_}", icon=":material/verified:"):
        try:
            ids, labels = gold_rows(read_csv(uploaded), id_column, label_column)
            marked = store.set_gold(project.id, ids, labels)
        except LabellingError as error:
            st.error(f"Nothing was marked: {ui.literal(ui.refusal(error))}", icon=":material/error:")
        else:
            finished(f"Marked {counted(marked, 'gold item')} in **{ui.literal(project.name)}**.")


st.title("Setup")
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice, icon=":material/check_circle:")
    st.page_link("pages/label.py", label="Go to the Label page", icon=":material/label:")

if project is None:
    st.subheader("Start with a demo project")
    st.caption("One click makes a project you can label straight away.")
    demos()
    st.subheader("Or create a project from a CSV file")
    new_project()
    st.subheader("Or from an annotation file")
    ui.annotation_file_upload(store, None, round_, finished)
else:
    # Kept in the session (key, on_change): a notice drawn above the tabs after an action moved them, and
    # Streamlit then opened the first tab instead of the one the action was taken in.
    create, append, predicted, control, change = st.tabs(
        ["New project", "Add rows", "Import predictions", "Quality control", "Edit labels and instructions"],
        key="setup-tab",
        on_change="rerun",
    )
    with create:
        new_project()
        with st.expander(
            "From an annotation file (COCO, YOLO, span JSONL, spaCy, CoNLL), or one about these items",
            icon=":material/draw:",
            key="annotation-open",
        ):
            ui.annotation_file_upload(store, project, round_, finished)
        with st.expander("Demo projects"):
            demos()
    with append:
        add_rows(project)
    with predicted:
        ui.predictions_upload(store, project, round_, finished)
    with control:
        quality(project)
    with change:
        edit(project)
