"""Reading gold labels from a table (Setup's "Mark as gold" CSV): which rows count, and bad ids."""

from __future__ import annotations

import pandas as pd
import pytest

from labelling import InvalidInput
from labelling.io.gold import gold_rows


def test_rows_with_a_label_are_gold_and_others_are_left_out():
    frame = pd.DataFrame({"item_id": [1, 2, 3, 4], "gold": ["a", None, " ", "b"]})
    assert gold_rows([frame], "item_id", "gold") == ([1, 4], ["a", "b"])


def test_ids_read_as_floats_and_several_chunks():
    first = pd.DataFrame({"item_id": [1.0, 2.0], "known": ["a", float("nan")]})
    second = pd.DataFrame({"item_id": ["3"], "known": ["b"]})
    assert gold_rows([first, second], "item_id", "known") == ([1, 3], ["a", "b"])


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"item_id": ["x"], "gold": ["a"]}), "not an item id"),
        (pd.DataFrame({"item_id": [1.5], "gold": ["a"]}), "not an item id"),
        (pd.DataFrame({"item_id": [1], "gold": [None]}), "no row has a label"),
        (pd.DataFrame({"id": [1], "gold": ["a"]}), "no column 'item_id'"),
    ],
)
def test_bad_tables_are_refused(frame, message):
    with pytest.raises(InvalidInput, match=message):
        gold_rows([frame], "item_id", "gold")
