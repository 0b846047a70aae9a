"""Finding 2 of issue 15: any existing path in an image column was passed to the page, so a CSV file could
make the app serve any image on the server to labellers. Now image paths resolve only under the
deployer's `media_roots`: the Setup page and `labelling import` refuse a path outside them at import
time, naming the row, and neither the page nor the worker reads one."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from labelling import InvalidInput, cli
from labelling.errors import ImageUnavailable
from labelling.learning.features import ImageLoader
from labelling.settings import Settings
from labelling.setup.csv_import import append_csv, import_csv

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
IMAGE_SETTINGS = {"display": "image", "image_column": "image"}


@pytest.fixture
def folders(tmp_path):
    """(the media folder with one image, a folder outside it with another)."""
    media, outside = tmp_path / "media", tmp_path / "elsewhere"
    for folder in (media, outside):
        folder.mkdir()
        Image.new("L", (4, 4), 90).save(folder / "cat.png")
    return media, outside


def csv_file(cells: list[str]) -> io.BytesIO:
    return io.BytesIO(("image\n" + "".join(f'"{c}"\n' for c in cells)).encode())


def test_the_setting_comes_from_a_toml_list_or_a_path_list_and_defaults_to_the_working_directory(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    given = Settings.load(secrets={"media_roots": [str(first), str(second)]}, environ={})
    assert given.media_roots == (first, second)
    environ = {"LABELLING_MEDIA_ROOTS": f"{first}{os.pathsep}{second}"}
    assert Settings.load(secrets={}, environ=environ).media_roots == (first, second)
    assert Settings.load(secrets={}, environ={}).media_roots == (Path.cwd().resolve(),)


def test_an_import_naming_a_file_outside_the_media_folders_is_refused_with_its_row(store, folders):
    media, outside = folders
    cells = [str(media / "cat.png"), "https://example.org/cat.png", str(outside / "cat.png"), "data:image/png;base64,AA=="]
    with pytest.raises(InvalidInput, match=r"^row 3 .*outside the folders this app may show images from"):
        import_csv(store, csv_file(cells), name="photos", labels=["cat", "dog"], settings=IMAGE_SETTINGS,
                   media_roots=[media])
    assert store.projects() == []  # nothing was created

    made, added = import_csv(store, csv_file(cells[:2]), name="photos", labels=["cat", "dog"],
                             settings=IMAGE_SETTINGS, media_roots=[media])
    assert added == 2
    sneaky = [str(media / "cat.png"), str(media / ".." / "elsewhere" / "cat.png"), "/etc/hostname"]
    with pytest.raises(InvalidInput, match=r"^row 2 "):  # `..` is resolved; later chunks count on
        append_csv(store, made, csv_file(sneaky), media_roots=[media], chunk_rows=1)
    (media / "link.png").symlink_to(outside / "cat.png")
    with pytest.raises(InvalidInput, match=r"^row 1 "):  # a link inside pointing outside is outside
        append_csv(store, made, csv_file([str(media / "link.png")]), media_roots=[media])
    assert store.progress(made.id).total == 2  # nothing was added


def test_the_cli_refuses_such_a_file_with_its_row(store, db_url, folders, tmp_path, monkeypatch, capsys):
    media, outside = folders
    store.create_project("photos", ["cat", "dog"], settings=IMAGE_SETTINGS)
    data = tmp_path / "more.csv"
    data.write_text(f"image\n{media / 'cat.png'}\n{outside / 'cat.png'}\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LABELLING_MEDIA_ROOTS", str(media))
    monkeypatch.chdir(tmp_path)

    assert cli.main(["import", str(data), "--project", "photos"]) == 1
    err = capsys.readouterr().err
    assert "row 2" in err and str(outside / "cat.png") in err
    assert store.progress(store.project("photos").id).total == 0


def test_the_setup_page_refuses_such_a_file_with_its_row(sqlite_url, open_store, folders, monkeypatch):
    media, outside = folders
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LABELLING_MEDIA_ROOTS", str(media))
    monkeypatch.delenv("LABELLING_ADMIN_PASSWORD", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    store = open_store(sqlite_url)
    store.create_project("first", ["a", "b"])  # so the app does not offer the demo project first
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("pages/setup.py").run()
    raw = f"image,kind\n{media / 'cat.png'},a\n{outside / 'cat.png'},b\n".encode()
    at.file_uploader(key="new-csv-0").set_value(("photos.csv", raw, "text/csv"))
    at.run()
    at.radio(key="display-0").set_value("image").run()
    at.selectbox(key="label-column-0").select("kind").run()
    at.button(key="create-0").click().run()
    st.cache_resource.clear()

    assert not at.exception
    assert [e.value for e in at.error if "row 2" in e.value and "outside the folders" in e.value]
    assert [p.name for p in store.projects()] == ["first"]


def test_the_worker_reads_no_file_outside_the_media_folders(folders):
    media, outside = folders
    loader = ImageLoader(None, media_roots=[media])
    assert loader.load(str(media / "cat.png")).shape == (4, 4)
    for refused in (outside / "cat.png", media / ".." / "elsewhere" / "cat.png"):
        with pytest.raises(ImageUnavailable, match="outside the folders"):
            loader.load(str(refused))


def test_imported_box_labels_are_checked_against_images_in_the_deployers_media_folders(store, folders):
    """The label's image size is read under the store's media_roots (the deployer's), not the working
    directory's: a label drawn on another size is refused, the right one kept."""
    media, _ = folders
    store.item_labels.media_roots = (media,)
    items = [{"image": str(media / "cat.png")}]
    wrong, right = ({"width": size, "height": size, "boxes": []} for size in (100, 4))
    with pytest.raises(InvalidInput, match="100x100 image, but the image is 4x4"):
        store.import_project("boxes", ["cat"], items, [wrong], settings=IMAGE_SETTINGS, task="boxes")
    project, added = store.import_project("boxes", ["cat"], items, [right], settings=IMAGE_SETTINGS, task="boxes")
    with pytest.raises(InvalidInput, match="row 1: .*but the image is 4x4"):
        store.add_items(project.id, items, [wrong])
    assert added == 1 and store.progress(project.id).total == 1


def test_the_cli_store_reads_images_under_the_configured_media_folders(db_url, folders):
    media, _ = folders
    settings = Settings.load(secrets={"database_url": db_url, "media_roots": [str(media)]}, environ={})
    store = cli.common.connect(argparse.Namespace(settings=settings))
    try:
        assert store.item_labels.media_roots == (media,)
    finally:
        store.close()
