"""Entries of an annotation file found among a project's items (labelling.io.matching): exact image cell, else
the one item with the file name; exact text; an item id the file gives only settles exact ties; every
refusal names the entries and says nothing was written. And the ids and keys the readers keep for it."""

from __future__ import annotations

import json

import pytest

from labelling import InvalidInput
from labelling.io import formats
from labelling.io.matching import file_name, image_key, match_items


def parsed(keys, ids=None):
    return formats.Parsed((), list(keys), [None] * len(keys), {}, list(keys), ids or [])


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        ("/data/scans/001.png", "001.png"),
        ("C:\\scans\\001.png", "001.png"),
        ("https://cdn.example.org/scans/001.png?sig=abc#x", "001.png"),
        ("001.png", "001.png"),
        ("data:image/png;base64,AAAA", None),
        (7, None),
    ],
)
def test_the_file_name_of_an_image_cell(cell, name):
    assert file_name(cell) == name


IMAGES = {4: "/a/001.png", 5: "/b/001.png", 6: "https://x.org/002.png", 7: "/a/003.png"}


def test_images_match_exactly_else_by_their_one_file_name():
    assert match_items(parsed(["/b/001.png", "002.png", "a/003.png"]), IMAGES, by_file_name=True) == [5, 6, 7]
    with pytest.raises(
        InvalidInput, match=r"^1 entry .*several items have it.*'001.png' \(entry 1\) could be items 4, 5"
    ):
        match_items(parsed(["001.png"], [4]), IMAGES, by_file_name=True)  # a file's id never picks by file name


def test_an_id_settles_exact_ties_and_texts_match_only_exactly():
    texts = {1: "Same.", 2: "Same.", 3: "Other."}
    assert match_items(parsed(["Same.", "Other.", "Same."], [2, 99, 1]), texts, by_file_name=False) == [2, 3, 1]
    with pytest.raises(InvalidInput, match=r"several items have that text: give each line its item_id"):
        match_items(parsed(["Same."]), texts, by_file_name=False)
    with pytest.raises(InvalidInput, match=r"no item of the project has that text\): 'other.' \(entry 1\); nothing"):
        match_items(parsed(["other."]), texts, by_file_name=False)


def test_a_refusal_names_the_first_three_entries_and_counts_the_rest():
    with pytest.raises(InvalidInput, match=r"^5 entries .*'c' \(entry 3\) and 2 more; nothing was written$"):
        match_items(parsed(list("abcde")), IMAGES, by_file_name=True)
    with pytest.raises(InvalidInput, match=r"two entries of one item\): '003.png' \(entry 2\) is item 7, as entry 1"):
        match_items(parsed(["/a/003.png", "003.png"]), IMAGES, by_file_name=True)
    with pytest.raises(InvalidInput, match="the file holds no images or texts"):
        match_items(parsed([]), IMAGES, by_file_name=True)


def test_readers_keep_the_names_ids_and_scores_of_their_entries():
    coco = formats.read_coco(
        '{"images": [{"id": 3, "file_name": "a.png", "width": 4, "height": 4}], "categories": [{"id": 1, "name": "x"}],'
        ' "annotations": [{"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]}'
    )
    assert (coco.keys, coco.ids, coco.labels[0]["boxes"][0]["score"]) == (["a.png"], [3], 0.5)
    spans = formats.read_span_jsonl('{"text": "Ann", "item_id": 8, "spans": [[0, 3, "PER"]]}\n{"text": "Bob"}\n')
    assert (spans.keys, spans.ids) == (["Ann", "Bob"], [8, None])
    conll = formats.read_conll("# item_id = 12\nAnn\tB-PER\n\nBob\tO\n")
    assert (conll.keys, conll.ids) == (["Ann", "Bob"], [12, None])


def test_an_entry_s_folders_must_be_the_item_s():
    images = {1: "/data/val/0001.jpg", 2: "C:\\data\\train\\0002.jpg", 3: "https://x.org/set/train/0003.jpg?s=1"}
    entries = ["val/0001.jpg", "data/train/0002.jpg", "train\\0003.jpg"]
    assert match_items(parsed(entries), images, by_file_name=True) == [1, 2, 3]
    with pytest.raises(InvalidInput, match=r"in the entry's folders that file name\): 'train/0001.jpg' \(entry 1\)"):
        match_items(parsed(["train/0001.jpg"]), images, by_file_name=True)
    with pytest.raises(InvalidInput, match=r"'/other/val/0001.jpg' \(entry 1\)"):
        match_items(parsed(["/other/val/0001.jpg"]), images, by_file_name=True)


def test_a_data_image_goes_by_the_name_the_yolo_export_gives_it():
    assert image_key(7, "data:image/jpeg;base64,AAAA") == "item-7.jpg" and image_key(7, "/a/1.png") == "/a/1.png"
    images = {7: image_key(7, "data:image/png;base64,AAAA"), 8: image_key(8, "data:image/png;base64,AAAA")}
    assert match_items(parsed(["item-8.png", "item-7.png"]), images, by_file_name=True) == [8, 7]


def test_span_jsonl_lines_end_at_line_feeds_only():
    texts = ["a\u2028b", "c\u2029d\x85e", "f\rg"]  # str.splitlines would cut each (our writer leaves them as they are)
    source = "\r\n".join(json.dumps({"text": t, "spans": [[0, 1, "X"]]}, ensure_ascii=False) for t in texts)
    assert formats.read_span_jsonl(source.encode()).keys == texts
    assert formats.read_conll("Ann\tB-X\r\n\r\nBob\tO\r\n").keys == ["Ann", "Bob"]
