"""YOLO datasets read without a database: class names from the indices when no classes file is given, a
classes file inside labels/ is not a label file, two images of one name are refused; data.yaml written as
YAML (PyYAML reads it) and its class names read in the list and mapping forms PyYAML reads."""

from __future__ import annotations

import io
import zipfile

import pytest
import yaml
from PIL import Image

from labelling.errors import InvalidInput
from labelling.io import datayaml, yolo


def dataset(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_without_a_classes_file_the_classes_are_the_indices():
    found = yolo.read_dataset(
        dataset({"a.png": png(200, 100), "labels/a.txt": "2 0.5 0.5 0.5 0.5\n", "b.png": png(10, 10)})
    )
    assert found.classes == ("0", "1", "2")
    box = {"x": 50.0, "y": 25.0, "w": 100.0, "h": 50.0, "label": "2"}
    assert found.labels == [{"width": 200, "height": 100, "boxes": [box]}, None]
    assert [image[:22] for image in found.images] == ["data:image/png;base64,"] * 2


def test_a_classes_file_among_the_labels_names_the_classes():
    found = yolo.read_dataset(dataset({"x.png": png(4, 4), "labels/classes.txt": "cat\n", "labels/x.txt": ""}))
    assert found.classes == ("cat",) and found.labels == [{"width": 4, "height": 4, "boxes": []}]


def test_two_images_of_one_name_are_refused():
    with pytest.raises(InvalidInput, match="train/a.png and val/a.jpg have the same name"):
        yolo.read_dataset(dataset({"train/a.png": png(4, 4), "val/a.jpg": png(4, 4)}))


def test_an_entry_that_unpacks_too_large_is_refused_unread(monkeypatch):
    monkeypatch.setattr(yolo, "YOLO_LABEL_FILE_MAX_BYTES", 10)
    with pytest.raises(InvalidInput, match="labels/a.txt is larger than"):
        yolo.read_dataset(dataset({"a.png": png(4, 4), "labels/a.txt": "0 0.5 0.5 0.5 0.5\n"}))


def test_a_zip_that_unpacks_too_large_in_all_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(yolo, "YOLO_ZIP_MAX_BYTES", 50)
    with pytest.raises(InvalidInput, match="unpacks to more than"):
        yolo.read_dataset(dataset({"a.png": png(4, 4), "labels/a.txt": "0 0.5 0.5 0.5 0.5\n"}))


def test_a_damaged_entry_is_named_not_raised_as_a_zip_error():
    data = bytearray(dataset({"a.png": png(4, 4), "labels/a.txt": "0 0.5 0.5 0.5 0.5\n"}))
    at = data.find(b"0 0.5 0.5")
    data[at] = ord("1")  # the stored CRC no longer matches
    with pytest.raises(InvalidInput, match="labels/a.txt cannot be unpacked"):
        yolo.read_dataset(bytes(data))


def test_a_photo_turned_by_its_exif_orientation_is_measured_as_shown():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40x20, shown 20x40
    Image.new("RGB", (40, 20)).save(buffer, format="JPEG", exif=exif)
    found = yolo.read_dataset(dataset({"p.jpg": buffer.getvalue(), "labels/p.txt": "0 0.5 0.5 1 1\n"}))
    assert found.labels == [{"width": 20, "height": 40, "boxes": [{"x": 0.0, "y": 0.0, "w": 20.0, "h": 40.0, "label": "0"}]}]


# data.yaml: written for Ultralytics and read back by hand; PyYAML (a test-only dependency) is the referee

AWKWARD_NAMES = ["face", 'say "hi"', "back\\slash", "a: b # not a comment", "'quoted'", "café", "😀", "tab\there", "- dash", "[x]"]


def test_the_written_data_yaml_is_yaml_that_ultralytics_reads():
    text = datayaml.data_yaml(AWKWARD_NAMES)
    document = yaml.safe_load(text)
    assert document == {"train": "images", "val": "images", "nc": len(AWKWARD_NAMES), "names": AWKWARD_NAMES}
    assert "path" not in document  # Ultralytics then takes the folder of data.yaml as the dataset root
    assert datayaml.yaml_names(text) == AWKWARD_NAMES


@pytest.mark.parametrize(
    "text",
    [
        "names: [cat, dog]",
        "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['cat', 'dog']\n",  # Roboflow's form
        "names: {0: cat, 1: dog}",
        "names: {1: dog, 0: cat}",
        "path: ../datasets/pets\nnames:\n  0: cat\n  1: dog\n\ndownload: https://example.com/pets.zip\n",  # Ultralytics'
        "names:\n- cat\n- dog  # a comment\nnc: 2\n",
        'names: [\n  "cat", # the first\n  dog,\n]\n',
        "names:\n  - 'it''s'\n  - \"tab\\tand \\u00e9 and \\U0001F600\"\n  - a#b\n",
    ],
)
def test_data_yaml_names_as_lists_and_index_mappings_read_as_pyyaml_reads_them(text):
    names = yaml.safe_load(text)["names"]
    expected = [names[n] for n in sorted(names)] if isinstance(names, dict) else names
    assert datayaml.yaml_names(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("names: {0: cat, 2: dog}", "indices of `names` must be 0, 1, 2"),
        ("names:\n  0: cat\n  - dog\n", "mixes list entries"),
        ("names: [cat, dog", "not a closed \\[list\\]"),
        ("names: cat\n  - dog\n", "a list or a mapping of class names, not 'cat'"),
        ("names:\nnc: 2\n", "a list or a mapping of class names$"),
    ],
)
def test_a_data_yaml_whose_names_cannot_be_read_is_refused(text, message):
    with pytest.raises(InvalidInput, match=message):
        datayaml.yaml_names(text)


@pytest.mark.parametrize("names", ["names: [cat, dog]\n", "names:\n  0: cat\n  1: dog\n"])
def test_without_a_classes_file_a_data_yaml_names_the_classes(names):
    files = {"a.png": png(10, 10), "labels/a.txt": "1 0.5 0.5 0.2 0.2\n", "data.yaml": f"nc: 2\n{names}"}
    found = yolo.read_dataset(dataset(files))
    assert found.classes == ("cat", "dog") and found.labels[0]["boxes"][0]["label"] == "dog"
    assert yolo.read_dataset(dataset({**files, "classes.txt": "x\ny\n"})).classes == ("x", "y")  # classes.txt first
    assert yolo.read_dataset(dataset({**files, "data.yaml": "nc: 2\n"})).classes == ("0", "1")  # no names: indices


def test_a_data_image_is_named_for_its_item_and_a_file_by_its_name():
    assert yolo.image_name("data:image/jpeg;base64,/9j/4AAQ", 7) == "item-7.jpg"
    assert yolo.image_name("data:image/png;base64,iVBORw0K", 8) == "item-8.png"
    assert yolo.image_name("photos/a.png", 9) == "photos/a.png"
    assert [yolo.label_file(n) for n in ("item-7.jpg", "photos/a.png", "x/.hidden", "a.")] == [
        "labels/item-7.txt", "labels/a.txt", "labels/.hidden.txt", "labels/a..txt"
    ]


def test_a_data_yaml_larger_than_its_cap_is_refused_unread():
    names = "names: [" + ",".join(["a"] * (yolo.YOLO_DATA_FILE_MAX_BYTES // 2)) + "]\n"
    with pytest.raises(InvalidInput, match="data.yaml is larger than 64 KB"):
        yolo.read_dataset(dataset({"a.png": png(4, 4), "data.yaml": names}))


def test_a_list_of_names_near_the_cap_is_read_whole():
    names = [f"c{n}" for n in range(8_500)]  # about 60 KB: each entry is read where it starts, not from a copy
    text = "names: [" + ", ".join(names) + "]\n"
    assert 55_000 < len(text) <= yolo.YOLO_DATA_FILE_MAX_BYTES
    assert datayaml.yaml_names(text) == names == yaml.safe_load(text)["names"]
