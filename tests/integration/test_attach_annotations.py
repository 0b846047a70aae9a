"""An annotation file about items already in a project, on SQLite and PostgreSQL: a detector's COCO output for
images imported from a CSV becomes their predictions (matched by file name, ordering the queue least
confident first), span JSONL becomes imported labels of the texts it repeats (or names by item_id); an
entry that matches no item, or several, a malformed file or a box outside its image writes nothing and is
named. Through the library and `python -m labelling import --onto-existing` / `predictions --format coco`."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from _helpers import current_annotations, drain, new_project

from labelling import Box, Boxes, InvalidInput, Span, Spans, cli
from labelling.io import formats
from labelling.learning.imported import import_predictions
from labelling.records import IMPORTED_RUN
from labelling.setup import csv_import
from labelling.setup.annotation_files import import_annotations

SIZES = {"001.png": (40, 30), "002.png": (40, 30), "003.png": (20, 20), "004.png": (20, 20)}
"""The X-rays of the CSV, by file name: (width, height)."""
EMPTY_BOXES = {"width": 20, "height": 20, "boxes": []}


def xray_project(store, tmp_path, name="xrays"):
    """A box project made from a CSV of image paths (the images under tmp_path/scans, the media folder), as
    the Setup page makes one; returns it and {file name: item id}."""
    from PIL import Image

    (tmp_path / "scans").mkdir(exist_ok=True)
    for file, size in SIZES.items():
        Image.new("L", size).save(tmp_path / "scans" / file)
    store.item_labels.media_roots = (tmp_path,)
    rows = "".join(f"{tmp_path / 'scans' / file},patient {n}\n" for n, file in enumerate(SIZES))
    settings = csv_import.build_settings(["image", "patient"], "image", image_column="image", task="boxes")
    project, _ = csv_import.import_csv(
        store,
        io.BytesIO(f"image,patient\n{rows}".encode()),
        name=name,
        labels=["caries", "filling"],
        settings=settings,
        media_roots=[tmp_path],
    )
    frame = store.export(project.id)
    return project, {path.rsplit("/", 1)[-1]: int(i) for path, i in zip(frame["image"], frame["item_id"])}


def coco(detections: dict[str, list[tuple[str, list[float], float]]]) -> str:
    """A detector's COCO output: its own image ids (1, 2, ...), file names without folders, scored boxes."""
    names = {"caries": 1, "filling": 2, "decay": 3}  # decay: a class the project does not have
    sizes = {f: SIZES.get(f, (20, 20)) for f in detections}
    images = [
        {"id": n, "file_name": f, "width": sizes[f][0], "height": sizes[f][1]} for n, f in enumerate(detections, 1)
    ]
    notes = [
        {"id": len(images) * 10 + k, "image_id": n, "category_id": names[c], "bbox": bbox, "score": score}
        for n, found in enumerate(detections.values(), 1)
        for k, (c, bbox, score) in enumerate(found)
    ]
    return json.dumps(
        {"images": images, "annotations": notes, "categories": [{"id": i, "name": c} for c, i in names.items()]}
    )


DETECTIONS = {
    "001.png": [("caries", [1, 2, 10, 5], 0.9), ("filling", [20, 10, 5, 5], 0.7)],  # confidence 0.8
    "002.png": [("caries", [0, 0, 40, 30], 0.3)],
    "003.png": [],  # nothing found: confidence 1.0
}


def test_coco_predictions_attach_to_csv_items_by_file_name_and_order_the_queue(store, tmp_path):
    project, ids = xray_project(store, tmp_path)
    done = import_predictions(store, project.id, coco(DETECTIONS), format="coco", shuffle_prop=0.0)
    assert (done.predictions, done.ordered) == (3, 3)
    first = store.next_item(project.id, "alice")
    assert first.id == ids["002.png"]  # least confident first
    suggestion = first.suggestion
    assert (suggestion.label, suggestion.probability, suggestion.run_id) == (
        Boxes(40, 30, (Box(0, 0, 40, 30, "caries"),)),
        0.3,
        IMPORTED_RUN,
    )
    store.skip(project.id, first.id, "alice")
    handed = []
    while (item := store.next_item(project.id, "bob")) is not None:
        handed.append(item.id)
        size = SIZES[next(f for f, i in ids.items() if i == item.id)]
        store.submit(project.id, item.id, "bob", {"width": size[0], "height": size[1], "boxes": []})
    assert handed == [ids["002.png"], ids["001.png"], ids["003.png"], ids["004.png"]]  # 004: no prediction, last
    assert store.model_data.prediction(project.id, ids["001.png"]).probability == pytest.approx(0.8)
    assert store.annotations(project.id)["labeller"].eq("bob").all()  # predictions are no labels


def test_yolo_lines_with_confidences_attach_as_predictions(store, tmp_path):
    project, ids = xray_project(store, tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("classes.txt", "caries\nfilling\n")
        archive.writestr("labels/003.txt", "1 0.5 0.5 0.5 0.5 0.25\n")
        archive.write(tmp_path / "scans" / "003.png", "images/003.png")
        archive.write(tmp_path / "scans" / "004.png", "images/004.png")  # no label file: no prediction
    done = import_predictions(store, project.id, buffer.getvalue(), format="yolo", order="none")
    assert done.predictions == 1
    found = store.model_data.prediction(project.id, ids["003.png"])
    assert (found.label, found.probability) == (Boxes(20, 20, (Box(5, 5, 10, 10, "filling"),)), 0.25)


def test_predictions_on_our_yolo_export_of_a_yolo_zip_attach_to_its_data_images(store, tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("classes.txt", "caries\nfilling\n")
        for name, size in (("a", (20, 20)), ("b", (40, 30))):
            image = io.BytesIO()
            Image.new("L", size).save(image, format="PNG")
            archive.writestr(f"train/images/{name}.png", image.getvalue())
            archive.writestr(f"train/labels/{name}.txt", "0 0.5 0.5 0.5 0.5\n")
    project, _ = import_annotations(store, buffer.getvalue(), "yolo", project="from yolo", create=True)
    exported = zipfile.ZipFile(io.BytesIO(formats.to_yolo(project, store.export(project.id))))
    predicted = io.BytesIO()  # a detector's output on the exported images: its label lines with a confidence
    with zipfile.ZipFile(predicted, "w") as archive:
        for name in exported.namelist():
            scored = name.startswith("labels/") and name != "labels/classes.txt"
            archive.writestr(name, exported.read(name).replace(b"\n", b" 0.25\n") if scored else exported.read(name))
    done = import_predictions(store, project.id, predicted.getvalue(), format="yolo", order="none")
    assert done.predictions == 2
    for item_id in store.export(project.id)["item_id"]:
        assert store.model_data.prediction(project.id, int(item_id)).probability == pytest.approx(0.25)


def test_span_jsonl_labels_attach_by_text_or_item_id(store):
    project = new_project(store, ("PER", "ORG"), task="spans", settings={"text_column": "text"})
    store.add_items(project.id, [{"text": t} for t in ("Ann met Bob.", "Acme hired Ann.", "Acme hired Ann.")])
    first, second, third = (int(i) for i in store.export(project.id)["item_id"])
    lines = [
        {"text": "Acme hired Ann.", "item_id": third, "spans": [{"start": 0, "end": 4, "label": "ORG", "score": 0.5}]},
        {"text": "Ann met Bob.", "spans": [[0, 3, "PER"], [8, 11, "PER"]]},
    ]
    source = "".join(json.dumps(line) + "\n" for line in lines)
    _, labelled = import_annotations(store, source, "spans-jsonl", project=project.id, onto_existing=True)
    assert labelled == 2
    final = store.export(project.id).set_index("item_id")["label"]
    assert final[first] == Spans((Span(0, 3, "PER"), Span(8, 11, "PER")))
    assert final[third] == Spans((Span(0, 4, "ORG"),)) and final[second] is None
    assert drain(store, project.id, "alice", label={"spans": []}) == [second]  # the labelled items are complete
    # importing again replaces the imported labels, keeping the old ones in the history
    import_annotations(
        store, lines_of(lines[1:], spans=[[0, 3, "PER"]]), "spans-jsonl", project=project.id, onto_existing=True
    )
    assert store.export(project.id).set_index("item_id")["label"][first] == Spans((Span(0, 3, "PER"),))
    mine = store.annotations(project.id).query("labeller == 'import' and item_id == @first")
    assert sorted(mine["current"]) == [False, True] and set(mine["source"]) == {"import"}
    assert len(current_annotations(store, project.id)) == 3


def lines_of(lines: list[dict], **changes) -> str:
    return "".join(json.dumps({**line, **changes}) + "\n" for line in lines)


@pytest.mark.parametrize(
    ("change", "as_labels", "message"),
    [
        (
            {"005.png": []},
            True,
            r"1 entry of the file cannot be matched \(no item .* file name\): '005.png' \(entry 4\)",
        ),
        (
            {"001.png": [("caries", [35, 0, 10, 5], 0.5)]},
            True,
            r"item \d+: box 1 \(caries\) .* reaches outside the 40x30",
        ),
        (
            {"003.png": [("decay", [1, 1, 2, 2], 0.5)]},
            True,
            r"box 1 has the class 'decay', which is not in the label set",
        ),
        ({"001.png": [("caries", [1, 1, 2, 2], 1.5)]}, False, r"a score must be between 0 and 1"),
    ],
)
def test_a_file_that_does_not_fit_writes_nothing(store, tmp_path, change, as_labels, message):
    project, _ = xray_project(store, tmp_path)
    detections = {**DETECTIONS, **change}
    with pytest.raises(InvalidInput, match=message):
        import_predictions(store, project.id, coco(detections), format="coco")
    if as_labels:
        with pytest.raises(InvalidInput, match=message):
            import_annotations(store, coco(detections), "coco", project=project.id, onto_existing=True)
    assert store.export(project.id)["label"].isna().all()
    assert all(store.model_data.prediction(project.id, int(i)) is None for i in store.export(project.id)["item_id"])


def test_ambiguous_names_and_wrong_ids_write_nothing(store, tmp_path):
    project, ids = xray_project(store, tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "001.png").write_bytes((tmp_path / "scans" / "001.png").read_bytes())
    store.add_items(project.id, [{"image": str(tmp_path / "other" / "001.png"), "patient": "twin"}])
    with pytest.raises(InvalidInput, match=r"several items have it.*'001.png' \(entry 1\) could be items"):
        import_annotations(store, coco(DETECTIONS), "coco", project=project.id, onto_existing=True)
    # the full path settles it, and so does the item id of our own export
    document = json.loads(coco({"001.png": DETECTIONS["001.png"]}))
    document["images"][0]["file_name"] = str(tmp_path / "scans" / "001.png")
    assert import_annotations(store, json.dumps(document), "coco", project=project.id, onto_existing=True)[1] == 1
    document["images"][0].update(file_name="001.png", id=ids["002.png"])  # an id that is another image's item
    document["annotations"] = [{**a, "image_id": ids["002.png"]} for a in document["annotations"]]
    with pytest.raises(InvalidInput, match=r"'001.png' \(entry 1\) could be items"):
        import_annotations(store, json.dumps(document), "coco", project=project.id, onto_existing=True)
    twice = json.loads(coco({"001.png": [], "003.png": []}))
    twice["images"][0]["file_name"] = twice["images"][1]["file_name"] = "003.png"
    with pytest.raises(InvalidInput, match=r"two entries of one item\): '003.png' \(entry 2\) is item \d+, as entry 1"):
        import_annotations(store, json.dumps(twice), "coco", project=project.id, onto_existing=True)
    with pytest.raises(InvalidInput, match=r"the COCO file is not JSON"):
        import_predictions(store, project.id, "{", format="coco")
    with pytest.raises(InvalidInput, match=r"a boxes project; a spans-jsonl file holds spans"):
        import_annotations(store, '{"text": "x"}\n', "spans-jsonl", project=project.id, onto_existing=True)
    labels = store.export(project.id).set_index("item_id")["label"]
    assert labels.notna().sum() == 1 and labels[ids["001.png"]].boxes[0].label == "caries"


def test_spans_without_scores_are_no_predictions_and_taken_items_are_refused(store):
    project = new_project(store, ("PER",), task="spans", settings={"text_column": "text"})
    store.add_items(project.id, [{"text": "Ann"}, {"text": "Bob"}])
    with pytest.raises(InvalidInput, match=r"the prediction for item \d+: no confidence"):
        import_predictions(store, project.id, '{"text": "Ann", "spans": [[0, 3, "PER"]]}\n', format="spans-jsonl")
    for format, source in (("conll", "Ann\tO\n\nBob\tO\n"), ("spacy", '[["Ann", {"entities": []}]]')):
        with pytest.raises(InvalidInput, match=rf"a {format} file has no scores, so it cannot be predictions"):
            import_predictions(store, project.id, source, format=format)  # else: "nothing found", confidence 1.0
    held = store.next_item(project.id, "alice")
    text = store.export(project.id).set_index("item_id")["text"][held.id]
    source = lines_of([{"text": "Ann"}, {"text": "Bob"}], spans=[])
    with pytest.raises(InvalidInput, match=rf"item {held.id} has no open place for a label"):
        import_annotations(store, source, "spans-jsonl", project=project.id, onto_existing=True)
    assert text in ("Ann", "Bob") and store.annotations(project.id).empty


def test_the_cli_attaches_labels_and_predictions(db_url, tmp_path, monkeypatch, capsys, open_store):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    project, ids = xray_project(open_store(db_url), tmp_path)
    (tmp_path / "detections.json").write_text(coco(DETECTIONS))
    predictions = ["predictions", "detections.json", "--format", "coco", "--project", "xrays", "--seed", "1"]
    assert cli.main(predictions) == 0
    assert "imported 3 predictions into 'xrays'; 3 open items ordered by them" in capsys.readouterr().out
    labels = ["import", "detections.json", "--format", "coco", "--project", "xrays", "--onto-existing"]
    assert cli.main(labels) == 0
    assert "imported labels of 3 items of 'xrays'" in capsys.readouterr().out
    assert cli.main([*labels, "--create"]) == 1
    assert "choose one" in capsys.readouterr().err
    store = open_store(db_url)
    final = store.export(project.id).set_index("item_id")["label"]
    assert final[ids["003.png"]] == Boxes(20, 20) and final[ids["004.png"]] is None
    assert store.model_data.prediction(project.id, ids["001.png"]).probability == pytest.approx(0.8)


def test_with_two_labellers_per_item_an_imported_label_is_the_first_and_the_item_comes_first(store):
    project = new_project(store, ("PER",), task="spans", settings={"text_column": "text"}, overlap=2)
    store.add_items(project.id, [{"text": t} for t in ("Ann", "Bob", "Cid")])
    cid = int(store.export(project.id)["item_id"].iloc[2])
    import_annotations(
        store, lines_of([{"text": "Cid"}], spans=[[0, 3, "PER"]]), "spans-jsonl", project=project.id, onto_existing=True
    )
    assert drain(store, project.id, "alice", label={"spans": []})[0] == cid  # partly labelled items first
    assert drain(store, project.id, "bob", label={"spans": []}).count(cid) == 0  # two labels: complete
    assert sorted(current_annotations(store, project.id).query("item_id == @cid")["labeller"]) == ["alice", "import"]
