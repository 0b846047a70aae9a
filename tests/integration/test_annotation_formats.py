"""Annotation files in and out, on SQLite and PostgreSQL: COCO -> project -> COCO and span JSONL -> project ->
JSONL keep every coordinate and offset; spaCy and CoNLL round trips; YOLO lines and data.yaml, boxes -> YOLO
zip or folder -> project -> YOLO zip -> project; what a format cannot hold refused up front and by the
writer in the same words, on the command line too; a malformed file, a box
outside its image, a span past the end of its text or an unknown class writes nothing. Through the library
and `python -m labelling import/export --format`."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
import yaml

from labelling import InvalidInput, ProjectNotFound, cli
from labelling.io import formats, writable
from labelling.setup.annotation_files import import_annotations

COCO = {
    "images": [
        {"id": 7, "file_name": "photos/a.jpg", "width": 640, "height": 480},
        {"id": 9, "file_name": "photos/b.jpg", "width": 100, "height": 50},
        {"id": 11, "file_name": "photos/empty.jpg", "width": 30, "height": 30},
    ],
    "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "dog"}],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10.25, 20, 100, 50.5]},
        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 640, 480]},
        {"id": 3, "image_id": 9, "category_id": 1, "bbox": [99.875, 0.125, 0.125, 49.875]},
    ],
}
SPANS_JSONL = (
    '{"text": "Ann works at Acme in Zürich.", "spans": [{"start": 0, "end": 3, "label": "PER"}, '
    '{"start": 13, "end": 17, "label": "ORG"}, {"start": 21, "end": 27, "label": "LOC"}]}\n'
    '{"text": "Nothing to see.", "spans": []}\n'
    '{"text": "  Bob  ", "spans": [{"start": 2, "end": 5, "label": "PER"}]}\n'
)


def boxes_by_file(document: dict) -> dict:
    """{file name: (width, height, sorted [(category name, bbox)])}: what a COCO file says, ids aside."""
    names = {c["id"]: c["name"] for c in document["categories"]}
    found = {i["id"]: (i["file_name"], i["width"], i["height"], []) for i in document["images"]}
    for note in document["annotations"]:
        found[note["image_id"]][3].append((names[note["category_id"]], note["bbox"]))
    return {name: (w, h, sorted(b)) for name, w, h, b in found.values()}


def test_coco_to_project_to_coco_keeps_every_coordinate(store):
    project, added = import_annotations(store, json.dumps(COCO), "coco", project="coco", create=True)
    assert (added, project.labels, project.options.task) == (3, ("cat", "dog"), "boxes")
    again = json.loads(formats.to_coco(project, store.export(project.id)))
    assert boxes_by_file(again) == boxes_by_file(COCO)
    assert [c["name"] for c in again["categories"]] == ["cat", "dog"]
    # and YOLO: class index, centre and size relative to the image
    archive = zipfile.ZipFile(io.BytesIO(formats.to_yolo(project, store.export(project.id))))
    assert archive.read("classes.txt").decode() == "cat\ndog\n"
    first, second = archive.read("labels/a.txt").decode().splitlines()
    assert [float(v) for v in first.split()] == [0, 60.25 / 640, 45.25 / 480, 100 / 640, 50.5 / 480]
    assert second == "1 0.5 0.5 1.0 1.0"
    assert archive.read("labels/empty.txt") == b""
    # and data.yaml, for Ultralytics: the classes in label-set order, images beside labels/
    assert yaml.safe_load(archive.read("data.yaml")) == {"train": "images", "val": "images", "nc": 2, "names": ["cat", "dog"]}


def test_yolo_refuses_two_images_of_one_name_in_different_folders(store):
    """Their label files would both be labels/a.txt, the second overwriting the first in the zip; `refusals`
    says so before anything is built, in the words the writer raises, and COCO is not blocked."""
    twins = {**COCO, "images": [*COCO["images"], {"id": 12, "file_name": "other/a.png", "width": 8, "height": 8}]}
    project, _ = import_annotations(store, json.dumps(twins), "coco", project="twins", create=True)
    frame = store.export(project.id)
    refused = writable.refusals(project, frame)
    assert list(refused) == ["yolo"]
    assert re.fullmatch(r"items \d+ \('photos/a.jpg'\) and \d+ \('other/a.png'\) would both be labels/a.txt: .*", refused["yolo"])
    with pytest.raises(InvalidInput) as refusal:
        formats.to_yolo(project, frame)
    assert str(refusal.value) == refused["yolo"]


def overlapping_project(store):
    """A span project that allows overlapping spans, items 1 and 3 of its 3 holding some."""
    lines = [
        {"text": "New York City", "spans": [[0, 8, "LOC"], [4, 13, "LOC"]]},
        {"text": "Ann Lee", "spans": [[0, 7, "PER"]]},
        {"text": "Bob Smith", "spans": [[0, 9, "PER"], [0, 3, "PER"]]},
    ]
    project = store.create_project(
        "nested", ["PER", "LOC"], task="spans", settings={"text_column": "text", "overlapping_spans": True}
    )
    store.add_items(project.id, [{"text": line["text"]} for line in lines])
    for item_id, line in zip(store.export(project.id)["item_id"], lines):
        store.adjudicate(project.id, int(item_id), "admin", {"spans": line["spans"]})
    return project


def test_conll_refuses_overlapping_spans_naming_the_items_and_the_other_formats_write_them(store):
    project = overlapping_project(store)
    frame = store.export(project.id)
    first, _, third = frame["item_id"].tolist()
    refused = writable.refusals(project, frame)
    assert refused == {
        "conll": f"IOB/CoNLL cannot hold overlapping spans, as in items {first}, {third}; span JSONL and spaCy JSON can"
    }
    with pytest.raises(InvalidInput) as refusal:
        formats.to_conll(project, frame)
    assert str(refusal.value) == refused["conll"]
    assert json.loads(formats.to_spacy(project, frame))[0][1] == {"entities": [[0, 8, "LOC"], [4, 13, "LOC"]]}
    flat, _ = import_annotations(store, SPANS_JSONL, "spans-jsonl", project="flat", create=True)
    assert writable.refusals(flat, store.export(flat.id)) == {}


def test_the_cli_export_says_what_the_export_page_says(db_url, tmp_path, monkeypatch, capsys, open_store):
    store = open_store(db_url)
    project = overlapping_project(store)
    refused = writable.refusals(project, store.export(project.id))["conll"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["export", "--project", "nested", "--format", "conll", "--output", "out.conll"]) == 1
    assert capsys.readouterr().err == f"labelling: {refused}\n"
    assert not (tmp_path / "out.conll").exists()
    assert cli.main(["export", "--project", "nested", "--format", "spans-jsonl", "--output", "out.jsonl"]) == 0


def test_span_jsonl_to_project_to_jsonl_keeps_every_offset(store):
    project, added = import_annotations(store, SPANS_JSONL.encode(), "spans-jsonl", project="ner", create=True)
    assert (added, project.labels) == (3, ("PER", "ORG", "LOC"))
    written = [json.loads(line) for line in formats.to_span_jsonl(project, store.export(project.id)).splitlines()]
    expected = [json.loads(line) for line in SPANS_JSONL.splitlines()]
    assert [{k: w[k] for k in ("text", "spans")} for w in written] == expected
    # spaCy's form carries the same offsets
    spacy = json.loads(formats.to_spacy(project, store.export(project.id)))
    assert spacy[0] == ["Ann works at Acme in Zürich.", {"entities": [[0, 3, "PER"], [13, 17, "ORG"], [21, 27, "LOC"]]}]
    again, _ = import_annotations(store, json.dumps(spacy), "spacy", project="ner again", create=True)
    assert store.export(again.id)["label"].tolist() == store.export(project.id)["label"].tolist()


def test_conll_round_trip_of_whitespace_tokens(store):
    conll = "# doc\nAnn\tB-PER\nLee\tI-PER\nworks\tO\nat\tO\nAcme\tB-ORG\nCorp\tI-ORG\n\nOk\tO\n"
    project, _ = import_annotations(store, conll, "conll", project="iob", create=True)
    frame = store.export(project.id)
    assert frame["text"].tolist() == ["Ann Lee works at Acme Corp", "Ok"]
    assert formats.to_conll(project, frame).decode().split("\n", 1)[1].startswith("Ann\tB-PER\nLee\tI-PER\nworks\tO")
    again = formats.read_conll(formats.to_conll(project, frame))
    assert again.labels == [{"spans": [[0, 7, "PER"], [17, 26, "ORG"]]}, {"spans": []}]


def test_conll_splits_tokens_at_span_edges_so_no_span_widens(store):
    project, _ = import_annotations(store, SPANS_JSONL.encode(), "spans-jsonl", project="ner", create=True)
    frame = store.export(project.id)
    first = formats.to_conll(project, frame).decode().split("\n\n")[0].splitlines()[1:]
    assert first == ["Ann\tB-PER", "works\tO", "at\tO", "Acme\tB-ORG", "in\tO", "Zürich\tB-LOC", ".\tO"]
    again = formats.read_conll(formats.to_conll(project, frame))
    assert again.keys[0] == "Ann works at Acme in Zürich ."  # CoNLL keeps no spacing: a space before the stop
    assert again.labels[0] == {"spans": [[0, 3, "PER"], [13, 17, "ORG"], [21, 27, "LOC"]]}  # not "Zürich."


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not JSON"),
        ({"images": []}, "COCO file is a JSON object"),
        ({**COCO, "annotations": [{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1]}]}, "image 99"),
        ({**COCO, "annotations": [{"image_id": 7, "category_id": 5, "bbox": [0, 0, 1, 1]}]}, "category 5"),
        ({**COCO, "annotations": [{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1]}]}, "bbox must be"),
        ({**COCO, "annotations": [{"image_id": 9, "category_id": 1, "bbox": [90, 0, 20, 10]}]}, "outside the 100x50"),
        ({**COCO, "images": [{"id": 7, "file_name": "a.jpg"}]}, "image 1 must be an object with"),
    ],
)
def test_a_bad_coco_file_writes_nothing(store, document, message):
    source = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(InvalidInput, match=message):
        import_annotations(store, source, "coco", project="bad", create=True)
    with pytest.raises(ProjectNotFound):
        store.project("bad")


def test_bad_spans_added_to_a_project_write_nothing(store):
    project, _ = import_annotations(store, SPANS_JSONL, "spans-jsonl", project="ner", create=True)
    past = '{"text": "Short", "spans": [{"start": 0, "end": 6, "label": "PER"}]}\n'
    unknown = '{"text": "Ok fine", "spans": [[0, 2, "DATE"]]}\n'
    for bad, message in ((past, "past the end"), (unknown, "DATE")):
        with pytest.raises(InvalidInput, match=message):
            import_annotations(store, SPANS_JSONL + bad, "spans-jsonl", project="ner")
    with pytest.raises(InvalidInput, match="spans project; a coco file holds boxes"):
        import_annotations(store, json.dumps(COCO), "coco", project="ner")
    assert len(store.export(project.id)) == 3
    assert import_annotations(store, SPANS_JSONL, "spans-jsonl", project="ner")[1] == 3


def test_the_cli_imports_and_exports_annotation_files(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    (tmp_path / "in.json").write_text(json.dumps(COCO))
    assert cli.main(["import", "in.json", "--format", "coco", "--project", "boxes", "--create"]) == 0
    assert "imported 3 items" in capsys.readouterr().out
    assert cli.main(["export", "--project", "boxes", "--format", "coco", "--output", "out.json"]) == 0
    assert boxes_by_file(json.loads((tmp_path / "out.json").read_text())) == boxes_by_file(COCO)
    assert cli.main(["export", "--project", "boxes", "--format", "spacy"]) == 1
    assert "boxes project: this format is for spans" in capsys.readouterr().err
    assert cli.main(["import", "in.json", "--format", "coco", "--project", "x", "--text-column", "t"]) == 1


def yolo_dataset(store, tmp_path, monkeypatch) -> tuple[dict, bytes]:
    """The COCO project's images written as PNG files (the working directory is the media folder), its
    boxes {file stem: (width, height, sorted boxes)}, and its YOLO export zip with the images added."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    document = {**COCO, "images": [{**i, "file_name": i["file_name"].replace(".jpg", ".png")} for i in COCO["images"]]}
    (tmp_path / "photos").mkdir()
    for image in document["images"]:
        Image.new("RGB", (image["width"], image["height"]), "white").save(tmp_path / image["file_name"])
    project, _ = import_annotations(store, json.dumps(document), "coco", project="coco", create=True)
    exported = formats.to_yolo(project, store.export(project.id))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, zipfile.ZipFile(io.BytesIO(exported)) as labels:
        for name in labels.namelist():
            archive.writestr(name, labels.read(name))
        for image in document["images"]:
            archive.write(tmp_path / image["file_name"], f"images/{image['file_name'].split('/')[-1]}")
    expected = {name.split("/")[-1][: -len(".png")]: boxes for name, boxes in boxes_by_file(document).items()}
    return expected, buffer.getvalue()


def imported_boxes(store, project) -> list:
    """Each item's (width, height, sorted [(class, bbox)]) in item order, as boxes_by_file says them."""
    found = []
    for label in store.export(project.id)["label"]:
        boxes = [(b.label, [b.x, b.y, b.w, b.h]) for b in label.boxes] if label is not None else None
        found.append(None if boxes is None else (label.width, label.height, sorted(boxes)))
    return found


def test_boxes_to_yolo_to_project_keep_every_box(store, tmp_path, monkeypatch):
    expected, dataset = yolo_dataset(store, tmp_path, monkeypatch)
    project, added = import_annotations(store, dataset, "yolo", project="from yolo", create=True)
    assert (added, project.labels, project.options.task) == (3, ("cat", "dog"), "boxes")
    assert imported_boxes(store, project) == [expected[stem] for stem in sorted(expected)]
    assert all(cell.startswith("data:image/png;base64,") for cell in store.export(project.id)["image"])
    # its YOLO export holds those images (their names lost: item-<id>.png) and imports as it is
    again = formats.to_yolo(project, store.export(project.id))
    ids = store.export(project.id)["item_id"].tolist()
    assert sorted(n for n in zipfile.ZipFile(io.BytesIO(again)).namelist() if n.startswith("images/")) == sorted(
        f"images/item-{i}.png" for i in ids
    )
    project, added = import_annotations(store, again, "yolo", project="from our yolo", create=True)
    assert (added, project.labels) == (3, ("cat", "dog"))
    assert sorted(imported_boxes(store, project)) == sorted(expected.values())  # images in order of item-<id>
    # a folder (as the CLI takes it): the items are the image files, which must lie under the media folders
    folder = tmp_path / "dataset"
    zipfile.ZipFile(io.BytesIO(dataset)).extractall(folder)
    (folder / "images" / "extra.png").write_bytes((folder / "images" / "a.png").read_bytes())
    project, added = import_annotations(store, folder, "yolo", project="from folder", create=True)
    frame = store.export(project.id)
    assert list(frame["image"]) == [str(folder / "images" / f"{s}.png") for s in ("a", "b", "empty", "extra")]
    assert imported_boxes(store, project) == [*(expected[s] for s in sorted(expected)), None]  # extra: no labels
    with pytest.raises(InvalidInput, match="outside the folders"):
        import_annotations(store, folder, "yolo", project="elsewhere", create=True, media_roots=[tmp_path / "photos"])
    # without classes.txt, the data.yaml of the export names the classes
    (folder / "classes.txt").unlink()
    project, _ = import_annotations(store, folder, "yolo", project="from data.yaml", create=True)
    assert project.labels == ("cat", "dog")
    assert imported_boxes(store, project) == [*(expected[s] for s in sorted(expected)), None]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels/a.txt": "2 0.5 0.5 0.1 0.1\n"}, r"labels/a.txt line 1: class 2 is not one of the 2 classes"),
        ({"labels/b.txt": "0 0.5 0.5 0.1\n"}, r"labels/b.txt line 1: a box is `class x_center"),
        ({"labels/b.txt": "0 0.5 0.5 0.1 0.1\n0 0.5 x 0.1 0.1\n"}, r"labels/b.txt line 2: .* is not a class index"),
        ({"labels/a.txt": "1 0.5 1.5 0.1 0.1\n"}, r"labels/a.txt line 1: the centre and size must be numbers in 0..1"),
        ({"labels/a.txt": "1 0.95 0.5 0.2 0.1\n"}, r"labels/a.txt line 1: the box reaches outside the image"),
        ({"labels/ghost.txt": "0 0.5 0.5 0.1 0.1\n"}, r"labels/ghost.txt has no image named ghost"),
        ({"images/a.png": "not a png"}, r"images/a.png is not an image Pillow can read"),
    ],
)
def test_a_bad_yolo_dataset_writes_nothing(store, tmp_path, monkeypatch, change, message):
    _, dataset = yolo_dataset(store, tmp_path, monkeypatch)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, zipfile.ZipFile(io.BytesIO(dataset)) as good:
        for name in good.namelist():
            archive.writestr(name, change.get(name, good.read(name)))
        for name in change.keys() - set(good.namelist()):
            archive.writestr(name, change[name])
    with pytest.raises(InvalidInput, match=message):
        import_annotations(store, buffer.getvalue(), "yolo", project="bad", create=True)
    with pytest.raises(ProjectNotFound):
        store.project("bad")


def test_the_cli_imports_a_yolo_folder(db_url, tmp_path, monkeypatch, capsys, open_store):
    expected, dataset = yolo_dataset(open_store(db_url), tmp_path, monkeypatch)
    monkeypatch.setenv("DATABASE_URL", db_url)
    zipfile.ZipFile(io.BytesIO(dataset)).extractall(tmp_path / "dataset")
    (tmp_path / "dataset.zip").write_bytes(dataset)
    assert cli.main(["import", "dataset", "--format", "yolo", "--project", "folder", "--create"]) == 0
    assert cli.main(["import", "dataset.zip", "--format", "yolo", "--project", "zip", "--create"]) == 0
    assert capsys.readouterr().out.count("imported 3 items with their labels") == 2
    store = open_store(db_url)
    for name in ("folder", "zip"):
        assert imported_boxes(store, store.project(name)) == [expected[s] for s in sorted(expected)]
