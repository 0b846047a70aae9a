"""Which formats a page offers and which a file is: the task's export formats, a predictions file's format
from its name, an annotation file's format from its name and first character."""

from __future__ import annotations

import pytest

from labelling.io import formats
from labelling.io.predictions import format_of
from labelling.records import Task
from labelling.setup.annotation_files import FORMATS, guess_format


def test_each_task_has_its_own_export_formats():
    assert formats.exports_for(Task.BOXES) == ["coco", "yolo"]
    assert formats.exports_for(Task.SPANS) == ["spans-jsonl", "spacy", "conll"]
    assert formats.exports_for(Task.CLASSIFY) == []


@pytest.mark.parametrize(
    "name, expected", [("model.jsonl", "jsonl"), ("OUT.NDJSON", "jsonl"), ("p.csv", "csv"), ("predictions", "csv")]
)
def test_a_predictions_file_format_comes_from_its_name(name, expected):
    assert format_of(name) == expected


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("instances.json", b'{"images": []}', "coco"),
        ("train.json", b'\xef\xbb\xbf\n [["Ada", {"entities": []}]]', "spacy"),
        ("doccano.jsonl", b'{"text": "x"}', "spans-jsonl"),
        ("ner.conll", b"Ada B-PER", "conll"),
        ("ner.TXT", b"Ada B-PER", "conll"),
        ("dataset.ZIP", b"PK\x03\x04", "yolo"),
        ("unnamed", b"{}", "coco"),
    ],
)
def test_an_annotation_file_format_is_guessed_from_its_name_and_first_character(name, data, expected):
    assert guess_format(name, data) == expected in FORMATS
