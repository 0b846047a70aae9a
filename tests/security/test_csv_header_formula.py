"""Finding 5 of issue 15: a formula as a column name reached the exported CSV as is, while cell values
were neutralised; a spreadsheet runs either."""

from __future__ import annotations

import io

import pandas as pd

from labelling.io.export import to_csv


def test_formula_header_cells_are_neutralised_like_values():
    frame = pd.DataFrame({'=HYPERLINK("http://evil.example","x")': ["=1+1"], "@sum": ["plain"], "text": ["-3"]})

    written = pd.read_csv(io.BytesIO(to_csv(frame)), dtype=str)

    assert list(written.columns) == ['\'=HYPERLINK("http://evil.example","x")', "'@sum", "text"]
    assert written.iloc[0].tolist() == ["'=1+1", "plain", "'-3"]


def test_a_project_export_neutralises_an_imported_formula_header(store):
    project = store.create_project("formulae", ["a", "b"])
    store.add_items(project.id, pd.DataFrame({"=cmd|' /C calc'!A0": ["x"], "+note": ["y"]}))

    header = to_csv(store.export(project.id)).decode("utf-8").splitlines()[0]

    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in header.split(","))
