"""Export: the labels as CSV (safe to open in a spreadsheet) or JSONL, per item or per annotation."""

import streamlit as st

import ui
from labelling.io.export import file_slug, to_csv, to_jsonl

store = ui.store()
ui.page_user(store, admin=True)
project = ui.page_project(store, "Export")
slug = file_slug(project.name)
FORMATS = {"CSV": (to_csv, "csv", "text/csv"), "JSONL": (to_jsonl, "jsonl", "application/jsonl")}


def downloads(what: str, frame_of, note: str) -> None:
    st.subheader(what)
    st.caption(note)
    row = st.container(horizontal=True)
    for name, (convert, extension, mime) in FORMATS.items():
        row.download_button(
            f"Download {name}",
            # Built when clicked, not on every visit to the page.
            data=lambda convert=convert: convert(frame_of(project.id)),
            file_name=f"{slug}-{what.split()[0].lower()}.{extension}",
            mime=mime,
            on_click="ignore",
            icon=":material/download:",
            key=f"download-{what}-{name}",
        )


downloads(
    "Items",
    store.export,
    "One row per item: its original columns, the final label (a reviewer's, else a gold item's known "
    "label, else the majority; empty on a tie) and where it came from, how many labels it has, and "
    "each labeller's label.",
)
downloads(
    "Annotations",
    store.annotations,
    "One row per label ever given: who, when (UTC), seconds spent, and whether it is still current.",
)
st.caption(
    "In CSV files, cells starting with =, +, - or @ get a leading ' so a spreadsheet shows them instead of "
    "running them; multi-labels are written a|b."
)
