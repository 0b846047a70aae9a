"""YOLO datasets read without a database: class names from the indices when no classes file is given, a
classes file inside labels/ is not a label file, two images of one name are refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from labelling.errors import InvalidInput
from labelling.io import yolo


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
