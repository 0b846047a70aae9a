"""Finding 10 of issue 15: a lone surrogate ("bad \\ud800") was accepted by add_items and update_project,
then every export and annotations() of the project raised UnicodeEncodeError. Text that is not valid
Unicode, anywhere, is refused at write time with an InvalidInput naming it, and nothing is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelling import InvalidInput
from labelling.io.export import to_csv

BAD = "bad \ud800"
"""A lone (unpaired) surrogate: a Python str, but no UTF-8, UTF-16 or database text can hold it."""

BAD_ITEMS = {
    "string": ["fine", BAD],
    "dict value": [{"text": "fine"}, {"text": BAD}],
    "dict key": [{BAD: 1}],
    "nested list and tuple": [{"parts": ["ok", ("x", BAD)]}],
    "non-string dict key": [{(1, BAD): "v"}],
    "frame cell": pd.DataFrame({"text": pd.Series(["fine", BAD], dtype=object)}),  # pandas' own strings refuse it
    "frame python-string cell": pd.DataFrame({"text": pd.Series(["fine", BAD], dtype="string[python]")}),
    "frame column name": pd.DataFrame([["fine"]], columns=pd.Index([BAD], dtype=object)),
    "series": pd.Series(["fine", BAD], dtype=object),
    "numpy text array": [np.array(["fine", BAD])],
    "series inside an item": [pd.Series([1, 2], name=BAD)],
    "low surrogate": ["\udfff alone"],
}


@pytest.mark.parametrize("data", BAD_ITEMS.values(), ids=BAD_ITEMS.keys())
def test_items_with_invalid_unicode_are_refused_and_nothing_is_written(store, data):
    project = store.create_project("p", ["a", "b"])
    with pytest.raises(InvalidInput, match="not valid Unicode") as refused:
        store.add_items(project.id, data)
    assert "\\ud" in str(refused.value)  # names the character, escaped so the message itself can be shown
    str(refused.value).encode("utf-8")
    assert store.progress(project.id).total == 0
    to_csv(store.export(project.id))


def test_a_surrogate_pair_is_valid_text(store):
    project = store.create_project("p", ["a", "b"])
    store.add_items(project.id, ["emoji \U0001f600", "\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16")])
    assert list(store.export(project.id)["data"]) == ["emoji \U0001f600", "\U0001f600"]


def test_a_label_set_with_invalid_unicode_is_refused(store):
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.create_project("p", ["a", BAD])
    project = store.create_project("p", ["a", "b"])
    store.add_items(project.id, ["x"])
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.update_project(project.id, labels=["a", "b", BAD])
    assert store.project(project.id).labels == ("a", "b")
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", "a")
    store.annotations(project.id)
    to_csv(store.export(project.id))


def test_project_texts_with_invalid_unicode_are_refused(store):
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.create_project(BAD, ["a", "b"])
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.create_project("p", ["a", "b"], instructions=BAD)
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.create_project("p", ["a", "b"], settings={"display": BAD})
    assert store.projects() == []
    project = store.create_project("p", ["a", "b"])
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.update_project(project.id, instructions=BAD)
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        store.update_project(project.id, settings={BAD: 1})
    assert store.project(project.id).instructions == "" and store.project(project.id).settings == {}

