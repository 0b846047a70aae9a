"""Export: the labels as CSV (safe to open in a spreadsheet), JSONL or Parquet, per item or per annotation; a box
or span project's final labels in the formats other tools read (COCO, YOLO; span JSONL, spaCy, IOB/CoNLL);
saved versions of the final labels, compared and exported the same ways."""

import datetime as dt

import pandas as pd
import streamlit as st

import ui
from labelling import LabellingError
from labelling.io import formats
from labelling.io.export import file_slug, to_csv, to_jsonl, to_parquet
from labelling.records import Task
from labelling.storage.versions import CURRENT, MAX_VERSION_NAME

store = ui.store()
me = ui.page_user(store, admin=True)
project = ui.page_project(store, "Export")
slug = file_slug(project.name)
FORMATS = {
    "CSV": (to_csv, "csv", "text/csv"),
    "JSONL": (to_jsonl, "jsonl", "application/jsonl"),
    "Parquet": (to_parquet, "parquet", "application/vnd.apache.parquet"),
}
# The words and media type of each of labelling.io.formats.EXPORTS here (a docstring would be drawn).
TOOL_FORMATS = {
    "coco": ("COCO JSON", "application/json"),
    "yolo": ("YOLO (zip)", "application/zip"),
    "spans-jsonl": ("span JSONL", "application/jsonl"),
    "spacy": ("spaCy JSON", "application/json"),
    "conll": ("IOB/CoNLL", "text/plain"),
}
NOTICE = "export_notice"


def downloads(what: str, frame_of, note: str, stem: str, key: str) -> None:
    """One download button per format; the file is built when clicked, not on every visit to the page."""
    if note:
        st.caption(note)
    row = st.container(horizontal=True)
    for name, (convert, extension, mime) in FORMATS.items():
        row.download_button(
            f"Download {name}",
            data=lambda convert=convert: convert(frame_of()),
            file_name=f"{slug}-{stem}.{extension}",
            mime=mime,
            on_click="ignore",
            icon=":material/download:",
            key=f"download-{key}-{name}",
        )


def tool_downloads() -> None:
    """The project's final labels in the formats written for its task (none for classification). While the
    expander is open the page says which formats these labels block and why (ui.export_refusals, cached: it
    reads every label); each file is built from the labels read when its button is clicked."""
    names = formats.exports_for(project.options.task)
    if not names:
        return
    st.subheader(f"{str(project.options.task).capitalize()} for other tools")
    st.caption(
        "The final label of each item that has one. COCO: image ids are the item ids, categories 1..n in "
        "label-set order, bbox [x, y, width, height] in pixels. YOLO: classes.txt, data.yaml (for Ultralytics) "
        "and labels/<image>.txt, centres and sizes relative to the image; images uploaded in a zip are in "
        "images/, put images named by a path or URL there."
        if project.options.task is Task.BOXES
        else "Character offsets, end exclusive (span JSONL, spaCy's [start, end, label]); IOB/CoNLL tags "
        "whitespace tokens (a span widens to the tokens it touches; overlapping spans cannot be written)."
    )
    files = st.expander("Download for other tools", icon=":material/download:", key="tool-files", on_change="rerun")
    if not files.open:
        return
    with files:
        with ui.database_guard():
            refused = {name: ui.literal(why) for name, why in ui.export_refusals(store, project).items()}
        row = st.container(horizontal=True)
        for name in names:
            _, write, extension = formats.EXPORTS[name]
            words, mime = TOOL_FORMATS[name]
            row.download_button(
                f"Download {words}",
                data=lambda write=write: write(project, store.export(project.id)),  # read when clicked: never stale
                file_name=f"{slug}-{name}.{extension}",
                mime=mime,
                on_click="ignore",
                icon=":material/download:",
                key=f"download-tool-{name}",
                disabled=name in refused,
                help=refused.get(name),
            )
        for why in refused.values():  # the library's words name the format
            st.warning(why, icon=":material/block:")


@ui.guarded
def _save_version() -> None:
    try:
        saved = store.versions.save(project.id, st.session_state.get("version-name", ""), me.name)
    except LabellingError as error:
        st.session_state[NOTICE] = ("error", ui.refusal(error))
        return
    saved_as = f"Saved version **{ui.literal(saved.name)}**: {saved.n_items:,} labelled items."
    st.session_state[NOTICE] = ("success", saved_as)
    st.session_state["version-name"] = ""


def shown(label) -> str:
    if label is None or (not isinstance(label, tuple) and pd.isna(label)):
        return "tie"
    return ", ".join(label) or "none of the labels" if isinstance(label, tuple) else str(label)


st.subheader("Items")
downloads(
    "Items",
    lambda: store.export(project.id),
    "One row per item: its original columns, the final label (a reviewer's, else a gold item's known "
    "label, else the majority; empty on a tie) and where it came from, how many labels it has, and "
    "each labeller's label.",
    "items",
    "Items",
)
st.subheader("Annotations")
downloads(
    "Annotations",
    lambda: store.annotations(project.id),
    "One row per label ever given: who, when (UTC), seconds spent, and whether it is still current.",
    "annotations",
    "Annotations",
)
st.caption(
    "In CSV files, cells starting with =, +, - or @ get a leading ' so a spreadsheet shows them instead of "
    "running them; multi-labels are written a|b. Parquet keeps multi-labels as lists and loads as it is into "
    "pandas (`pd.read_parquet`) and Hugging Face datasets (`load_dataset(\"parquet\", data_files=...)`)."
)

tool_downloads()

st.subheader("Versions")
st.caption(
    "A version freezes the final labels as they are now, under a name: compare it with another or with the "
    "current labels, and download it later with exactly the same content."
)
if notice := st.session_state.pop(NOTICE, None):
    (st.success if notice[0] == "success" else st.error)(notice[1])
with st.form("save-version", border=False):
    row = st.container(horizontal=True, vertical_alignment="bottom")
    row.text_input("Version name", key="version-name", max_chars=MAX_VERSION_NAME, placeholder="e.g. friday")
    row.form_submit_button("Save a version", icon=":material/bookmark_add:", on_click=_save_version)

with ui.database_guard():
    versions = store.versions.all(project.id)
if not versions:
    st.info("No version saved yet.")
    st.stop()
st.dataframe(
    pd.DataFrame(
        {
            "Version": [v.name for v in versions],
            "Saved (UTC)": [
                dt.datetime.fromtimestamp(v.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M") for v in versions
            ],
            "By": [v.created_by for v in versions],
            "Labelled items": [v.n_items for v in versions],
        }
    ),
    hide_index=True,
)
by_name = {v.name: v for v in versions}
names = list(by_name)
picked = st.selectbox("Download a version", names, index=len(names) - 1, key="version-download")
downloads(
    picked,
    lambda: store.versions.export(project.id, by_name[picked].id),
    "One row per item the version labels: its columns, the final label, where it came from, how many labels "
    "it had.",
    f"version-{file_slug(picked)}",
    "version",
)

compare = st.expander("Compare two versions", icon=":material/difference:", key="version-compare", on_change="rerun")
if compare.open:  # read only when asked: a comparison with the current labels reads every label
    with compare:
        sides = st.container(horizontal=True)
        old = sides.selectbox("From", names, index=len(names) - 1, key="version-old")
        new = sides.selectbox("To", [*names, CURRENT], index=len(names), key="version-new")
        with ui.database_guard():
            diff = store.versions.diff(project.id, by_name[old].id, by_name[new].id if new in by_name else None)
        st.markdown(
            f"**{len(diff.changed):,}** changed · **{len(diff.added):,}** added · **{len(diff.removed):,}** removed"
        )
        st.dataframe(
            diff.counts.assign(label=[shown(label) for label in diff.counts["label"]]).rename(
                columns={"label": "Label", "old": "From", "new": "To", "change": "Change"}
            ),
            hide_index=True,
        )
        changes = [(i, shown(a), shown(b)) for i, (a, b) in diff.changed.items()]
        changes += [(i, "–", shown(b)) for i, b in diff.added.items()]
        changes += [(i, shown(a), "–") for i, a in diff.removed.items()]
        if changes:
            st.dataframe(pd.DataFrame(sorted(changes), columns=["Item", "From", "To"]), hide_index=True)
